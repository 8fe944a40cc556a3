//! Routes of case investigation: notes (append-only), outreach attempts on
//! a task, the case's investigator, and the transmission chain around a
//! case. Entitlement and audit are the guard's, from `needs::TABLE`.

use crate::AppState;
use crate::answers::{
    CaseGraph, ClusterGraph, ClusterNode, GraphNode, Investigator, InvestigatorInput, Items,
};
use crate::error::ApiError;
use crate::extract::{Act, ApiJson, ApiQuery, Call};
use crate::guard::{self, Found, Touch, reply};
use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post, put};
use serde::Deserialize;
use tracedesk_casework::{
    AttemptInput, ContactInput, HouseholdInput, NoteInput, NoteOn, ReferralInput, ReferralPatch,
};
use tracedesk_identity::access::Decision;
use uuid::Uuid;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/cases/{id}/notes", get(case_notes).post(add_case_note))
        .route(
            "/contacts/{id}/notes",
            get(contact_notes).post(add_contact_note),
        )
        .route("/tasks/{id}/attempts", get(attempts).post(add_attempt))
        .route("/cases/{id}/investigator", put(set_investigator))
        .route("/cases/{id}/chain", get(chain))
        .route("/contacts/{id}/contacts", post(post_contact_of_contact))
        .route("/cases/{id}/household", get(household).put(put_household))
        .route(
            "/cases/{id}/referrals",
            get(case_referrals).post(refer_case),
        )
        .route(
            "/contacts/{id}/referrals",
            get(contact_referrals).post(refer_contact),
        )
        .route("/referrals/{id}", axum::routing::patch(patch_referral))
        .route("/contacts/{id}/warnings", get(contact_warnings))
        .route("/cases/{id}/transfer", post(transfer_case))
        .route("/clusters", post(create_cluster).get(list_clusters))
        .route("/clusters/{id}", get(cluster))
        .route("/clusters/{id}/members", post(add_member))
        .route("/questionnaires", get(questionnaires))
        .route("/questionnaires/{name}", get(questionnaire))
        .route(
            "/cases/{id}/interview",
            get(case_interview).put(save_case_interview),
        )
        .route(
            "/contacts/{id}/interview",
            get(contact_interview).put(save_contact_interview),
        )
}

/// What a case or contact route's `{id}` names, as case work takes it, and
/// the audit entry for it.
fn on(call: &Call, object: &'static str) -> Result<(NoteOn, Vec<Touch>), ApiError> {
    let (id, touch) = touched(call, object)?;
    let on = if object == "case" {
        NoteOn::Case(id)
    } else {
        NoteOn::Contact(id)
    };
    Ok((on, touch))
}

async fn notes_of(call: Call, object: &'static str) -> Result<Response, ApiError> {
    let (on, touch) = on(&call, object)?;
    let items = call.s.cw.cases().notes(on).await?;
    Ok(reply(StatusCode::OK, Items { items }, touch))
}

async fn add_note_to(
    call: Call,
    object: &'static str,
    input: NoteInput,
) -> Result<Response, ApiError> {
    let (on, touch) = on(&call, object)?;
    let note = call
        .s
        .cw
        .cases()
        .by(call.caller.user.id)
        .add_note(on, &input)
        .await?;
    Ok(reply(StatusCode::CREATED, note, touch))
}

async fn referrals_of(call: Call, object: &'static str) -> Result<Response, ApiError> {
    let (on, touch) = on(&call, object)?;
    let items = call.s.cw.cases().referrals(on).await?;
    Ok(reply(StatusCode::OK, Items { items }, touch))
}

async fn refer(
    call: Call,
    object: &'static str,
    input: ReferralInput,
) -> Result<Response, ApiError> {
    let (on, touch) = on(&call, object)?;
    let r = call
        .s
        .cw
        .cases()
        .by(call.caller.user.id)
        .refer(on, &input)
        .await?;
    Ok(reply(StatusCode::CREATED, r, touch))
}

