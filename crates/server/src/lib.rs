//! The tracedesk HTTP server: JSON API under `/api/v1`, health, metrics.
//!
//! Handlers are thin: they parse (with errors that name a field and never a
//! value), call `Casework`, and map its errors to stable codes. No handler
//! logs or returns request bodies.

mod api;
mod error;
mod extract;
mod metrics;
mod openapi;
pub mod tokens;

pub use error::ApiError;
pub use metrics::Metrics;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use std::sync::Arc;
use tracedesk_casework::Casework;

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub cw: Casework,
    pub metrics: Arc<Metrics>,
}

/// Server settings that come from configuration.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Most lab results accepted in one request.
    pub max_batch: usize,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            body_limit: 8 * 1024 * 1024,
            max_batch: 10_000,
        }
    }
}

/// Builds the whole application.
pub fn app(cw: Casework, settings: ServerSettings) -> Router {
    let state = AppState {
        cw,
        metrics: Arc::new(Metrics::default()),
    };
    api::routes(state.clone(), settings.max_batch)
        .layer(DefaultBodyLimit::max(settings.body_limit))
        .layer(axum::middleware::from_fn_with_state(state, metrics::track))
}

/// Serves `app` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
