//! The one layer between a request and the services: who may touch which
//! record, and the audit entry of every touch.
//!
//! Handlers do not check entitlement or write audit entries themselves:
//! - the [`Call`](crate::extract::Call) extractor applies the route's row of
//!   `needs::TABLE` — the role's capability, then entitlement to the record
//!   its `{id}` names ([`entitle`]), refusals audited;
//! - a write route takes [`Act`](crate::extract::Act), which writes the
//!   route's audit entry *before* the handler changes anything ("no audit
//!   entry, no state change");
//! - a handler lists what its answer touched with [`reply`], and
//!   [`audit_layer`] writes those entries before the answer leaves ("no
//!   audit entry, no response"). A write route that answers 2xx without its
//!   entry first is turned into a 500, so a handler cannot skip it.

use crate::auth::Caller;
use crate::needs::{Audit, Record};
use crate::{ApiError, AppState};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::{Arc, Mutex};
use tracedesk_casework::PersonRef;
use tracedesk_casework::auditor::draft;
use tracedesk_identity::Role;
use tracedesk_identity::access::{Capability, Decision};
use tracedesk_store::audit::Action;
use uuid::Uuid;

/// One record an answer touched: (object kind, object id, whose data).
pub type Touch = (&'static str, Uuid, Option<Uuid>);

/// What a handler's answer touched, carried to [`audit_layer`] in the
/// response's extensions, with an optional note for the entry.
#[derive(Clone, Default)]
pub struct Touched {
    pub items: Vec<Touch>,
    pub note: Option<String>,
}

/// An answer and the records it touched.
pub fn reply(status: StatusCode, body: impl serde::Serialize, items: Vec<Touch>) -> Response {
    with_touched(
        (status, axum::Json(body)).into_response(),
        Touched { items, note: None },
    )
}

/// A page of a list, each item an entry in the caller's disclosure record.
pub fn reply_page<T: serde::Serialize>(
    page: tracedesk_casework::Page<T>,
    touch: impl Fn(&T) -> Touch,
) -> Response {
    let items = page.items.iter().map(touch).collect();
    reply(StatusCode::OK, page, items)
}

/// [`reply`] with a note the entry carries after the route's name (who a
/// task was assigned to).
pub fn reply_noted(
    status: StatusCode,
    body: impl serde::Serialize,
    items: Vec<Touch>,
    note: String,
) -> Response {
    with_touched(
        (status, axum::Json(body)).into_response(),
        Touched {
            items,
            note: Some(note),
        },
    )
}

/// Any answer (a page) and the records it shows.
pub fn with_touch(r: Response, items: Vec<Touch>) -> Response {
    with_touched(r, Touched { items, note: None })
}

fn with_touched(mut r: Response, t: Touched) -> Response {
    r.extensions_mut().insert(t);
    r
}

/// The record a route's `{id}` names, as the caller is entitled to it.
#[derive(Clone)]
pub struct Entitled {
    /// What the audit log calls it, and its id.
    pub object: &'static str,
    pub id: Uuid,
    /// Whose record it is.
    pub person: Option<Uuid>,
    /// Opened by break-glass rather than by entitlement.
    pub flagged: bool,
    pub found: Found,
}

/// The row the entitlement check read, so the handler need not read it again.
#[derive(Clone)]
pub enum Found {
    Case(tracedesk_store::CaseRow),
    /// A contact record (its row is not needed past the check).
    Exposure,
    /// A lab result.
    Lab(tracedesk_store::LabResultRow),
    /// A pair record linkage found.
    LinkReview(tracedesk_store::LinkReviewRow),
    /// A merge of two records of one person.
    Merge(tracedesk_store::PersonMergeRow),
    /// A person (or facet), with the jurisdictions whose results the caller
    /// may see (all, under break-glass: `None`).
    Person(PersonRef, Option<Vec<String>>),
    Task(tracedesk_store::TaskRow),
    Worker(tracedesk_store::UserRow),
    /// A live routing task, with its attributes.
    LiveTask(serde_json::Value),
    /// A reservation and its task.
    Offer(u64),
    /// The caller's own worker, task or the like: nothing read.
    Own,
    Cluster(tracedesk_store::ClusterRow),
}

/// The row the entitlement check read, as the variant the route's record
/// rule gives (else a 500: the table and the handler disagree).
macro_rules! found {
    ($record:expr, $variant:path) => {
        match &$record.found {
            $variant(row) => row,
            _ => {
                return Err(ApiError::internal(&concat!(
                    "the record is not a ",
                    stringify!($variant)
                )));
            }
        }
    };
}
pub(crate) use found;

/// What the call noted for [`audit_layer`]: the route, its audit rule, the
/// entry written before the handler ran, and whether by break-glass.
#[derive(Clone, Default)]
pub struct Noted {
    pub route: &'static str,
    pub audit: Option<Audit>,
    pub flagged: bool,
    pub before: Vec<Uuid>,
    pub wrote_before: bool,
}

/// Where the extractor leaves its note for the layer around the handler.
#[derive(Clone, Default)]
pub struct NoteSlot(pub Arc<Mutex<Noted>>);

impl NoteSlot {
    pub fn set(&self, f: impl FnOnce(&mut Noted)) {
        if let Ok(mut n) = self.0.lock() {
            f(&mut n);
        }
    }
}

/// Around every API handler: writes the entries of what its answer touched
/// (under the route's name, flagged when by break-glass) before the answer
/// leaves; an entry that cannot be written turns the answer into a 500.
pub async fn audit_layer(State(s): State<AppState>, mut req: Request, next: Next) -> Response {
    let slot = NoteSlot::default();
    req.extensions_mut().insert(slot.clone());
    let caller = req.extensions().get::<Caller>().cloned();
    let mut res = next.run(req).await;
    let touched = res.extensions_mut().remove::<Touched>();
    let noted = slot.0.lock().map(|n| n.clone()).unwrap_or_default();
    let ok = res.status().is_success();
    match noted.audit {
        Some(Audit::Write(..)) if ok && !noted.wrote_before => {
            // Fail closed: a write answered without its entry first.
            return ApiError::internal(&format!(
                "{} answered without its audit entry",
                noted.route
            ))
            .into_response();
        }
        _ => {}
    }
    let (Some(caller), Some(touched), Some(audit)) = (caller, touched, noted.audit) else {
        return res;
    };
    let action = match audit {
        Audit::Read(a) | Audit::Write(a, _) => a,
        Audit::Open => return res,
    };
    let mut items = touched.items;
    if matches!(audit, Audit::Write(..)) && touched.note.is_none() {
        // The entry before the change named these already.
        items.retain(|(_, id, _)| !noted.before.contains(id));
    }
    if items.is_empty() {
        return res;
    }
    let detail = label(noted.route, noted.flagged, touched.note.as_deref());
    match record(&s, &caller, action, items, &detail).await {
        Ok(()) => res,
        Err(e) => e.into_response(),
    }
}

/// The entry's detail: the route's name, then a note, then whether by
/// break-glass.
fn label(route: &str, flagged: bool, note: Option<&str>) -> String {
    let mut d = route.to_string();
    if let Some(n) = note {
        d.push_str(": ");
        d.push_str(n);
    }
    if flagged {
        d.push_str(" (break-glass)");
    }
    d
}

/// Writes one entry per touched record.
async fn record(
    s: &AppState,
    caller: &Caller,
    action: Action,
    items: Vec<Touch>,
    detail: &str,
) -> Result<(), ApiError> {
    let Some(auditor) = s.cw.auditor() else {
        return Ok(());
    };
    let actor = caller.actor();
    let drafts = items
        .into_iter()
        .map(|(object, id, person)| draft(&actor, action, object, Some(id), person, detail))
        .collect();
    auditor.record(drafts).await.map_err(ApiError::internal_of)
}

/// The entry a write route makes before its handler runs: the record its
/// `{id}` names, or the kind of record it makes.
pub async fn before_write(
    s: &AppState,
    caller: &Caller,
    slot: Option<&NoteSlot>,
    route: &'static str,
    audit: Audit,
    record: Option<&Entitled>,
) -> Result<(), ApiError> {
    let Audit::Write(action, object) = audit else {
        return Ok(());
    };
    let (object, id, person) = match record {
        Some(r) => (r.object, Some(r.id), r.person),
        None => (object, None, None),
    };
    let flagged = record.is_some_and(|r| r.flagged);
    if let Some(a) = s.cw.auditor() {
        a.record(vec![draft(
            &caller.actor(),
            action,
            object,
            id,
            person,
            &label(route, flagged, None),
        )])
        .await
        .map_err(ApiError::internal_of)?;
    }
    if let Some(slot) = slot {
        slot.set(|n| {
            n.wrote_before = true;
            n.before.extend(id);
        });
    }
    Ok(())
}

/// Entries for `items`, written before a write acts on them, and noted so
/// the layer does not write them again.
pub async fn record_before(
    s: &AppState,
    caller: &Caller,
    slot: Option<&NoteSlot>,
    route: &'static str,
    action: Action,
    items: Vec<Touch>,
) -> Result<(), ApiError> {
    let ids: Vec<Uuid> = items.iter().map(|(_, id, _)| *id).collect();
    record(s, caller, action, items, &label(route, false, None)).await?;
    if let Some(slot) = slot {
        slot.set(|n| n.before.extend(ids));
    }
    Ok(())
}

/// Audits a denial and returns the 403 to send. The entry names what was
/// asked for (the id from the URL or body), never what it holds, and whose
/// record it is when known, so the refusal is part of that person's
/// disclosure record (`tracedesk audit disclosures --person`).
pub async fn deny(
    s: &AppState,
    caller: &Caller,
    object: &'static str,
    id: Option<Uuid>,
    person: Option<Uuid>,
    route: &str,
) -> ApiError {
    if let Some(a) = s.cw.auditor()
        && let Err(e) = a
            .record(vec![draft(
                &caller.actor(),
                Action::Denied,
                object,
                id,
                person,
                route,
            )])
            .await
    {
        return ApiError::internal(&e);
    }
    ApiError::forbidden()
}

/// Audits a refusal and answers it as "not found", like an unknown id (an
/// audit failure is still a 500: nothing goes unrecorded).
async fn hidden(
    s: &AppState,
    caller: &Caller,
    object: &'static str,
    id: Uuid,
    route: &str,
) -> ApiError {
    let e = deny(s, caller, object, Some(id), None, route).await;
    if e.status == StatusCode::INTERNAL_SERVER_ERROR {
        return e;
    }
    ApiError::not_found(object).with_field(object)
}

/// Refuses (audited) a caller writing into a jurisdiction not theirs.
pub async fn within(
    s: &AppState,
    caller: &Caller,
    jurisdiction: &str,
    route: &str,
) -> Result<(), ApiError> {
    if caller.principal.scope.iter().any(|c| c == jurisdiction) {
        Ok(())
    } else {
        Err(deny(s, caller, "jurisdiction", None, None, route).await)
    }
}

/// Refuses (audited, like any refusal) a caller not entitled to a record
/// a route names in its body rather than its path (a cluster's member):
/// the same rule as for `{id}`, by its person in its jurisdiction.
pub async fn entitled_to(
    s: &AppState,
    caller: &Caller,
    object: &'static str,
    id: Uuid,
    held: Option<(Uuid, String)>,
    route: &str,
) -> Result<(), ApiError> {
    let held = held.map(|(p, j)| (p, j, Found::Own));
    in_jurisdiction(s, caller, object, id, held, route)
        .await
        .map(|_| ())
}

/// Whether a routing task of jurisdiction `j` (none: the root's) is the
/// caller's. Every task made through the API or by case work carries one;
/// a task without one is refused to all but a caller over the whole tree.
pub fn in_jurisdictions(caller: &Caller, j: Option<&str>) -> bool {
    let j = j.unwrap_or("root");
    caller.principal.scope.iter().any(|c| c == j)
}

fn bad_id(what: &str, kind: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_id",
        format!("the {what} id is not a {kind}"),
    )
}