async fn save_interview(
    call: Call,
    object: &'static str,
    input: tracedesk_casework::questionnaire::InterviewInput,
) -> Result<Response, ApiError> {
    let (on, touch) = on(&call, object)?;
    let cases = call.s.cw.cases().by(call.caller.user.id);
    let v = cases.save_interview(on, &input).await?;
    Ok(reply(StatusCode::OK, v, touch))
}

/// The entitled record's id and person, for the audit entry.
fn touched(call: &Call, object: &'static str) -> Result<(Uuid, Vec<Touch>), ApiError> {
    let r = call.record()?;
    Ok((r.id, vec![(object, r.id, r.person)]))
}

/// A case's notes, oldest first, each with its author and time.
#[utoipa::path(get, path = "/api/v1/cases/{id}/notes", tag = "case work", params(("id" = Uuid, Path, description = "The case's id")),
    responses((status = 200, description = "The notes", body = Items<tracedesk_casework::NoteView>)))]
pub(crate) async fn case_notes(call: Call) -> Result<Response, ApiError> {
    notes_of(call, "case").await
}

/// Adds a note to a case (notes are never overwritten).
#[utoipa::path(post, path = "/api/v1/cases/{id}/notes", tag = "case work", params(("id" = Uuid, Path, description = "The case's id")),
    request_body = NoteInput,
    responses((status = 201, description = "The note", body = tracedesk_casework::NoteView)))]
pub(crate) async fn add_case_note(
    Act(call, ApiJson(input)): Act<ApiJson<NoteInput>>,
) -> Result<Response, ApiError> {
    add_note_to(call, "case", input).await
}

/// A contact record's notes, oldest first.
#[utoipa::path(get, path = "/api/v1/contacts/{id}/notes", tag = "case work", params(("id" = Uuid, Path, description = "The contact record's id")),
    responses((status = 200, description = "The notes", body = Items<tracedesk_casework::NoteView>)))]
pub(crate) async fn contact_notes(call: Call) -> Result<Response, ApiError> {
    notes_of(call, "exposure").await
}

/// Adds a note to a contact record.
#[utoipa::path(post, path = "/api/v1/contacts/{id}/notes", tag = "case work", params(("id" = Uuid, Path, description = "The contact record's id")),
    request_body = NoteInput,
    responses((status = 201, description = "The note", body = tracedesk_casework::NoteView)))]
pub(crate) async fn add_contact_note(
    Act(call, ApiJson(input)): Act<ApiJson<NoteInput>>,
) -> Result<Response, ApiError> {
    add_note_to(call, "exposure", input).await
}

/// The outreach attempts on a task, oldest first.
#[utoipa::path(get, path = "/api/v1/tasks/{id}/attempts", tag = "case work", params(("id" = Uuid, Path, description = "The task's id")),
    responses((status = 200, description = "The attempts", body = Items<tracedesk_casework::AttemptView>)))]
pub(crate) async fn attempts(call: Call) -> Result<Response, ApiError> {
    let (id, touch) = touched(&call, "task")?;
    let items = call.s.cw.cases().attempts(id).await?;
    Ok(reply(StatusCode::OK, Items { items }, touch))
}

/// Records an outreach attempt on a task: the channel, when, and what it
/// came to (reached, voicemail, no answer, wrong number, refused, call back
/// at a time).
#[utoipa::path(post, path = "/api/v1/tasks/{id}/attempts", tag = "case work", params(("id" = Uuid, Path, description = "The task's id")),
    request_body = AttemptInput,
    responses((status = 201, description = "The attempt", body = tracedesk_casework::AttemptView)))]
pub(crate) async fn add_attempt(
    Act(call, ApiJson(input)): Act<ApiJson<AttemptInput>>,
) -> Result<Response, ApiError> {
    let (id, touch) = touched(&call, "task")?;
    let cases = call.s.cw.cases().by(call.caller.user.id);
    let attempt = cases.record_attempt(id, &input).await?;
    Ok(reply(StatusCode::CREATED, attempt, touch))
}

