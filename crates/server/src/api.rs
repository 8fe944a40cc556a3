//! Routes of `/api/v1` and the unauthenticated health endpoints.

use crate::auth::{self, Caller};
use crate::extract::{ApiJson, ApiQuery, Call, JsonValue, from_value, parse_id};
use crate::{ApiError, AppState, login};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;
use std::sync::atomic::Ordering;
use tracedesk_casework::auditor::draft;
use tracedesk_casework::{
    CasePatch, ContactInput, ItemError, LabOutcomeView, LabResultInput, PersonRef, PersonSearch,
};
use tracedesk_identity::Role;
use tracedesk_identity::access::{Capability, Decision};
use tracedesk_store::ListScope;
use tracedesk_store::audit::Action;
use uuid::Uuid;

pub fn routes(state: AppState, max_batch: usize) -> Router {
    let api = Router::new()
        .route("/lab-results", post(post_lab_results))
        .route("/cases", get(list_cases))
        .route("/cases/{id}", get(get_case).patch(patch_case))
        .route("/cases/{id}/contacts", post(post_contact))
        .route("/contacts", get(list_contacts))
        .route("/contacts/{id}", axum::routing::patch(patch_contact))
        .route("/persons/search", post(search_persons))
        .route("/persons/{id}", get(get_person))
        .route("/line-list", get(line_list))
        .route("/tasks", get(my_tasks))
        .route("/tasks/{id}/assign", post(assign_task))
        .route(
            "/break-glass",
            post(open_break_glass).get(review_break_glass),
        )
        .route("/auth/me", get(login::me))
        .merge(crate::routing::routes(state.clone()))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_caller,
        ))
        .layer(axum::Extension(MaxBatch(max_batch)));
    let steps = Router::new()
        .route("/totp", post(login::totp))
        .route("/enrol", post(login::enrol_start))
        .route("/enrol/confirm", post(login::enrol_confirm))
        .route("/password", post(login::change_password))
        .route("/logout", post(login::logout))
        .route("/logout-everywhere", post(login::logout_everywhere))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            login::require_partial,
        ))
        .route("/login", post(login::login));
    Router::new()
        .merge(crate::pages::routes())
        .nest("/api/v1", api)
        .nest("/api/v1/auth", steps)
        .route("/api/v1/openapi.json", get(openapi))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(|| async { ApiError::not_found("route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method",
            )
        })
        .with_state(state)
}

#[derive(Clone, Copy)]
struct MaxBatch(usize);

