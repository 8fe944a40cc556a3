//! Errors of the case-work layer. None carries a PHI value: field errors name
//! the field and the rule, never what was typed.

use tracedesk_domain::{FieldError, TransitionError};
use tracedesk_store::StoreError;
use tracedesk_vault::VaultError;

#[derive(Debug, thiserror::Error)]
pub enum CaseworkError {
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The caller may not do this (minimum necessary). Carries no detail
    /// that could reveal whether or what the record holds.
    #[error("forbidden")]
    Forbidden,
    /// A real conflict with the state of a record (409).
    #[error("{0}")]
    Conflict(String),
    /// Something failed inside the service (500, logged with an operation
    /// id); never the caller's doing. The text names no personal data.
    #[error("{0}")]
    Internal(String),
}

impl CaseworkError {
    pub fn invalid(field: &str, reason: &str) -> Self {
        CaseworkError::Invalid(vec![FieldError::new(field, reason)])
    }
}

/// The error of one item of a batch, reported without sinking the rest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ItemError {
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
}

impl From<&CaseworkError> for ItemError {
    fn from(e: &CaseworkError) -> Self {
        match e {
            CaseworkError::Invalid(errs) => ItemError {
                code: "invalid_field",
                message: errs
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
                field: errs.first().map(|f| f.field.clone()),
            },
            CaseworkError::NotFound(what) => ItemError {
                code: "not_found",
                message: format!("{what} not found"),
                field: None,
            },
            CaseworkError::Transition(t) => ItemError {
                code: "illegal_transition",
                message: t.to_string(),
                field: Some("status".into()),
            },
            CaseworkError::Forbidden => ItemError {
                code: "forbidden",
                message: "you may not access this record".into(),
                field: None,
            },
            CaseworkError::Conflict(m) => ItemError {
                code: "conflict",
                message: m.clone(),
                field: None,
            },
            CaseworkError::Store(_) | CaseworkError::Vault(_) | CaseworkError::Internal(_) => {
                ItemError {
                    code: "internal",
                    message: "the record could not be stored; it was not recorded".into(),
                    field: None,
                }
            }
        }
    }
}
