//! The tracedesk HTTP server: JSON API under `/api/v1`, health, metrics.
//!
//! Handlers are thin: they parse (with errors that name a field and never a
//! value), call `Casework`, and map its errors to stable codes. No handler
//! logs or returns request bodies.

mod admin;
mod admin_org;
mod admin_status;
mod answers;
mod api;
pub mod assembly;
pub mod auth;
mod desk;
mod error;
mod extract;
pub mod fhir;
mod floor;
mod guard;
mod headers;
mod interview;
mod investigation;
mod linkage;
mod linkage_pages;
mod lists;
mod login;
mod messaging;
mod metrics;
mod monitoring;
mod needs;
mod offers;
mod openapi;
mod pages;
mod people;
mod phone;
pub mod ratelimit;
mod report;
mod routing;
mod script;
mod templates;
pub mod tls;
mod watch;
pub mod webhooks;

pub use assembly::{App, Jobs, MessagingSetup, RoutingSetup};
pub use error::ApiError;
pub use metrics::Metrics;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use std::sync::Arc;
use tracedesk_casework::{AuthPolicy, Casework};

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub cw: Casework,
    pub metrics: Arc<Metrics>,
    pub auth: AuthPolicy,
    /// Cookies get `Secure` (served over TLS or behind a TLS proxy).
    pub secure_cookies: bool,
    pub callers: Arc<auth::CallerCache>,
    /// How often an idle live stream sends a keep-alive comment.
    pub keep_alive: std::time::Duration,
    /// The sandbox carrier, when it is the carrier: its phones are read
    /// and replied from over the API.
    pub sandbox: Option<Arc<tracedesk_comms::sandbox::Sandbox>>,
    /// Twilio's webhooks, when Twilio is the carrier.
    pub twilio: Option<webhooks::TwilioHooks>,
    /// What the supervisor floor keeps between reads: staff names and the
    /// indicators' counts.
    pub floor: Arc<floor::FloorCache>,
    /// The audit log check an administrator started from the browser.
    pub verify: Arc<admin_status::VerifyState>,
    /// The retention policy this server purges by (`None`: it does not).
    pub retention: Option<tracedesk_casework::retention::RetentionPolicy>,
}

/// Server settings that come from configuration.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Most lab results accepted in one request.
    pub max_batch: usize,
    pub auth: AuthPolicy,
    pub secure_cookies: bool,
    /// Per-client request rate limit; `None` for none (benchmarks, tests).
    pub rate_limit: Option<ratelimit::RateLimit>,
    /// How often an idle live stream (SSE) sends a keep-alive comment, so
    /// proxies and clients keep it open.
    pub keep_alive: std::time::Duration,
    /// The sandbox carrier, when it is the carrier (its phones are served).
    pub sandbox: Option<Arc<tracedesk_comms::sandbox::Sandbox>>,
    /// Twilio's webhooks, when Twilio is the carrier (else they answer 404).
    pub twilio: Option<webhooks::TwilioHooks>,
    /// The retention policy the jobs purge by, shown to administrators
    /// (`App::start` fills it in from its jobs).
    pub retention: Option<tracedesk_casework::retention::RetentionPolicy>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            body_limit: 8 * 1024 * 1024,
            max_batch: 10_000,
            auth: AuthPolicy::default(),
            secure_cookies: false,
            rate_limit: None,
            keep_alive: std::time::Duration::from_secs(15),
            sandbox: None,
            twilio: None,
            retention: None,
        }
    }
}

/// Builds the whole application.
pub fn app(cw: Casework, settings: ServerSettings) -> Router {
    let state = AppState {
        cw,
        metrics: Arc::new(Metrics::default()),
        auth: settings.auth,
        secure_cookies: settings.secure_cookies,
        callers: Arc::default(),
        keep_alive: settings.keep_alive,
        sandbox: settings.sandbox.clone(),
        twilio: settings.twilio.clone(),
        floor: Arc::default(),
        verify: Arc::default(),
        retention: settings.retention,
    };
    let mut router = api::routes(state.clone(), settings.max_batch);
    if let Some(limit) = settings.rate_limit {
        router = router.layer(axum::middleware::from_fn_with_state(
            ratelimit::Limiter::new(limit),
            ratelimit::limit,
        ));
    }
    router
        .layer(DefaultBodyLimit::max(settings.body_limit))
        .layer(axum::middleware::from_fn_with_state(state, metrics::track))
        .layer(axum::middleware::from_fn_with_state(
            headers::Tls(settings.secure_cookies),
            headers::secure,
        ))
}

/// Serves `app` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