/// What one response touched: (object kind, object id, whose data).
type Touched = Vec<(&'static str, Uuid, Option<Uuid>)>;

/// Records that the caller read or wrote the records in `touched` through
/// `route` (flagged when by break-glass). Fails the request when the entry
/// cannot be written: PHI is never shown or changed without its audit record.
async fn audit(
    s: &AppState,
    caller: &Caller,
    action: Action,
    route: &str,
    touched: Touched,
    break_glass: bool,
) -> Result<(), ApiError> {
    let Some(auditor) = s.cw.auditor() else {
        return Ok(());
    };
    let detail = if break_glass {
        format!("{route} (break-glass)")
    } else {
        route.to_string()
    };
    let actor = caller.actor();
    let drafts: Vec<_> = touched
        .into_iter()
        .map(|(object, id, person)| draft(&actor, action, object, Some(id), person, &detail))
        .collect();
    auditor
        .record(drafts)
        .await
        .map_err(|e| ApiError::internal(&e))
}

/// Audits a denial and returns the 403 to send. The entry names what was
/// asked for (the id from the URL or body), never what it holds.
pub(crate) async fn deny(
    s: &AppState,
    caller: &Caller,
    object: &'static str,
    id: Option<Uuid>,
    route: &str,
) -> ApiError {
    deny_person(s, caller, object, id, None, route).await
}

/// [`deny`] naming whose record was refused, so the refusal is part of that
/// person's disclosure record (`tracedesk audit disclosures --person`).
pub(crate) async fn deny_person(
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

/// The check for what one jurisdiction holds about a person (its case, its
/// contact record, its facet): entitlement in that jurisdiction.
async fn guard_in(
    s: &AppState,
    c: &Caller,
    person: Uuid,
    jurisdiction: &str,
    object: &'static str,
    id: Uuid,
    route: &str,
) -> Result<bool, ApiError> {
    let d = s.cw.decide_in(&c.principal, person, jurisdiction).await?;
    allow(s, c, d, person, object, id, route).await
}

async fn allow(
    s: &AppState,
    c: &Caller,
    d: Decision,
    person: Uuid,
    object: &'static str,
    id: Uuid,
    route: &str,
) -> Result<bool, ApiError> {
    match d {
        Decision::Allow => Ok(false),
        Decision::BreakGlass => Ok(true),
        Decision::Deny => Err(deny_person(s, c, object, Some(id), Some(person), route).await),
    }
}

/// Which rows of a list the caller may see.
fn list_scope(c: &Caller) -> ListScope {
    match c.role() {
        Role::Tracer => ListScope::Assignee(c.user.id),
        _ => ListScope::Within {
            jurisdictions: c.principal.scope.clone(),
            team_members: c.principal.team_members.clone(),
        },
    }
}

/// Loads a case's row (no PHI opened) and checks access to its person;
/// returns the row and whether access is by break-glass.
async fn guard_case(
    s: &AppState,
    c: &Caller,
    id: Uuid,
    route: &str,
) -> Result<(tracedesk_store::CaseRow, bool), ApiError> {
    let Some(row) =
        s.cw.case_row(id)
            .await
            .map_err(|e| ApiError::internal(&e))?
    else {
        // Answered like a case the caller may not open: a 404 here and a
        // 403 there would tell anyone which ids exist.
        return Err(deny(s, c, "case", Some(id), route).await);
    };
    let flagged = guard_in(s, c, row.person_id, &row.jurisdiction, "case", id, route).await?;
    Ok((row, flagged))
}

async fn openapi() -> impl IntoResponse {
    Json(crate::openapi::document())
}

async fn readyz(State(s): State<AppState>) -> Response {
    match s.cw.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

/// Request figures for anyone (a scraper without credentials); with the
/// bearer token of a supervisor or administrator, the case-work counters
/// and record counts too.
async fn metrics(State(s): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    let entitled = headers.contains_key(header::AUTHORIZATION)
        && auth::caller(&s, &headers, &axum::http::Method::GET)
            .await
            .is_ok_and(|c| {
                c.principal.can(Capability::Supervise) || c.principal.can(Capability::Administer)
            });
    let counts = if entitled {
        s.cw.counts().await.ok()
    } else {
        None
    };
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(counts.as_ref()),
    )
        .into_response()
}

/// One result (an object) or a batch (an array). Each item of a batch is
/// checked on its own: a bad item is reported at its index and the others
/// are recorded.
async fn post_lab_results(
    Call { s, caller, route }: Call,
    axum::Extension(MaxBatch(max)): axum::Extension<MaxBatch>,
    JsonValue(body): JsonValue,
) -> Result<Response, ApiError> {
    let (items, single) = match body {
        serde_json::Value::Array(items) => (items, false),
        obj @ serde_json::Value::Object(_) => (vec![obj], true),
        _ => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_json_field",
                "the body must be a lab result object or an array of them",
            ));
        }
    };
    if items.is_empty() || items.len() > max {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "batch_size",
            format!("a batch holds 1 to {max} lab results"),
        ));
    }
    let mut parsed: Vec<Option<LabResultInput>> = Vec::with_capacity(items.len());
    let mut early: Vec<Option<LabOutcomeView>> = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        match from_value::<LabResultInput>(item) {
            Ok(v) => {
                parsed.push(Some(v));
                early.push(None);
            }
            Err(e) => {
                if single {
                    return Err(e);
                }
                parsed.push(None);
                early.push(Some(LabOutcomeView::rejected(
                    i,
                    ItemError {
                        code: e.code,
                        message: e.message,
                        field: e.field,
                    },
                )));
            }
        }
    }
    let valid: Vec<LabResultInput> = parsed.iter().flatten().cloned().collect();
    // A submitter writes only into its own jurisdictions.
    let default = &s.cw.settings().default_jurisdiction;
    if valid.iter().any(|v| {
        let j = v.jurisdiction.as_deref().map(str::trim).unwrap_or(default);
        !caller.principal.scope.iter().any(|c| c == j)
    }) {
        return Err(deny(&s, &caller, "jurisdiction", None, route).await);
    }
    let mut done = s.cw.ingest_lab_results(&valid).await.into_iter();
    let results: Vec<LabOutcomeView> = early
        .into_iter()
        .enumerate()
        .map(|(i, e)| match e {
            Some(e) => e,
            None => {
                let mut o = done.next().unwrap_or_else(|| {
                    LabOutcomeView::rejected(
                        i,
                        ItemError {
                            code: "internal",
                            message: "not processed".into(),
                            field: None,
                        },
                    )
                });
                o.index = i;
                o
            }
        })
        .collect();
    let rejected = results.iter().filter(|r| r.is_rejected()).count();
    let recorded = results.iter().filter(|r| r.status == "recorded").count();
    let duplicates = results.iter().filter(|r| r.status == "duplicate").count();
    let cases = results.iter().filter(|r| r.case_created).count();
    let m = &s.metrics;
    m.lab_results_recorded
        .fetch_add(recorded as u64, Ordering::Relaxed);
    m.lab_results_rejected
        .fetch_add(rejected as u64, Ordering::Relaxed);
    m.cases_created.fetch_add(cases as u64, Ordering::Relaxed);
    let touched = results
        .iter()
        .filter_map(|r| r.person.map(|p| ("person", p, Some(p))))
        .collect();
    audit(&s, &caller, Action::PhiWrite, route, touched, false).await?;
    if single {
        let r = &results[0];
        if let Some(e) = &r.error {
            let mut err =
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.code, e.message.clone());
            err.field = e.field.clone();
            if e.code == "internal" {
                err.status = StatusCode::INTERNAL_SERVER_ERROR;
            }
            return Err(err);
        }
        let status = if r.status == "duplicate" {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        };
        return Ok((status, Json(r)).into_response());
    }
    Ok(Json(json!({
        "recorded": recorded,
        "duplicates": duplicates,
        "rejected": rejected,
        "results": results,
    }))
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseQuery {
    status: Option<String>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    cursor: Option<String>,
    limit: Option<u32>,
}

async fn list_cases(
    Call { s, caller, route }: Call,
    ApiQuery(q): ApiQuery<CaseQuery>,
) -> Result<Response, ApiError> {
    let scope = list_scope(&caller);
    let page =
        s.cw.list_cases(
            q.status.as_deref(),
            q.from,
            q.to,
            q.cursor.as_deref(),
            q.limit,
            Some(&scope),
        )
        .await?;
    let touched = page
        .items
        .iter()
        .map(|c| ("case", c.id, Some(c.person)))
        .collect();
    audit(&s, &caller, Action::PhiRead, route, touched, false).await?;
    Ok(Json(page).into_response())
}

async fn get_case(
    Call { s, caller, route }: Call,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "case")?;
    let (row, flagged) = guard_case(&s, &caller, id, route).await?;
    let case = s.cw.case_view(&row)?;
    let contacts =
        s.cw.list_contacts(Some(id), None, None, Some(500), None)
            .await?;
    let mut touched: Touched = vec![("case", case.id, Some(row.person_id))];
    touched.extend(
        contacts
            .items
            .iter()
            .map(|c| ("exposure", c.exposure_id, Some(c.person))),
    );
    audit(&s, &caller, Action::PhiRead, route, touched, flagged).await?;
    Ok(Json(json!({ "case": case, "contacts": contacts.items })).into_response())
}