/// Makes a tracer or supervisor of the case's jurisdiction its
/// investigator (`null`: nobody): they keep the case, and the contacts it
/// named, while it is open; whoever held it before no longer does.
#[utoipa::path(put, path = "/api/v1/cases/{id}/investigator", tag = "case work", params(("id" = Uuid, Path, description = "The case's id")),
    request_body = InvestigatorInput,
    responses(
        (status = 200, description = "The case's investigator now", body = Investigator),
        (status = 409, description = "The case is closed", body = crate::error::ErrorBody),
    ))]
pub(crate) async fn set_investigator(
    Act(call, ApiJson(input)): Act<ApiJson<InvestigatorInput>>,
) -> Result<Response, ApiError> {
    let (id, touch) = touched(&call, "case")?;
    let now = call
        .s
        .cw
        .cases()
        .set_investigator(id, input.user_id)
        .await?;
    let body = Investigator {
        case_id: id,
        investigator_id: now,
    };
    let note = now.map_or_else(|| "nobody".to_string(), |u| u.to_string());
    Ok(guard::reply_noted(StatusCode::OK, body, touch, note))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ChainQuery {
    /// Steps to walk from the case, each way (1 to 10; 3 unless given).
    #[param(minimum = 1, maximum = 10)]
    depth: Option<u32>,
}

/// The transmission chain around a case: cases linked by contacts who
/// were (or became) cases, as a graph of ids. Only the cases the caller may
/// see are nodes, and only edges between them are shown; `hidden` counts
/// the others.
#[utoipa::path(get, path = "/api/v1/cases/{id}/chain", tag = "case work", params(("id" = Uuid, Path, description = "The case's id"), ChainQuery),
    responses((status = 200, description = "The chain", body = CaseGraph)))]
pub(crate) async fn chain(
    call: Call,
    ApiQuery(q): ApiQuery<ChainQuery>,
) -> Result<Response, ApiError> {
    let depth = q.depth.unwrap_or(3);
    if !(1..=10).contains(&depth) {
        return Err(ApiError::invalid("depth", "must be between 1 and 10"));
    }
    let start = guard::found!(call.record()?, Found::Case);
    let s = &call.s;
    let chain = s.cw.cases().chain(start.id, depth).await?;
    let mut visible = std::collections::HashSet::new();
    let mut touch = Vec::new();
    let mut hidden = 0;
    for c in &chain.cases {
        let d =
            s.cw.staff()
                .decide_in(&call.caller.principal, c.person_id, &c.jurisdiction)
                .await?;
        // The case named in the URL was entitled by the guard (break-glass
        // included); the others only by plain entitlement.
        if c.id == start.id || d == Decision::Allow {
            visible.insert(c.id);
            touch.push(("case", c.id, Some(c.person_id)));
        } else {
            hidden += 1;
        }
    }
    let nodes = chain
        .cases
        .iter()
        .filter(|c| visible.contains(&c.id))
        .map(|c| GraphNode { id: c.id })
        .collect();
    let edges = chain
        .edges
        .into_iter()
        .filter(|e| visible.contains(&e.from) && visible.contains(&e.to))
        .collect();
    let body = CaseGraph {
        nodes,
        edges,
        hidden,
        truncated: chain.truncated,
    };
    Ok(reply(StatusCode::OK, body, touch))
}

/// Names a contact of a contact (when `contact_depth` allows it): a
/// contact record on the same case one step further from it, with its own
/// quarantine and notification task.
#[utoipa::path(post, path = "/api/v1/contacts/{id}/contacts", tag = "case work", params(("id" = Uuid, Path, description = "The naming contact's record")),
    request_body = ContactInput,
    responses(
        (status = 201, description = "The contact record", body = tracedesk_casework::ContactOutcome),
        (status = 409, description = "Contacts of contacts are off, or the naming contact's follow-up has ended", body = crate::error::ErrorBody),
    ))]