fn uuid(raw: &str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::try_parse(raw).map_err(|_| bad_id(what, "UUID"))
}

/// Entitlement to the record `raw` names, by the rule of its kind. Unknown
/// ids are refused the way forbidden ones are, so ids cannot be probed.
pub async fn entitle(
    s: &AppState,
    c: &Caller,
    kind: Record,
    raw: &str,
    route: &'static str,
) -> Result<Entitled, ApiError> {
    let cases = s.cw.cases();
    match kind {
        Record::Case => {
            let id = uuid(raw, "case")?;
            let row = cases.case_row(id).await.map_err(ApiError::internal_of)?;
            let held = row.map(|r| (r.person_id, r.jurisdiction.clone(), Found::Case(r)));
            in_jurisdiction(s, c, "case", id, held, route).await
        }
        Record::Contact => {
            let id = uuid(raw, "contact")?;
            let row = cases
                .exposure_row(id)
                .await
                .map_err(ApiError::internal_of)?;
            let held = row.map(|r| (r.contact_person_id, r.jurisdiction, Found::Exposure));
            in_jurisdiction(s, c, "exposure", id, held, route).await
        }
        Record::LinkReview => {
            // Both persons' jurisdictions must be the caller's: a pair
            // across jurisdictions shows only to a caller over both.
            let id = uuid(raw, "link review")?;
            let row = cases.link_review(id).await.map_err(ApiError::internal_of)?;
            let Some(row) = row else {
                return Err(deny(s, c, "link_review", Some(id), None, route).await);
            };
            let scope = &c.principal.scope;
            if !scope.contains(&row.jurisdiction_a) || !scope.contains(&row.jurisdiction_b) {
                return Err(deny(s, c, "link_review", Some(id), Some(row.person_a), route).await);
            }
            Ok(Entitled {
                object: "link_review",
                id,
                person: Some(row.person_a),
                flagged: false,
                found: Found::LinkReview(row),
            })
        }
        Record::Merge => {
            // Both records are the merge's jurisdiction's: a supervisor
            // over it.
            let id = uuid(raw, "merge")?;
            let row = cases
                .person_merge(id)
                .await
                .map_err(ApiError::internal_of)?;
            let Some(row) = row else {
                return Err(deny(s, c, "person_merge", Some(id), None, route).await);
            };
            if !c.principal.scope.contains(&row.jurisdiction) {
                return Err(
                    deny(s, c, "person_merge", Some(id), Some(row.survivor_id), route).await,
                );
            }
            Ok(Entitled {
                object: "person_merge",
                id,
                person: Some(row.survivor_id),
                flagged: false,
                found: Found::Merge(row),
            })
        }
        Record::Observation => {
            // A contact record by the contact's rule; else a lab result by
            // its person in the jurisdiction that submitted it.
            let id = uuid(raw, "observation")?;
            if let Some(r) = cases
                .exposure_row(id)
                .await
                .map_err(ApiError::internal_of)?
            {
                let held = Some((r.contact_person_id, r.jurisdiction, Found::Exposure));
                return in_jurisdiction(s, c, "exposure", id, held, route).await;
            }
            let row = cases.lab_row(id).await.map_err(ApiError::internal_of)?;
            let held = row.map(|r| (r.person_id, r.jurisdiction.clone(), Found::Lab(r)));
            in_jurisdiction(s, c, "lab_result", id, held, route).await
        }
        Record::Person => {
            // By the person's own id: their identity as first recorded
            // (entitlement in their home jurisdiction) and the results of
            // the jurisdictions the caller is entitled in; by a facet's id,
            // what that jurisdiction recorded (entitlement there).
            let id = uuid(raw, "person")?;
            let Some(found) = s.cw.cases().person_ref(id).await? else {
                return Err(deny(s, c, "person", Some(id), None, route).await);
            };
            let (person, d, js) = match &found {
                PersonRef::Person(row) => {
                    let (d, js) =
                        s.cw.staff()
                            .decide_with_entitlement(&c.principal, row.id)
                            .await?;
                    (row.id, d, js)
                }
                PersonRef::Facet(f) => {
                    let d =
                        s.cw.staff()
                            .decide_in(&c.principal, f.person_id, &f.jurisdiction)
                            .await?;
                    (f.person_id, d, vec![f.jurisdiction.clone()])
                }
            };
            let mut e = entitled(
                s,
                c,
                d,
                "person",
                id,
                person,
                Found::Person(found, None),
                route,
            )
            .await?;
            if let Found::Person(_, shown) = &mut e.found {
                *shown = (!e.flagged).then_some(js);
            }
            Ok(e)
        }
        Record::Task => {
            // A case-work task, for a supervisor over its jurisdiction.
            let id = uuid(raw, "task")?;
            let Some(task) = cases.task_row(id).await.map_err(ApiError::internal_of)? else {
                return Err(deny(s, c, "task", Some(id), None, route).await);
            };
            if !c.principal.scope.contains(&task.jurisdiction) {
                return Err(deny(s, c, "task", Some(id), Some(task.person_id), route).await);
            }
            Ok(Entitled {
                object: "task",
                id,
                person: Some(task.person_id),
                flagged: false,
                found: Found::Task(task),
            })
        }
        Record::Work => {
            let id = uuid(raw, "task")?;
            let row = cases.task_row(id).await.map_err(ApiError::internal_of)?;
            let held = row.map(|t| (t.person_id, t.jurisdiction.clone(), Found::Task(t)));
            in_jurisdiction(s, c, "task", id, held, route).await
        }
        Record::Cluster => {
            // A cluster is its jurisdiction's: its members are checked one
            // by one where they are shown.
            let id = uuid(raw, "cluster")?;
            let Some(row) = cases.cluster_row(id).await.map_err(ApiError::internal_of)? else {
                return Err(deny(s, c, "cluster", Some(id), None, route).await);
            };
            if !c.principal.scope.contains(&row.jurisdiction) {
                return Err(deny(s, c, "cluster", Some(id), None, route).await);
            }
            Ok(Entitled {
                object: "cluster",
                id,
                person: None,
                flagged: false,
                found: Found::Cluster(row),
            })
        }
        Record::Referral => {
            let id = uuid(raw, "referral")?;
            let row = cases
                .referral_row(id)
                .await
                .map_err(ApiError::internal_of)?;
            let held = row.map(|e| (e.person_id, e.jurisdiction, Found::Own));
            in_jurisdiction(s, c, "referral", id, held, route).await
        }
        Record::Worker => {
            let id = uuid(raw, "worker")?;
            let u = scoped_worker(s, c, id, route).await?;
            Ok(routing("worker", id, None, Found::Worker(u)))
        }
        Record::OwnWorker => {
            // A worker directs their own activity; a supervisor, the
            // workers of their jurisdictions.
            let id = uuid(raw, "worker")?;
            if c.principal.user_id == id {
                return Ok(routing("worker", id, None, Found::Own));
            }
            supervises(s, c, route).await?;
            let u = scoped_worker(s, c, id, route).await?;
            Ok(routing("worker", id, None, Found::Worker(u)))
        }
        Record::LiveTask => {
            let id = uuid(raw, "task")?;
            let attrs = scoped_task(s, c, id, route).await?;
            Ok(routing(
                "task",
                id,
                task_person(s, id).await?,
                Found::LiveTask(attrs),
            ))
        }
        Record::OwnTask => {
            // The assigned worker, or a supervisor of its jurisdiction,
            // moves a task on.
            let id = uuid(raw, "task")?;
            let d = crate::routing::dispatch(s)?;
            let worker = d
                .read(|e| e.tasks().find(|t| t.id == id).map(|t| t.worker))
                .await;
            let found = match worker {
                None => return Err(ApiError::not_found("task").with_field("task")),
                Some(w) if w == Some(c.principal.user_id) => Found::Own,
                Some(_) => {
                    supervises(s, c, route).await?;
                    Found::LiveTask(scoped_task(s, c, id, route).await?)
                }
            };
            Ok(routing("task", id, task_person(s, id).await?, found))
        }
        Record::Unmatched => {
            // A text awaiting triage. On its sender's triage task: by the
            // rule for that task's person (its holder, a supervisor over
            // the root), never under break-glass. Matched to no one at all:
            // it belongs to no jurisdiction, so a supervisor over the root.
            use tracedesk_casework::messaging::Triage;
            let id = uuid(raw, "message")?;
            let root = tracedesk_identity::jurisdiction::ROOT;
            let over_root = c.principal.scope.iter().any(|j| j == root)
                && c.principal.can(Capability::Supervise);
            match s.cw.messages().triage_of(id).await? {
                Some(Triage::Unmatched) if over_root => {
                    Ok(routing("message", id, None, Found::Own))
                }
                Some(Triage::Task(task)) => {
                    let d =
                        s.cw.staff()
                            .decide_in(&c.principal, task.person_id, &task.jurisdiction)
                            .await?;
                    if d == Decision::Allow {
                        Ok(routing("message", id, Some(task.person_id), Found::Own))
                    } else {
                        Err(deny(s, c, "message", Some(id), Some(task.person_id), route).await)
                    }
                }
                _ => Err(deny(s, c, "message", Some(id), None, route).await),
            }
        }
        Record::Offer => {
            // Only the worker a reservation was offered to answers it.
            let r: u64 = raw.parse().map_err(|_| bad_id("reservation", "number"))?;
            let d = crate::routing::dispatch(s)?;
            match d.read(|e| e.reservation(r)).await {
                None => Err(ApiError::not_found("reservation").with_field("reservation")),
                Some((task, worker, _)) if worker == c.principal.user_id => Ok(routing(
                    "task",
                    task,
                    task_person(s, task).await?,
                    Found::Offer(r),
                )),
                Some((task, _, _)) => Err(deny(s, c, "task", Some(task), None, route).await),
            }
        }
    }
}

