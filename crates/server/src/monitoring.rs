//! Routes of daily monitoring: a contact record's check-in preferences and
//! state (the contact record's rule, as for `PATCH /contacts/{id}`), and
//! the monitoring line lists of a supervisor's jurisdictions. Entitlement
//! and audit are the guard's, from `needs::TABLE`.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Act, ApiJson, ApiQuery, Call};
use crate::guard::{self, reply};
use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use tracedesk_casework::monitoring::MonitoringPreferences;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/contacts/{id}/monitoring",
            get(contact_monitoring).put(set_preferences),
        )
        .route("/monitoring", get(monitoring_list))
}

/// A contact record's daily monitoring: channel, window, time zone, the
/// line list it is on, the last check-in and what the last reply said.
#[utoipa::path(get, path = "/api/v1/contacts/{id}/monitoring", tag = "monitoring", params(("id" = Uuid, Path, description = "The contact record's id")),
    responses(
        (status = 200, description = "The record's monitoring", body = tracedesk_casework::monitoring::MonitoringView),
        (status = 404, description = "Not monitored", body = crate::error::ErrorBody),
    ))]
pub(crate) async fn contact_monitoring(call: Call) -> Result<Response, ApiError> {
    let r = call.record()?;
    let view = call.s.cw.messages().monitoring(r.id).await?;
    Ok(reply(
        StatusCode::OK,
        view,
        vec![("exposure", r.id, r.person)],
    ))
}

/// Sets how the contact is checked on (channel, window, time zone); kept
/// for when monitoring begins if it has not.
#[utoipa::path(put, path = "/api/v1/contacts/{id}/monitoring", tag = "monitoring", params(("id" = Uuid, Path, description = "The contact record's id")),
    request_body = MonitoringPreferences,
    responses(
        (status = 200, description = "The record's monitoring", body = tracedesk_casework::monitoring::MonitoringView),
        (status = 422, description = "An unknown channel, window or time zone", body = crate::error::ErrorBody),
    ))]
pub(crate) async fn set_preferences(
    Act(call, ApiJson(p)): Act<ApiJson<MonitoringPreferences>>,
) -> Result<Response, ApiError> {
    let r = call.record()?;
    let view = call
        .s
        .cw
        .messages()
        .by(call.caller.user.id)
        .set_preferences(r.id, &p)
        .await?;
    Ok(reply(
        StatusCode::OK,
        view,
        vec![("exposure", r.id, r.person)],
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// `symptomatic`, `non_reporting`, `asymptomatic` or `closed`.
    list: String,
    cursor: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// A monitoring line list of the caller's jurisdictions, in keyset pages.
#[utoipa::path(get, path = "/api/v1/monitoring", tag = "monitoring", params(ListQuery),
    responses((status = 200, description = "A page of the list", body = tracedesk_casework::Page<tracedesk_casework::monitoring::MonitoringView>)))]
pub(crate) async fn monitoring_list(
    Call { s, caller, .. }: Call,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    let page =
        s.cw.messages()
            .monitoring_list(
                &q.list,
                Some(&caller.principal.scope),
                q.cursor.as_deref(),
                q.limit,
            )
            .await?;
    Ok(guard::reply_page(page, |m| {
        ("exposure", m.contact_id, Some(m.person_id))
    }))
}