pub(crate) async fn post_contact_of_contact(
    Act(call, ApiJson(input)): Act<ApiJson<ContactInput>>,
) -> Result<Response, ApiError> {
    let id = call.record()?.id;
    let cases = call.s.cw.cases().by(call.caller.user.id);
    let out = cases
        .add_contacts_of(id, std::slice::from_ref(&input))
        .await?
        .pop()
        .unwrap_or(Err(tracedesk_casework::CaseworkError::NotFound("outcome")))?;
    Ok(crate::api::contact_named(&call.s, out))
}

/// A case's household: who lives with the case, and where.
#[utoipa::path(get, path = "/api/v1/cases/{id}/household", tag = "case work", params(("id" = Uuid, Path, description = "The case's id")),
    responses((status = 200, description = "The household", body = tracedesk_casework::HouseholdView)))]
pub(crate) async fn household(call: Call) -> Result<Response, ApiError> {
    let (id, touch) = touched(&call, "case")?;
    let h = call
        .s
        .cw
        .cases()
        .household(id)
        .await?
        .ok_or_else(|| ApiError::not_found("household"))?;
    Ok(reply(StatusCode::OK, h, touch))
}

/// Records who lives with a case (contact records of the case) and where;
/// their exposure becomes a household one, and with `ongoing_exposure`
/// their quarantine follows the case's isolation end.
#[utoipa::path(put, path = "/api/v1/cases/{id}/household", tag = "case work", params(("id" = Uuid, Path, description = "The case's id")),
    request_body = HouseholdInput,
    responses((status = 200, description = "The household", body = tracedesk_casework::HouseholdView)))]
pub(crate) async fn put_household(
    Act(call, ApiJson(input)): Act<ApiJson<HouseholdInput>>,
) -> Result<Response, ApiError> {
    let (id, mut touch) = touched(&call, "case")?;
    let cases = call.s.cw.cases().by(call.caller.user.id);
    let h = cases.put_household(id, &input).await?;
    touch.extend(
        h.members
            .iter()
            .filter_map(|m| m.exposure_id)
            .map(|e| ("exposure", e, None)),
    );
    Ok(reply(StatusCode::OK, h, touch))
}

/// A case's referrals (tests, support to isolate), oldest first.
#[utoipa::path(get, path = "/api/v1/cases/{id}/referrals", tag = "case work", params(("id" = Uuid, Path, description = "The case's id")),
    responses((status = 200, description = "The referrals", body = Items<tracedesk_casework::ReferralView>)))]
pub(crate) async fn case_referrals(call: Call) -> Result<Response, ApiError> {
    referrals_of(call, "case").await
}

/// Refers a case for a test or for support (food, housing, medicine,
/// income, child care); a task goes to the support queue.
#[utoipa::path(post, path = "/api/v1/cases/{id}/referrals", tag = "case work", params(("id" = Uuid, Path, description = "The case's id")),
    request_body = ReferralInput,
    responses((status = 201, description = "The referral", body = tracedesk_casework::ReferralView)))]
pub(crate) async fn refer_case(
    Act(call, ApiJson(input)): Act<ApiJson<ReferralInput>>,
) -> Result<Response, ApiError> {
    refer(call, "case", input).await
}

/// A contact record's referrals, oldest first.
#[utoipa::path(get, path = "/api/v1/contacts/{id}/referrals", tag = "case work", params(("id" = Uuid, Path, description = "The contact record's id")),
    responses((status = 200, description = "The referrals", body = Items<tracedesk_casework::ReferralView>)))]
pub(crate) async fn contact_referrals(call: Call) -> Result<Response, ApiError> {
    referrals_of(call, "exposure").await
}

/// Refers a contact for a test or for support; a task goes to the support
/// queue.
#[utoipa::path(post, path = "/api/v1/contacts/{id}/referrals", tag = "case work", params(("id" = Uuid, Path, description = "The contact record's id")),
    request_body = ReferralInput,
    responses((status = 201, description = "The referral", body = tracedesk_casework::ReferralView)))]