/// Entitlement to what one jurisdiction holds about a person (a case, a
/// contact record): `held` is (person, jurisdiction, row), `None` for an
/// unknown id, which is refused like a forbidden one.
async fn in_jurisdiction(
    s: &AppState,
    c: &Caller,
    object: &'static str,
    id: Uuid,
    held: Option<(Uuid, String, Found)>,
    route: &str,
) -> Result<Entitled, ApiError> {
    let Some((person, jurisdiction, found)) = held else {
        return Err(deny(s, c, object, Some(id), None, route).await);
    };
    let d =
        s.cw.staff()
            .decide_in(&c.principal, person, &jurisdiction)
            .await?;
    entitled(s, c, d, object, id, person, found, route).await
}

#[allow(clippy::too_many_arguments)]
async fn entitled(
    s: &AppState,
    c: &Caller,
    d: Decision,
    object: &'static str,
    id: Uuid,
    person: Uuid,
    found: Found,
    route: &str,
) -> Result<Entitled, ApiError> {
    let flagged = match d {
        Decision::Allow => false,
        Decision::BreakGlass => true,
        Decision::Deny => return Err(deny(s, c, object, Some(id), Some(person), route).await),
    };
    Ok(Entitled {
        object,
        id,
        person: Some(person),
        flagged,
        found,
    })
}

