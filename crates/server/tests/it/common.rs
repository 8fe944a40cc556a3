//! A real server on port 0 over SQLite in a temp dir, with users of every
//! role and a clock the test can move.

use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use tracedesk_casework::{AuthPolicy, Casework, NewUser, Settings};
use tracedesk_identity::Role;
use tracedesk_server::{App, Jobs, MessagingSetup, RoutingSetup, ServerSettings};
use tracedesk_store::Store;
use tracedesk_store_sqlite::SqliteStore;
use tracedesk_vault::Vault;

pub struct Harness {
    /// The routing workspace, when the server routes.
    pub workspace: Option<tracedesk_routing::Workspace>,
    pub base: String,
    pub http: reqwest::Client,
    pub store: Arc<dyn Store>,
    pub cw: Casework,
    /// Seconds added to the real clock, for expiry tests.
    pub offset: Arc<AtomicI64>,
    pub dir: Arc<tempfile::TempDir>,
    /// The server and its jobs; they stop when the last clone drops.
    pub running: Arc<tracedesk_server::assembly::Running>,
}

pub async fn spawn(auth: AuthPolicy) -> Harness {
    start(Arc::new(tempfile::tempdir().unwrap()), auth, None, true).await
}

/// A server with task routing (the public-health workspace).
pub async fn spawn_routing() -> Harness {
    spawn_routing_with(tracedesk_routing::Workspace::public_health()).await
}

/// A server routing with `workspace`.
pub async fn spawn_routing_with(workspace: tracedesk_routing::Workspace) -> Harness {
    start(
        Arc::new(tempfile::tempdir().unwrap()),
        AuthPolicy::default(),
        Some(workspace),
        true,
    )
    .await
}

/// A routing server that texts each newly named contact their first
/// notification (`[messaging] notify_contacts`).
pub async fn spawn_routing_notifying() -> Harness {
    let mut settings = Settings::default();
    settings.messaging.notify_contacts = true;
    start_full(
        Arc::new(tempfile::tempdir().unwrap()),
        AuthPolicy::default(),
        Some(tracedesk_routing::Workspace::public_health()),
        true,
        TestCarrier::Sandbox,
        settings,
    )
    .await
}

/// The carrier a test server sends through.
#[derive(Clone)]
pub enum TestCarrier {
    /// The embedded default, with quick receipts.
    Sandbox,
    /// The sandbox with its personas answering at once.
    SandboxPersonas,
    /// Texts to the sandbox, email over SMTP (STARTTLS, authenticated) to
    /// a local server on `port` whose certificate is `ca_pem`.
    SandboxSmtp { port: u16, ca_pem: String },
    /// Twilio's REST API at `api_base_url` (a fake), with these
    /// credentials; its webhooks expect the server's own address.
    Twilio {
        account_sid: String,
        auth_token: String,
        api_base_url: String,
    },
}

/// A server whose carrier is Twilio at `api_base_url`.
pub async fn spawn_twilio(account_sid: &str, auth_token: &str, api_base_url: &str) -> Harness {
    spawn_twilio_with(account_sid, auth_token, api_base_url, Settings::default()).await
}

/// [`spawn_twilio`] with case work's settings.
pub async fn spawn_twilio_with(
    account_sid: &str,
    auth_token: &str,
    api_base_url: &str,
    settings: Settings,
) -> Harness {
    let carrier = TestCarrier::Twilio {
        account_sid: account_sid.into(),
        auth_token: auth_token.into(),
        api_base_url: api_base_url.into(),
    };
    start_full(
        Arc::new(tempfile::tempdir().unwrap()),
        AuthPolicy::default(),
        None,
        true,
        carrier,
        settings,
    )
    .await
}

/// A server on the sandbox whose personas answer.
pub async fn spawn_personas() -> Harness {
    start_with(
        Arc::new(tempfile::tempdir().unwrap()),
        AuthPolicy::default(),
        None,
        true,
        TestCarrier::SandboxPersonas,
    )
    .await
}