pub(crate) async fn refer_contact(
    Act(call, ApiJson(input)): Act<ApiJson<ReferralInput>>,
) -> Result<Response, ApiError> {
    refer(call, "exposure", input).await
}

/// Moves a referral along (requested → in progress → fulfilled, declined
/// or canceled); once settled, its support task ends.
#[utoipa::path(patch, path = "/api/v1/referrals/{id}", tag = "case work", params(("id" = Uuid, Path, description = "The referral's id")),
    request_body = ReferralPatch,
    responses(
        (status = 200, description = "The referral", body = tracedesk_casework::ReferralView),
        (status = 409, description = "A status the referral cannot move to", body = crate::error::ErrorBody),
    ))]
pub(crate) async fn patch_referral(
    Act(call, ApiJson(patch)): Act<ApiJson<ReferralPatch>>,
) -> Result<Response, ApiError> {
    let (id, touch) = touched(&call, "referral")?;
    let r = call.s.cw.cases().patch_referral(id, &patch).await?;
    Ok(reply(StatusCode::OK, r, touch))
}

/// Implausible dates kept on a contact record (exposures outside the
/// case's infectious period), oldest first.
#[utoipa::path(get, path = "/api/v1/contacts/{id}/warnings", tag = "case work", params(("id" = Uuid, Path, description = "The contact record's id")),
    responses((status = 200, description = "The warnings", body = Items<tracedesk_casework::WarningView>)))]
pub(crate) async fn contact_warnings(call: Call) -> Result<Response, ApiError> {
    let (id, touch) = touched(&call, "exposure")?;
    let items = call.s.cw.cases().warnings(NoteOn::Contact(id)).await?;
    Ok(reply(StatusCode::OK, Items { items }, touch))
}

/// Where to transfer a case.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TransferInput {
    /// The receiving jurisdiction's code.
    jurisdiction: String,
}

/// Transfers a case, with the contacts it named, its results, notes and
/// household, to another jurisdiction (audited): its supervisors see it
/// from then on, the sending ones no longer do, and unfinished tasks are
/// made anew there.
#[utoipa::path(post, path = "/api/v1/cases/{id}/transfer", tag = "case work", params(("id" = Uuid, Path, description = "The case's id")),
    request_body = TransferInput,
    responses(
        (status = 200, description = "Where the case went", body = tracedesk_casework::TransferView),
        (status = 409, description = "The case is closed", body = crate::error::ErrorBody),
    ))]
pub(crate) async fn transfer_case(
    Act(call, ApiJson(input)): Act<ApiJson<TransferInput>>,
) -> Result<Response, ApiError> {
    let (id, touch) = touched(&call, "case")?;
    let t = call
        .s
        .cw
        .cases()
        .transfer_case(id, &input.jurisdiction)
        .await?;
    let note = format!("to {}", t.to);
    Ok(guard::reply_noted(StatusCode::OK, t, touch, note))
}

/// Records a cluster or event: a named setting with a date range, in the
/// caller's jurisdiction (or one within it).
#[utoipa::path(post, path = "/api/v1/clusters", tag = "case work",
    request_body = tracedesk_casework::clusters::ClusterInput,
    responses((status = 201, description = "The cluster", body = tracedesk_casework::clusters::ClusterView)))]
pub(crate) async fn create_cluster(
    Act(call, ApiJson(input)): Act<ApiJson<tracedesk_casework::clusters::ClusterInput>>,
) -> Result<Response, ApiError> {
    let j = input
        .jurisdiction
        .clone()
        .unwrap_or_else(|| call.caller.user.jurisdiction.clone());
    guard::within(&call.s, &call.caller, j.trim(), call.route).await?;
    let c = call.s.cw.cases().create_cluster(&input, j.trim()).await?;
    let touch = vec![("cluster", c.id, None)];
    Ok(reply(StatusCode::CREATED, c, touch))
}