async fn patch_case(
    Call { s, caller, route }: Call,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<CasePatch>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "case")?;
    let (_, flagged) = guard_case(&s, &caller, id, route).await?;
    let case = s.cw.patch_case(id, &patch).await?;
    let touched = vec![("case", case.id, Some(case.person))];
    audit(&s, &caller, Action::PhiWrite, route, touched, flagged).await?;
    Ok(Json(case).into_response())
}

async fn post_contact(
    Call { s, caller, route }: Call,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ContactInput>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "case")?;
    let (_, flagged) = guard_case(&s, &caller, id, route).await?;
    let out = s.cw.add_contact(id, &input).await?;
    let touched = vec![("exposure", out.exposure_id, Some(out.person))];
    audit(&s, &caller, Action::PhiWrite, route, touched, flagged).await?;
    s.metrics.contacts_named.fetch_add(1, Ordering::Relaxed);
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactQuery {
    case_id: Option<String>,
    status: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
}

async fn list_contacts(
    Call { s, caller, route }: Call,
    ApiQuery(q): ApiQuery<ContactQuery>,
) -> Result<Response, ApiError> {
    let case_id = q
        .case_id
        .as_deref()
        .map(|c| parse_id(c, "case"))
        .transpose()?;
    let scope = list_scope(&caller);
    let page =
        s.cw.list_contacts(
            case_id,
            q.status.as_deref(),
            q.cursor.as_deref(),
            q.limit,
            Some(&scope),
        )
        .await?;
    let touched = page
        .items
        .iter()
        .map(|c| ("exposure", c.exposure_id, Some(c.person)))
        .collect();
    audit(&s, &caller, Action::PhiRead, route, touched, false).await?;
    Ok(Json(page).into_response())
}