/// A server whose texts go to the sandbox and emails to the SMTP fake `f`.
pub async fn spawn_smtp(f: &tracedesk_smtp::fake::Fake) -> Harness {
    let carrier = TestCarrier::SandboxSmtp {
        port: f.addr.port(),
        ca_pem: f.ca_pem.clone(),
    };
    start_with(
        Arc::new(tempfile::tempdir().unwrap()),
        AuthPolicy::default(),
        None,
        true,
        carrier,
    )
    .await
}

/// Starts a server over the database and keys in `dir` (a fresh one, or
/// one another harness used: a restart).
async fn start(
    dir: Arc<tempfile::TempDir>,
    auth: AuthPolicy,
    routing: Option<tracedesk_routing::Workspace>,
    fresh: bool,
) -> Harness {
    start_with(dir, auth, routing, fresh, TestCarrier::Sandbox).await
}

async fn start_with(
    dir: Arc<tempfile::TempDir>,
    auth: AuthPolicy,
    routing: Option<tracedesk_routing::Workspace>,
    fresh: bool,
    carrier: TestCarrier,
) -> Harness {
    start_full(dir, auth, routing, fresh, carrier, Settings::default()).await
}

async fn start_full(
    dir: Arc<tempfile::TempDir>,
    auth: AuthPolicy,
    routing: Option<tracedesk_routing::Workspace>,
    fresh: bool,
    carrier: TestCarrier,
    settings: Settings,
) -> Harness {
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join("t.db")).await.unwrap());
    store.migrate().await.unwrap();
    let (vault, _) = Vault::open_or_create(&dir.path().join("master.key")).unwrap();
    let auditor = tracedesk_casework::auditor::Auditor::new(
        store.clone(),
        Arc::new(tracedesk_store::audit::AuditKey::generate()),
    )
    .await
    .unwrap();
    let offset = Arc::new(AtomicI64::new(0));
    let o = offset.clone();
    let cw = Casework::new(store.clone(), Arc::new(vault), settings)
        .with_auditor(auditor)
        .with_clock(Arc::new(move || {
            Utc::now() + Duration::seconds(o.load(Ordering::Relaxed))
        }));
    if fresh {
        for (code, parent) in [("ny", "root"), ("ny-kings", "ny"), ("nj", "root")] {
            cw.staff()
                .add_jurisdiction(code, code, Some(parent))
                .await
                .unwrap();
        }
    }
    let routing_clock = {
        let o = offset.clone();
        Arc::new(move || Utc::now().timestamp_millis() + o.load(Ordering::Relaxed) * 1000)
    };
    let (base, running) = listen_carrier(
        cw.clone(),
        carrier,
        auth,
        routing
            .clone()
            .map(|w| (w, routing_clock as tracedesk_casework::dispatch::Millis)),
    )
    .await;
    Harness {
        base,
        running: Arc::new(running),
        http: reqwest::Client::new(),
        store,
        cw,
        offset,
        dir,
        workspace: routing,
    }
}

/// The tests' limits.
fn settings(auth: AuthPolicy) -> ServerSettings {
    ServerSettings {
        body_limit: 64 * 1024,
        max_batch: 100,
        auth,
        secure_cookies: false,
        rate_limit: None,
        keep_alive: std::time::Duration::from_millis(300),
        sandbox: None,
        twilio: None,
        retention: None,
    }
}

/// Serves `cw` on a free local port as `serve` assembles it (`App`), the
/// routing leader loop included when a workspace is given (and waited for
/// until it leads, or a PostgreSQL node may follow); returns its base URL
/// and the running server.
pub async fn listen_with(
    cw: Casework,
    auth: AuthPolicy,
    routing: Option<(
        tracedesk_routing::Workspace,
        tracedesk_casework::dispatch::Millis,
    )>,
) -> (String, tracedesk_server::assembly::Running) {
    listen_carrier(cw, TestCarrier::Sandbox, auth, routing).await
}

