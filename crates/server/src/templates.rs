//! Routes of the program's message templates: what each text says in each
//! language, built-in or as operators edited it. Templates belong to no
//! jurisdiction, so only an administrator over the root may read or change
//! them (`needs::TABLE`); a change is audited before it is made.

use crate::AppState;
use crate::answers::Items;
use crate::error::ApiError;
use crate::extract::{Act, ApiJson, Call, NoBody};
use crate::guard::reply;
use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use tracedesk_casework::templates::TemplateView;

pub fn routes() -> Router<AppState> {
    Router::new().route("/templates", get(list)).route(
        "/templates/{name}/{channel}/{language}",
        get(one).put(put).delete(reset),
    )
}

/// A template's new body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateInput {
    /// The text, with `{program}`, `{callback}` or `{link}` where those
    /// go. A text (SMS) must not name a diagnosis, and one that told people
    /// how to opt out must still say STOP.
    pub body: String,
}

type Key = Path<(String, String, String)>;

/// Every template in effect: each name, channel and language, built-in
/// or edited, with its encoding and segments as rendered.
#[utoipa::path(get, path = "/api/v1/templates", tag = "templates",
    responses((status = 200, description = "The templates", body = Items<TemplateView>)))]
pub(crate) async fn list(call: Call) -> Result<Response, ApiError> {
    let items = call.s.cw.messages().templates().await?;
    Ok(reply(StatusCode::OK, Items { items }, Vec::new()))
}

/// One template in effect.
#[utoipa::path(get, path = "/api/v1/templates/{name}/{channel}/{language}", tag = "templates",
    params(("name" = String, Path, description = "The template's name (`contact_notification`, `checkin`, …)"),
        ("channel" = String, Path, description = "`sms`, `voice` or `email`"),
        ("language" = String, Path, description = "`en`, `es`, `zh`, `ru`, `bn` or `ht`")),
    responses((status = 200, description = "The template", body = TemplateView),
        (status = 404, description = "No template of that name", body = crate::error::ErrorBody)))]
pub(crate) async fn one(
    call: Call,
    Path((name, channel, language)): Key,
) -> Result<Response, ApiError> {
    let view = call
        .s
        .cw
        .messages()
        .template_in_effect(&name, &channel, &language)
        .await?;
    Ok(reply(StatusCode::OK, view, Vec::new()))
}

/// Replaces a template's body for one channel and language; the built-in
/// is kept, and comes back when the edit is deleted.
#[utoipa::path(put, path = "/api/v1/templates/{name}/{channel}/{language}", tag = "templates",
    params(("name" = String, Path, description = "The template's name"),
        ("channel" = String, Path, description = "`sms`, `voice` or `email`"),
        ("language" = String, Path, description = "`en`, `es`, `zh`, `ru`, `bn` or `ht`")),
    request_body = TemplateInput,
    responses((status = 200, description = "The template now in effect", body = TemplateView),
        (status = 404, description = "No template of that name", body = crate::error::ErrorBody),
        (status = 422, description = "A body that names a diagnosis, uses an unknown variable, drops STOP or is empty or too long", body = crate::error::ErrorBody)))]
pub(crate) async fn put(
    Path((name, channel, language)): Key,
    Act(call, ApiJson(input)): Act<ApiJson<TemplateInput>>,
) -> Result<Response, ApiError> {
    let view = call
        .s
        .cw
        .messages()
        .by(call.caller.user.id)
        .put_template(&name, &channel, &language, &input.body)
        .await?;
    Ok(reply(StatusCode::OK, view, Vec::new()))
}

/// Deletes an edit: the built-in template is in effect again.
#[utoipa::path(delete, path = "/api/v1/templates/{name}/{channel}/{language}", tag = "templates",
    params(("name" = String, Path, description = "The template's name"),
        ("channel" = String, Path, description = "`sms`, `voice` or `email`"),
        ("language" = String, Path, description = "`en`, `es`, `zh`, `ru`, `bn` or `ht`")),
    responses((status = 200, description = "The built-in template, in effect again", body = TemplateView),
        (status = 404, description = "No edit to delete", body = crate::error::ErrorBody)))]
pub(crate) async fn reset(
    Path((name, channel, language)): Key,
    Act(call, NoBody): Act<NoBody>,
) -> Result<Response, ApiError> {
    let view = call
        .s
        .cw
        .messages()
        .by(call.caller.user.id)
        .reset_template(&name, &channel, &language)
        .await?;
    Ok(reply(StatusCode::OK, view, Vec::new()))
}
