//! Record linkage for data managers: the pairs the matcher found (`same`
//! as found, `open` to decide), a pair's two records side by side with how
//! each field agreed, a decision on an open pair, and merging a pair's two
//! records (and undoing it). A pair shows only to a supervisor over both
//! persons' jurisdictions, and a merge only to one over its jurisdiction,
//! so a match never widens what a caller sees.

use crate::extract::{Act, ApiJson, ApiQuery, Call, NoBody};
use crate::guard::{self, Found, Touch, reply};
use crate::{ApiError, AppState};
use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use tracedesk_casework::linkage::{LinkDecision, LinkReviewView, LinkSides};
use tracedesk_casework::merge::MergeView;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/linkage/reviews", get(link_reviews))
        .route("/linkage/reviews/{id}", get(link_review))
        .route("/linkage/reviews/{id}/decision", post(decide_link_review))
        .route("/linkage/reviews/{id}/merge", post(merge_link_review))
        .route("/linkage/merges", get(person_merges))
        .route("/linkage/merges/{id}", get(person_merge))
        .route("/linkage/merges/{id}/unmerge", post(unmerge_person_merge))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ReviewQuery {
    /// `open` (to decide), `same` or `distinct`.
    status: Option<String>,
    cursor: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// The two persons a pair or a merge is about, as the records an answer
/// touched (and a merge writes entries for before it acts).
pub(crate) fn both(a: uuid::Uuid, b: uuid::Uuid) -> Vec<Touch> {
    vec![("person", a, Some(a)), ("person", b, Some(b))]
}

fn touches(r: &LinkReviewView) -> Vec<Touch> {
    both(r.person_a, r.person_b)
}

/// Pairs of records the matcher found to be, or perhaps be, the same
/// person, newest first, whose two persons are both in the caller's
/// jurisdictions.
#[utoipa::path(get, path = "/api/v1/linkage/reviews", tag = "linkage", params(ReviewQuery),
    responses((status = 200, description = "A page of pairs", body = tracedesk_casework::Page<LinkReviewView>)))]
pub(crate) async fn link_reviews(
    Call { s, caller, .. }: Call,
    ApiQuery(q): ApiQuery<ReviewQuery>,
) -> Result<Response, ApiError> {
    let page =
        s.cw.cases()
            .link_reviews(
                caller.principal.scope.clone(),
                q.status.as_deref(),
                q.cursor.as_deref(),
                q.limit,
            )
            .await?;
    let touched: Vec<Touch> = page.items.iter().flat_map(touches).collect();
    Ok(reply(StatusCode::OK, page, touched))
}

/// A pair's two records side by side, with how each field agreed.
#[utoipa::path(get, path = "/api/v1/linkage/reviews/{id}", tag = "linkage", params(("id" = Uuid, Path, description = "The pair's id")),
    responses((status = 200, description = "The two records and their comparison", body = LinkSides)))]
pub(crate) async fn link_review(call: Call) -> Result<Response, ApiError> {
    let row = guard::found!(call.record()?, Found::LinkReview);
    let sides = call.s.cw.cases().link_sides(row).await?;
    let touched = touches(&sides.review);
    Ok(reply(StatusCode::OK, sides, touched))
}

/// Decides an open pair: the same person, or not.
#[utoipa::path(post, path = "/api/v1/linkage/reviews/{id}/decision", tag = "linkage", params(("id" = Uuid, Path, description = "The pair's id")),
    request_body = LinkDecision,
    responses(
        (status = 200, description = "The pair as decided", body = LinkReviewView),
        (status = 409, description = "The pair was decided already", body = crate::error::ErrorBody),
    ))]
pub(crate) async fn decide_link_review(
    Act(call, ApiJson(d)): Act<ApiJson<LinkDecision>>,
) -> Result<Response, ApiError> {
    let id = call.record()?.id;
    let view = call
        .s
        .cw
        .cases()
        .by(call.caller.user.id)
        .decide_link(id, &d.status)
        .await?;
    let touched = touches(&view);
    Ok(reply(StatusCode::OK, view, touched))
}

fn merge_touches(m: &MergeView) -> Vec<Touch> {
    both(m.survivor_id, m.merged_id)
}