/// The clusters of the caller's jurisdictions, newest first (at most 500).
#[utoipa::path(get, path = "/api/v1/clusters", tag = "case work",
    responses((status = 200, description = "The clusters", body = Items<tracedesk_casework::clusters::ClusterView>)))]
pub(crate) async fn list_clusters(call: Call) -> Result<Response, ApiError> {
    let items = call
        .s
        .cw
        .cases()
        .list_clusters(&call.caller.principal.scope)
        .await?;
    let touch = items.iter().map(|c| ("cluster", c.id, None)).collect();
    Ok(reply(StatusCode::OK, Items { items }, touch))
}

/// A cluster and its members as a graph (ids only): only the members the
/// caller may see are nodes, with the edges between them; `hidden` counts
/// the others.
#[utoipa::path(get, path = "/api/v1/clusters/{id}", tag = "case work", params(("id" = Uuid, Path, description = "The cluster's id")),
    responses((status = 200, description = "The cluster and its members", body = ClusterGraph)))]
pub(crate) async fn cluster(call: Call) -> Result<Response, ApiError> {
    let row = guard::found!(call.record()?, Found::Cluster);
    let s = &call.s;
    let (members, edges) = s.cw.cases().cluster_graph(row.id).await?;
    let mut visible = std::collections::HashSet::new();
    let mut nodes = Vec::new();
    let mut touch = vec![("cluster", row.id, None)];
    let mut hidden = 0;
    for m in members {
        let d =
            s.cw.staff()
                .decide_in(&call.caller.principal, m.person, &m.jurisdiction)
                .await?;
        let (id, kind, object) = match m.member {
            tracedesk_store::ClusterMember::Case(id) => (id, "case", "case"),
            tracedesk_store::ClusterMember::Exposure(id) => (id, "contact", "exposure"),
        };
        if d == Decision::Allow {
            visible.insert(id);
            nodes.push(ClusterNode { id, kind });
            touch.push((object, id, Some(m.person)));
        } else {
            hidden += 1;
        }
    }
    let edges = edges
        .into_iter()
        .filter(|e| visible.contains(&e.from) && visible.contains(&e.to))
        .collect();
    let body = ClusterGraph {
        cluster: s.cw.cases().cluster_view(row)?,
        nodes,
        edges,
        hidden,
    };
    Ok(reply(StatusCode::OK, body, touch))
}

/// Attaches a case or contact record the caller may see to a cluster.
#[utoipa::path(post, path = "/api/v1/clusters/{id}/members", tag = "case work", params(("id" = Uuid, Path, description = "The cluster's id")),
    request_body = tracedesk_casework::clusters::MemberInput,
    responses((status = 200, description = "Attached: the cluster", body = tracedesk_casework::clusters::ClusterView)))]
pub(crate) async fn add_member(
    Act(call, ApiJson(input)): Act<ApiJson<tracedesk_casework::clusters::MemberInput>>,
) -> Result<Response, ApiError> {
    let row = guard::found!(call.record()?, Found::Cluster);
    let s = &call.s;
    let member = input.member()?;
    let (object, id) = match member {
        tracedesk_store::ClusterMember::Case(id) => ("case", id),
        tracedesk_store::ClusterMember::Exposure(id) => ("exposure", id),
    };
    let found = s.cw.cases().member_row(member).await?;
    let held = found.as_ref().map(|m| (m.person, m.jurisdiction.clone()));
    guard::entitled_to(s, &call.caller, object, id, held, call.route).await?;
    let Some(m) = found else {
        return Err(ApiError::internal(&"an entitled member vanished"));
    };
    s.cw.cases().add_cluster_member(row, &m).await?;
    let touch = vec![("cluster", row.id, None), (object, id, Some(m.person))];
    Ok(reply(
        StatusCode::OK,
        s.cw.cases().cluster_view(row)?,
        touch,
    ))
}

