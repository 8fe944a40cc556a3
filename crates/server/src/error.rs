//! API errors: `{"error":{"code","message","field"}}` with a fitting status.
//! Internal failures are logged with an operation id that the client also
//! gets, so support can find the log line without the client seeing SQL.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tracedesk_casework::CaseworkError;
use tracedesk_store::StoreError;

/// One error: a stable `code`, a message that names the field and what is
/// wrong with it (never the value sent), and the field when there is one.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiError {
    #[serde(skip)]
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    /// 422 for one field of the request: the message names the field and
    /// what is wrong, never the value sent.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message).with_field(field)
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn internal(err: &dyn std::fmt::Display) -> Self {
        let op = uuid::Uuid::new_v4().simple().to_string();
        tracing::error!(operation = %op, error = %err, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("internal error (operation {op})"),
        )
    }

    /// [`ApiError::internal`] for `map_err`.
    pub fn internal_of(err: impl std::fmt::Display) -> Self {
        Self::internal(&err)
    }

    /// The one denial body: it names no record and no reason beyond the rule.
    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "you may not access this; if you must, open it with break-glass and a reason",
        )
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }
}

/// Every error's body.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ApiError,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(ErrorBody { error: self })).into_response()
    }
}

impl From<CaseworkError> for ApiError {
    fn from(e: CaseworkError) -> Self {
        match e {
            CaseworkError::Invalid(errs) => {
                let message = errs
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ");
                let mut err =
                    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message);
                err.field = errs.first().map(|f| f.field.clone());
                err
            }
            CaseworkError::NotFound(what) => ApiError::not_found(what),
            CaseworkError::Forbidden => ApiError::forbidden(),
            CaseworkError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            CaseworkError::Transition(t) => {
                ApiError::new(StatusCode::CONFLICT, "illegal_transition", t.to_string())
                    .with_field("status")
            }
            CaseworkError::Store(StoreError::Unavailable(m)) => {
                tracing::error!(error = %m, "database unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the database is unavailable; retry later",
                )
            }
            CaseworkError::Store(StoreError::NotFound) => ApiError::not_found("record"),
            other => ApiError::internal(&other),
        }
    }
}