/// One person, as the caller may see them: by the person's own id, their
/// identity as first recorded (entitlement in their home jurisdiction);
/// by a facet's id, what that jurisdiction recorded (entitlement there).
/// Lab results only of the jurisdictions the caller is entitled in (all
/// under break-glass). Unknown ids are refused like forbidden ones.
/// A contact record's follow-up: its status, the date of a negative test
/// (entitlement in its jurisdiction; unknown ids are refused like
/// forbidden ones).
async fn patch_contact(
    Call { s, caller, route }: Call,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<tracedesk_casework::ContactPatch>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "contact")?;
    let Some(e) =
        s.cw.exposure_row(id)
            .await
            .map_err(|e| ApiError::internal(&e))?
    else {
        return Err(deny(&s, &caller, "exposure", Some(id), route).await);
    };
    let flagged = guard_in(
        &s,
        &caller,
        e.contact_person_id,
        &e.jurisdiction,
        "exposure",
        id,
        route,
    )
    .await?;
    let view = s.cw.patch_contact(id, &patch).await?;
    let touched = vec![("exposure", id, Some(e.contact_person_id))];
    audit(&s, &caller, Action::PhiWrite, route, touched, flagged).await?;
    Ok(Json(view).into_response())
}

async fn get_person(
    Call { s, caller, route }: Call,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "person")?;
    let Some(found) = s.cw.person_ref(id).await? else {
        return Err(deny(&s, &caller, "person", Some(id), route).await);
    };
    // Results shown: of the jurisdictions the caller is entitled in (all
    // under break-glass).
    let (person_id, flagged, view, entitled) = match &found {
        PersonRef::Person(row) => {
            let (d, js) =
                s.cw.decide_with_entitlement(&caller.principal, row.id)
                    .await?;
            let flagged = allow(&s, &caller, d, row.id, "person", id, route).await?;
            (row.id, flagged, s.cw.person_view(row)?, js)
        }
        PersonRef::Facet(f) => {
            let flagged = guard_in(
                &s,
                &caller,
                f.person_id,
                &f.jurisdiction,
                "person",
                id,
                route,
            )
            .await?;
            let js = vec![f.jurisdiction.clone()];
            (f.person_id, flagged, s.cw.facet_view(f)?, js)
        }
    };
    let jurisdictions = (!flagged).then_some(entitled);
    let labs =
        s.cw.person_lab_results(person_id, jurisdictions.as_deref())
            .await?;
    let touched = vec![("person", person_id, Some(person_id))];
    audit(&s, &caller, Action::PhiRead, route, touched, flagged).await?;
    Ok(Json(json!({ "person": view, "lab_results": labs })).into_response())
}