/// The questionnaires: the case interview and the contact notification
/// script, with their versions (no personal data).
#[utoipa::path(get, path = "/api/v1/questionnaires", tag = "case work",
    responses((status = 200, description = "The questionnaires", body = Items<tracedesk_casework::questionnaire::QuestionnaireSummary>)))]
pub(crate) async fn questionnaires(call: Call) -> Result<Response, ApiError> {
    let items = call.s.cw.cases().questionnaires();
    Ok(reply(StatusCode::OK, Items { items }, Vec::new()))
}

/// One questionnaire's definition: sections, typed questions, skip logic,
/// choices, translations.
#[utoipa::path(get, path = "/api/v1/questionnaires/{name}", tag = "case work", params(("name" = String, Path, description = "The questionnaire's id")),
    responses((status = 200, description = "The definition", body = tracedesk_casework::questionnaire::Questionnaire)))]
pub(crate) async fn questionnaire(
    call: Call,
    axum::extract::Path(name): axum::extract::Path<String>,
) -> Result<Response, ApiError> {
    let q = call
        .s
        .cw
        .cases()
        .questionnaire(&name)
        .ok_or_else(|| ApiError::not_found("questionnaire"))?;
    Ok(reply(StatusCode::OK, q, Vec::new()))
}

async fn interview_of(call: &Call, object: &'static str) -> Result<Response, ApiError> {
    let (on, touch) = on(call, object)?;
    let v = call
        .s
        .cw
        .cases()
        .interview(on)
        .await?
        .ok_or_else(|| ApiError::not_found("interview"))?;
    Ok(reply(StatusCode::OK, v, touch))
}

/// The newest interview answers saved on a case.
#[utoipa::path(get, path = "/api/v1/cases/{id}/interview", tag = "case work", params(("id" = Uuid, Path, description = "The case's id")),
    responses((status = 200, description = "The answers", body = tracedesk_casework::questionnaire::InterviewView)))]
pub(crate) async fn case_interview(call: Call) -> Result<Response, ApiError> {
    interview_of(&call, "case").await
}

/// Saves a case interview's answers, validated against the questionnaire
/// version named; the case's onset, symptoms, fever-free day and severity
/// follow (and its isolation end with them).
#[utoipa::path(put, path = "/api/v1/cases/{id}/interview", tag = "case work", params(("id" = Uuid, Path, description = "The case's id")),
    request_body = tracedesk_casework::questionnaire::InterviewInput,
    responses((status = 200, description = "The answers saved", body = tracedesk_casework::questionnaire::InterviewView)))]
pub(crate) async fn save_case_interview(
    Act(call, ApiJson(input)): Act<ApiJson<tracedesk_casework::questionnaire::InterviewInput>>,
) -> Result<Response, ApiError> {
    save_interview(call, "case", input).await
}

/// The newest notification-script answers saved on a contact record.
#[utoipa::path(get, path = "/api/v1/contacts/{id}/interview", tag = "case work", params(("id" = Uuid, Path, description = "The contact record's id")),
    responses((status = 200, description = "The answers", body = tracedesk_casework::questionnaire::InterviewView)))]
pub(crate) async fn contact_interview(call: Call) -> Result<Response, ApiError> {
    interview_of(&call, "exposure").await
}

/// Saves a contact notification script's answers.
#[utoipa::path(put, path = "/api/v1/contacts/{id}/interview", tag = "case work", params(("id" = Uuid, Path, description = "The contact record's id")),
    request_body = tracedesk_casework::questionnaire::InterviewInput,
    responses((status = 200, description = "The answers saved", body = tracedesk_casework::questionnaire::InterviewView)))]
pub(crate) async fn save_contact_interview(
    Act(call, ApiJson(input)): Act<ApiJson<tracedesk_casework::questionnaire::InterviewInput>>,
) -> Result<Response, ApiError> {
    save_interview(call, "exposure", input).await
}