/// Merges the pair the route's `{id}` names, both persons' entries written
/// first: the API's route and the staff page's alike.
pub(crate) async fn merge_named_pair(call: &Call) -> Result<MergeView, ApiError> {
    let row = guard::found!(call.record()?, Found::LinkReview);
    call.audit_before(both(row.person_a, row.person_b)).await?;
    Ok(call
        .s
        .cw
        .cases()
        .by(call.caller.user.id)
        .merge_pair(row)
        .await?)
}

/// Undoes the merge the route's `{id}` names, both persons' entries
/// written first.
pub(crate) async fn unmerge_named(call: &Call) -> Result<MergeView, ApiError> {
    let row = guard::found!(call.record()?, Found::Merge);
    call.audit_before(both(row.survivor_id, row.merged_id))
        .await?;
    Ok(call
        .s
        .cw
        .cases()
        .by(call.caller.user.id)
        .unmerge(row.id)
        .await?)
}

/// Merges a pair's two records into one: the later record's cases, lab
/// results, contact records, tasks, messages and monitoring move to the
/// earlier, which survives. An open pair is decided `same` by it. Refused
/// (409) when the records are in different jurisdictions, both have a
/// record in one other jurisdiction, or the pair was decided distinct.
#[utoipa::path(post, path = "/api/v1/linkage/reviews/{id}/merge", tag = "linkage", params(("id" = Uuid, Path, description = "The pair's id")),
    responses(
        (status = 200, description = "The merge", body = MergeView),
        (status = 409, description = "The two records cannot be merged, and why", body = crate::error::ErrorBody),
    ))]
pub(crate) async fn merge_link_review(
    Act(call, NoBody): Act<NoBody>,
) -> Result<Response, ApiError> {
    let view = merge_named_pair(&call).await?;
    let touched = merge_touches(&view);
    Ok(reply(StatusCode::OK, view, touched))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct MergeQuery {
    /// Only merges of this person (survivor or merged).
    person: Option<uuid::Uuid>,
    cursor: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// Merges in the caller's jurisdictions, newest first: the history of
/// which records were joined, by whom, and whether it was undone.
#[utoipa::path(get, path = "/api/v1/linkage/merges", tag = "linkage", params(MergeQuery),
    responses((status = 200, description = "A page of merges", body = tracedesk_casework::Page<MergeView>)))]
pub(crate) async fn person_merges(
    Call { s, caller, .. }: Call,
    ApiQuery(q): ApiQuery<MergeQuery>,
) -> Result<Response, ApiError> {
    let page =
        s.cw.cases()
            .person_merges(
                caller.principal.scope.clone(),
                q.person,
                q.cursor.as_deref(),
                q.limit,
            )
            .await?;
    let touched: Vec<Touch> = page.items.iter().flat_map(merge_touches).collect();
    Ok(reply(StatusCode::OK, page, touched))
}

/// One merge.
#[utoipa::path(get, path = "/api/v1/linkage/merges/{id}", tag = "linkage", params(("id" = Uuid, Path, description = "The merge's id")),
    responses((status = 200, description = "The merge", body = MergeView)))]
pub(crate) async fn person_merge(call: Call) -> Result<Response, ApiError> {
    let row = guard::found!(call.record()?, Found::Merge);
    let view = MergeView::from(row);
    let touched = merge_touches(&view);
    Ok(reply(StatusCode::OK, view, touched))
}

/// Undoes a merge: every row it moved, and every row made since on a moved
/// case or contact record, goes back to the merged record. The pair it was
/// decided on becomes `distinct`. Refused (409) when undone already, or
/// when the survivor has since been merged into another record.
#[utoipa::path(post, path = "/api/v1/linkage/merges/{id}/unmerge", tag = "linkage", params(("id" = Uuid, Path, description = "The merge's id")),
    responses(
        (status = 200, description = "The merge, undone", body = MergeView),
        (status = 409, description = "The merge cannot be undone, and why", body = crate::error::ErrorBody),
    ))]
pub(crate) async fn unmerge_person_merge(
    Act(call, NoBody): Act<NoBody>,
) -> Result<Response, ApiError> {
    let view = unmerge_named(&call).await?;
    let touched = merge_touches(&view);
    Ok(reply(StatusCode::OK, view, touched))
}