async fn search_persons(
    Call { s, caller, route }: Call,
    ApiJson(q): ApiJson<PersonSearch>,
) -> Result<Response, ApiError> {
    // Only the matches the caller is entitled to are shown (break-glass
    // access is for opening one record, not for searching).
    let mut shown = Vec::new();
    for p in s.cw.find_persons(&q).await? {
        if s.cw.decide(&caller.principal, p.id).await? == Decision::Allow {
            shown.push(p);
        }
    }
    let touched = shown.iter().map(|p| ("person", p.id, Some(p.id))).collect();
    audit(&s, &caller, Action::PhiRead, route, touched, false).await?;
    Ok(Json(json!({ "items": shown })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    cursor: Option<String>,
    limit: Option<u32>,
}

/// The de-identified line list (analysts and supervisors), within the
/// caller's jurisdictions.
async fn line_list(
    Call { s, caller, route }: Call,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Response, ApiError> {
    let page =
        s.cw.line_list(caller.principal.scope.clone(), q.cursor.as_deref(), q.limit)
            .await?;
    let touched = page
        .items
        .iter()
        .map(|r| ("case", r.case_id, None))
        .collect();
    audit(&s, &caller, Action::Export, route, touched, false).await?;
    Ok(Json(page).into_response())
}

/// The caller's own tasks (ids and scheduling only; no PHI).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskQuery {
    status: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
}

/// The caller's own tasks, newest first, in keyset pages.
async fn my_tasks(
    Call { s, caller, .. }: Call,
    ApiQuery(q): ApiQuery<TaskQuery>,
) -> Result<Response, ApiError> {
    let page =
        s.cw.tasks_of(
            caller.user.id,
            q.status.as_deref(),
            q.cursor.as_deref(),
            q.limit,
        )
        .await?;
    Ok(Json(page).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignInput {
    /// The user to assign to; `null` returns the task to the queue.
    user_id: Option<Uuid>,
}

/// A supervisor assigns a task in their jurisdiction to a tracer (the
/// routing engine will do this automatically; this is the manual override).
async fn assign_task(
    Call { s, caller, route }: Call,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<AssignInput>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "task")?;
    let Some(task) =
        s.cw.task_row(id)
            .await
            .map_err(|e| ApiError::internal(&e))?
    else {
        return Err(deny(&s, &caller, "task", Some(id), route).await);
    };
    if !caller.principal.scope.contains(&task.jurisdiction) {
        return Err(deny_person(&s, &caller, "task", Some(id), Some(task.person_id), route).await);
    }
    if matches!(task.status.as_str(), "completed" | "canceled") {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "illegal_transition",
            format!("the task is {}", task.status),
        )
        .with_field("status"));
    }
    if let Some(u) = input.user_id {
        let assignee =
            s.cw.user(u)
                .await
                .map_err(|e| ApiError::internal(&e))?
                .filter(|a| a.disabled_at.is_none() && a.locked_at.is_none())
                .filter(|a| matches!(Role::parse(&a.role), Some(Role::Tracer | Role::Supervisor)));
        let Some(assignee) = assignee else {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                "user_id: is not an active tracer or supervisor",
            )
            .with_field("user_id"));
        };
        // The rule routing keeps: staff take work of their own jurisdiction
        // or one inside it, never a sibling's (assigning opens the person).
        if !s
            .cw
            .jurisdictions()
            .ancestry(&task.jurisdiction)
            .contains(&assignee.jurisdiction)
        {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                "user_id: works in a jurisdiction that does not include the task's",
            )
            .with_field("user_id"));
        }
    }
    let status =
        s.cw.assign_task(id, input.user_id)
            .await
            .map_err(|e| ApiError::internal(&e))?;
    if let Some(a) = s.cw.auditor() {
        let detail = match input.user_id {
            Some(u) => format!("{route}: assigned to user:{u}"),
            None => format!("{route}: unassigned"),
        };
        a.record(vec![draft(
            &caller.actor(),
            Action::PermissionChange,
            "task",
            Some(id),
            Some(task.person_id),
            &detail,
        )])
        .await
        .map_err(|e| ApiError::internal(&e))?;
    }
    Ok(Json(json!({ "id": id, "status": status, "assignee_id": input.user_id })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BreakGlassInput {
    person_id: Uuid,
    reason: String,
}

/// Opens one hour of access to a record the caller is not entitled to.
async fn open_break_glass(
    Call { s, caller, route }: Call,
    ApiJson(input): ApiJson<BreakGlassInput>,
) -> Result<Response, ApiError> {
    // A facet's id opens its person.
    let person = match s.cw.person_ref(input.person_id).await? {
        Some(PersonRef::Facet(f)) => f.person_id,
        _ => input.person_id,
    };
    let g =
        s.cw.break_glass(&caller.principal, person, &input.reason)
            .await?;
    if let Some(a) = s.cw.auditor() {
        // The reason is sealed in the grant; the log names the grant.
        a.record(vec![draft(
            &caller.actor(),
            Action::BreakGlass,
            "break_glass",
            Some(g.id),
            Some(g.person_id),
            route,
        )])
        .await
        .map_err(|e| ApiError::internal(&e))?;
    }
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": g.id, "person_id": g.person_id, "expires_at": g.expires_at })),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewQuery {
    days: Option<u32>,
}

/// Break-glass use by the supervisor's team members (default: last 7 days).
async fn review_break_glass(
    Call { s, caller, route }: Call,
    ApiQuery(q): ApiQuery<ReviewQuery>,
) -> Result<Response, ApiError> {
    let days = i64::from(q.days.unwrap_or(7).clamp(1, 365));
    let since = chrono::Utc::now() - chrono::Duration::days(days);
    let items = s.cw.break_glass_review(&caller.principal, since).await?;
    // The reasons may describe the person: reading them is a PHI read.
    let touched = items
        .iter()
        .map(|g| ("break_glass", g.id, Some(g.person_id)))
        .collect();
    audit(&s, &caller, Action::PhiRead, route, touched, false).await?;
    Ok(Json(json!({ "items": items })).into_response())
}