async fn listen_carrier(
    cw: Casework,
    carrier: TestCarrier,
    auth: AuthPolicy,
    routing: Option<(
        tracedesk_routing::Workspace,
        tracedesk_casework::dispatch::Millis,
    )>,
) -> (String, tracedesk_server::assembly::Running) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let leads = routing.is_some();
    let mut settings = settings(auth);
    let messaging = match carrier {
        // The sandbox carrier, as `serve` runs it, with quick receipts.
        TestCarrier::Sandbox => {
            let m = MessagingSetup::sandbox(tracedesk_comms::sandbox::SandboxConfig {
                latency: std::time::Duration::from_millis(50),
                ..Default::default()
            });
            settings.sandbox = m.sandbox.clone();
            m
        }
        TestCarrier::SandboxPersonas => {
            let m = MessagingSetup::sandbox(tracedesk_comms::sandbox::SandboxConfig {
                latency: std::time::Duration::from_millis(50),
                personas: true,
                reply_latency: std::time::Duration::from_millis(50),
                ..Default::default()
            });
            settings.sandbox = m.sandbox.clone();
            m
        }
        TestCarrier::SandboxSmtp { port, ca_pem } => {
            let mut m = MessagingSetup::sandbox(tracedesk_comms::sandbox::SandboxConfig {
                latency: std::time::Duration::from_millis(50),
                ..Default::default()
            });
            settings.sandbox = m.sandbox.clone();
            let smtp = tracedesk_smtp::Smtp::new(tracedesk_smtp::SmtpConfig {
                host: "localhost".into(),
                port,
                security: tracedesk_smtp::Security::StartTls,
                username: Some("tracedesk".into()),
                password: Some("mail-pass".into()),
                from: "Test & Trace <notify@health.example.org>".into(),
                subject: "Test & Trace".into(),
                ca_pem: Some(ca_pem.into_bytes()),
                timeout: std::time::Duration::from_secs(5),
            })
            .unwrap();
            m.carrier = Arc::new(tracedesk_comms::Channels {
                sms: m.carrier.clone(),
                email: Some(Arc::new(smtp)),
            });
            m
        }
        TestCarrier::Twilio {
            account_sid,
            auth_token,
            api_base_url,
        } => {
            settings.twilio = Some(tracedesk_server::webhooks::TwilioHooks {
                account_sid: account_sid.clone(),
                auth_token: auth_token.clone(),
                public_base_url: base.clone(),
            });
            let twilio = tracedesk_twilio::Twilio::new(tracedesk_twilio::TwilioConfig {
                account_sid,
                auth_token,
                api_base_url,
                public_base_url: base.clone(),
                messaging_service_sid: None,
                timeout: std::time::Duration::from_millis(500),
            })
            .unwrap();
            MessagingSetup {
                carrier: Arc::new(twilio),
                sandbox: None,
                node: format!("test-{}", uuid::Uuid::now_v7().simple()),
                lease: std::time::Duration::from_secs(2),
                pace: None,
            }
        }
    };
    let app = App::start(
        cw,
        settings,
        Jobs {
            messaging: Some(messaging),
            routing: routing.map(|(workspace, clock)| RoutingSetup {
                workspace,
                clock,
                advertise: base.clone(),
            }),
            ..Jobs::default()
        },
    );
    if leads {
        // SQLite grants the lease at once; wait for the engine to be rebuilt.
        app.leading(std::time::Duration::from_secs(2)).await;
    }
    (base, app.spawn_on(listener))
}

impl Harness {
    /// Another server over the same database and keys, as after a restart.
    pub async fn restart(&self) -> Harness {
        let h = start(
            self.dir.clone(),
            AuthPolicy::default(),
            self.workspace.clone(),
            false,
        )
        .await;
        h.offset
            .store(self.offset.load(Ordering::Relaxed), Ordering::Relaxed);
        h
    }

    pub fn advance(&self, d: Duration) {
        self.offset.fetch_add(d.num_seconds(), Ordering::Relaxed);
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + Duration::seconds(self.offset.load(Ordering::Relaxed))
    }

    /// Creates a user and returns (id, API token).
    pub async fn user(&self, name: &str, role: Role, jurisdiction: &str) -> (uuid::Uuid, String) {
        let (v, _) = self
            .cw
            .staff()
            .add_user(NewUser::new(
                name,
                &format!("{name} Person"),
                role,
                jurisdiction,
            ))
            .await
            .unwrap();
        let t = self.cw.staff().create_token(name, v.id).await.unwrap();
        (v.id, t)
    }

    pub async fn call(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}