fn routing(object: &'static str, id: Uuid, person: Option<Uuid>, found: Found) -> Entitled {
    Entitled {
        object,
        id,
        person,
        flagged: false,
        found,
    }
}

/// The case-work person a routing task names, so an accepted interview
/// shows in that person's access history.
async fn task_person(s: &AppState, id: Uuid) -> Result<Option<Uuid>, ApiError> {
    Ok(s.cw
        .cases()
        .task_row(id)
        .await
        .map_err(ApiError::internal_of)?
        .map(|t| t.person_id))
}

/// Lets a supervisor through; otherwise audits the denial.
async fn supervises(s: &AppState, c: &Caller, route: &str) -> Result<(), ApiError> {
    if c.principal.can(Capability::Supervise) {
        Ok(())
    } else {
        Err(deny(s, c, "routing", None, None, route).await)
    }
}

/// A live task the caller may direct: a supervisor (or integration) only
/// within their jurisdictions. A task outside them is answered exactly
/// like an unknown one (and the refusal is audited), so ids cannot be
/// probed. Returns the task's attributes.
async fn scoped_task(
    s: &AppState,
    c: &Caller,
    id: Uuid,
    route: &str,
) -> Result<serde_json::Value, ApiError> {
    let d = crate::routing::dispatch(s)?;
    let Some(attrs) = d.read(|e| e.task_attributes(id)).await else {
        return Err(ApiError::not_found("task").with_field("task"));
    };
    if in_jurisdictions(c, attrs.get("jurisdiction").and_then(|v| v.as_str())) {
        Ok(attrs)
    } else {
        Err(hidden(s, c, "task", id, route).await)
    }
}

/// A staff user the caller may make or direct as a worker: a tracer or
/// supervisor, active, in the caller's jurisdictions. Anyone else is
/// answered like an unknown user (the refusal audited).
pub async fn scoped_worker(
    s: &AppState,
    c: &Caller,
    id: Uuid,
    route: &str,
) -> Result<tracedesk_store::UserRow, ApiError> {
    let user = s.cw.staff().user(id).await.map_err(ApiError::internal_of)?;
    let works = |u: &tracedesk_store::UserRow| {
        u.disabled_at.is_none()
            && matches!(Role::parse(&u.role), Some(Role::Tracer | Role::Supervisor))
            && c.principal.scope.contains(&u.jurisdiction)
    };
    match user {
        Some(u) if works(&u) => Ok(u),
        Some(_) => Err(hidden(s, c, "worker", id, route).await),
        None => Err(ApiError::not_found("worker").with_field("worker")),
    }
}
