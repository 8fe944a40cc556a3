//! Record linkage for data managers: the pairs the matcher found (`same`
//! as found, `open` to decide), a pair's two records side by side with how
//! each field agreed, and a decision on an open pair. A pair shows only to
//! a supervisor over both persons' jurisdictions, so a match never widens
//! what a caller sees.

use crate::extract::{Act, ApiJson, ApiQuery, Call};
use crate::guard::{self, Found, Touch, reply};
use crate::{ApiError, AppState};
use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use tracedesk_casework::linkage::{LinkDecision, LinkReviewView, LinkSides};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/linkage/reviews", get(link_reviews))
        .route("/linkage/reviews/{id}", get(link_review))
        .route("/linkage/reviews/{id}/decision", post(decide_link_review))
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

fn touches(r: &LinkReviewView) -> [Touch; 2] {
    [
        ("person", r.person_a, Some(r.person_a)),
        ("person", r.person_b, Some(r.person_b)),
    ]
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
    let touched = touches(&sides.review).to_vec();
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
    let touched = touches(&view).to_vec();
    Ok(reply(StatusCode::OK, view, touched))
}
