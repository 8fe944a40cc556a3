//! One way to put a running tracedesk together: case work → router →
//! background jobs (the routing leader loop, the audit checkpoint timer, the
//! daily retention purge). `serve`, `demo`, every bench and the test harness
//! start the same [`App`], so tests run what production runs.

use crate::{ServerSettings, app};
use axum::Router;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tracedesk_casework::Casework;
use tracedesk_casework::retention::RetentionPolicy;

/// A failure to serve or to sign the log's head at shutdown.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Routing on this node: lead whenever the lease allows.
#[derive(Clone)]
pub struct RoutingSetup {
    pub workspace: tracedesk_routing::Workspace,
    /// Routing's clock in milliseconds (tests move it).
    pub clock: tracedesk_casework::dispatch::Millis,
    /// The URL other nodes forward routing requests to while this one leads.
    pub advertise: String,
}

/// What runs beside the router.
#[derive(Clone, Default)]
pub struct Jobs {
    pub routing: Option<RoutingSetup>,
    /// Purge by this policy once a day (first a minute after start).
    pub retention: Option<RetentionPolicy>,
    /// Sign the audit log's head this often while entries arrive, and once
    /// at shutdown.
    pub checkpoint_every: Option<Duration>,
    /// Dispatch the outbox through this carrier.
    pub messaging: Option<MessagingSetup>,
    /// Schedule daily check-ins this often (on the routing leader only,
    /// so two nodes never send one contact two).
    pub checkins: Option<Duration>,
}

/// The outbox's dispatcher on this node.
#[derive(Clone)]
pub struct MessagingSetup {
    pub carrier: Arc<dyn tracedesk_comms::Carrier>,
    /// The sandbox behind `carrier`, whose receipts the dispatcher applies.
    pub sandbox: Option<Arc<tracedesk_comms::sandbox::Sandbox>>,
    /// This node's name in its claims (unique among the nodes).
    pub node: String,
    /// How long a claim lasts before another node may take the message
    /// (as uncertain) — longer than any one carrier call.
    pub lease: Duration,
    /// Segments a second for the sender and for the account (the
    /// carrier's limits, kept by this node); `None`: as fast as it goes.
    pub pace: Option<(f64, f64)>,
}

impl MessagingSetup {
    /// The embedded default: the sandbox carrier.
    pub fn sandbox(config: tracedesk_comms::sandbox::SandboxConfig) -> Self {
        let sandbox = Arc::new(tracedesk_comms::sandbox::Sandbox::new(config));
        Self {
            carrier: sandbox.clone(),
            sandbox: Some(sandbox),
            node: format!("node-{}", uuid::Uuid::now_v7().simple()),
            lease: Duration::from_secs(60),
            pace: None,
        }
    }
}

/// A started application: its router and its background jobs.
pub struct App {
    cw: Casework,
    router: Router,
    jobs: Vec<JoinHandle<()>>,
}

impl App {
    /// Builds the router over `cw` and starts the jobs.
    pub fn start(cw: Casework, settings: ServerSettings, jobs: Jobs) -> App {
        let settings = ServerSettings {
            retention: jobs.retention,
            ..settings
        };
        let router = app(cw.clone(), settings);
        let mut running = Vec::new();
        if let Some(r) = jobs.routing {
            running.push(tokio::spawn(tracedesk_casework::leader::lead(
                cw.clone(),
                r.workspace,
                r.clock,
                r.advertise,
            )));
        }
        if let Some(policy) = jobs.retention {
            running.push(daily_purge(cw.clone(), policy));
            running.push(hourly_monitoring_end(cw.clone()));
        }
        if let Some(m) = jobs.messaging {
            running.push(dispatch_outbox(cw.clone(), m));
        }
        if let Some(every) = jobs.checkins {
            running.push(schedule_checkins(cw.clone(), every));
        }
        if let (Some(every), Some(a)) = (jobs.checkpoint_every, cw.auditor().cloned()) {
            running.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                loop {
                    tick.tick().await;
                    if let Err(e) = a.checkpoint().await {
                        tracing::warn!(error = %e, "audit checkpoint failed");
                    }
                }
            }));
        }
        App {
            cw,
            router,
            jobs: running,
        }
    }

    pub fn casework(&self) -> &Casework {
        &self.cw
    }

    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// Resolves once this node routes (at once on SQLite; on PostgreSQL when
    /// it holds the lease), or after `limit`; says which.
    pub async fn leading(&self, limit: Duration) -> bool {
        let until = tokio::time::Instant::now() + limit;
        while self.cw.dispatch().is_none() {
            if tokio::time::Instant::now() >= until {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }

    /// Serves on `listener` (HTTPS when `tls` is given) until `shutdown`
    /// resolves; then ends live streams, stops the jobs and signs the log's
    /// head.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), BoxError> {
        let closing = self.cw.clone();
        // Live streams end when the server stops, so it can finish.
        let stopping = async move {
            shutdown.await;
            if let Some(d) = closing.dispatch() {
                d.close();
            }
        };
        let router = self.router.clone();
        match tls {
            Some(t) => crate::tls::serve(listener, router, t, stopping).await?,
            None => crate::serve(listener, router, stopping).await?,
        }
        self.stop().await
    }

    /// Stops the jobs and signs the audit log's head.
    pub async fn stop(mut self) -> Result<(), BoxError> {
        for j in self.jobs.drain(..) {
            j.abort();
        }
        if let Some(a) = self.cw.auditor() {
            a.checkpoint().await?;
        }
        Ok(())
    }

    /// Serves on a free local port in the background (tests and benches);
    /// gives its base URL. The jobs stop when the returned handle drops.
    pub async fn spawn_local(self) -> std::io::Result<(String, Running)> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        Ok((base, self.spawn_on(listener)))
    }

    /// Serves on `listener` in the background; the jobs stop when the
    /// returned handle drops.
    pub fn spawn_on(mut self, listener: tokio::net::TcpListener) -> Running {
        let server = tokio::spawn(crate::serve(
            listener,
            self.router.clone(),
            std::future::pending(),
        ));
        let jobs = std::mem::take(&mut self.jobs);
        Running { server, jobs }
    }
}

impl Drop for App {
    /// An app dropped without `stop` leaves nothing running behind it.
    fn drop(&mut self) {
        for j in &self.jobs {
            j.abort();
        }
    }
}

/// A server started by [`App::spawn_local`]; dropping it stops everything.
pub struct Running {
    server: JoinHandle<std::io::Result<()>>,
    jobs: Vec<JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.server.abort();
        for j in &self.jobs {
            j.abort();
        }
    }
}

/// The outbox's dispatcher: claims and sends due messages (at once again
/// while there is a backlog, else every quarter second) and applies the
/// sandbox's receipts and its personas' answers. A failed pass is logged and tried again: nothing is
/// lost, the messages stay queued or claimed until their lease ends.
fn dispatch_outbox(cw: Casework, m: MessagingSetup) -> JoinHandle<()> {
    const BATCH: u32 = 200;
    tokio::spawn(async move {
        let lease = chrono::Duration::from_std(m.lease).unwrap_or(chrono::Duration::seconds(60));
        let mut pace = m.pace.map(|(rate, cap)| {
            tracedesk_comms::throughput::Pace::new(rate, cap, std::time::Instant::now())
        });
        loop {
            let msgs = cw.messages();
            let pass = msgs.dispatch_once(m.carrier.as_ref(), &m.node, BATCH, lease, pace.as_mut());
            let busy = match pass.await {
                Ok(stats) => stats.claimed as u32 == BATCH,
                Err(e) => {
                    tracing::warn!(error = %e, "outbox dispatch failed; trying again");
                    false
                }
            };
            if let Some(sb) = &m.sandbox {
                for r in sb.due_receipts(std::time::Instant::now()) {
                    if let Err(e) = msgs
                        .receipt(&r.sid, r.status, r.error_code.as_deref())
                        .await
                    {
                        tracing::warn!(error = %e, "a sandbox receipt could not be applied");
                    }
                }
                // The personas' answers, taken in as a carrier's would be.
                for r in sb.due_replies(std::time::Instant::now()) {
                    let taken = match r.channel.as_str() {
                        "voice" => msgs.sandbox_keypress(&r.from, &r.body).await.map(|_| ()),
                        _ => msgs
                            .receive_text(&tracedesk_casework::messaging::InboundText {
                                from: r.from,
                                to: r.to.unwrap_or_default(),
                                body: r.body,
                                provider_sid: format!("SBP{}", uuid::Uuid::now_v7().simple()),
                            })
                            .await
                            .map(|_| ()),
                    };
                    if let Err(e) = taken {
                        tracing::warn!(error = %e, "a sandbox persona's answer could not be taken");
                    }
                }
            }
            if !busy {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    })
}

/// Daily check-ins: every `every`, the routing leader sends those due
/// (and once an hour enrolls any contact record in monitoring that was
/// missed). A failed pass is logged and tried again; a round is written
/// whole or not at all, so nothing is sent twice or lost.
fn schedule_checkins(cw: Casework, every: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        let mut swept: Option<tokio::time::Instant> = None;
        loop {
            tick.tick().await;
            if cw.dispatch().is_none() {
                continue;
            }
            let sweep = swept.is_none_or(|t| t.elapsed() >= Duration::from_secs(3600));
            match cw.messages().schedule_checkins(sweep, |_| {}).await {
                Ok(s) => {
                    if sweep {
                        swept = Some(tokio::time::Instant::now());
                    }
                    if s.due > 0 {
                        tracing::info!(
                            checkins = s.checkins,
                            completed = s.completed,
                            non_responder_tasks = s.non_responder_tasks,
                            unreachable = s.unreachable,
                            "daily check-ins scheduled"
                        );
                    }
                }
                Err(e) => tracing::warn!(error = %e, "scheduling check-ins failed; trying again"),
            }
        }
    })
}

/// Contacts whose quarantine is over leave monitoring by themselves (their
/// record completes), checked every hour so a day's end is never missed.
fn hourly_monitoring_end(cw: Casework) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(3600));
        loop {
            every.tick().await;
            match cw.cases().end_monitoring().await {
                Ok(ended) if !ended.is_empty() => {
                    tracing::info!(contacts = ended.len(), "monitoring ended with quarantine")
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "ending monitoring failed; retrying in an hour")
                }
            }
        }
    })
}

fn daily_purge(cw: Casework, policy: RetentionPolicy) -> JoinHandle<()> {
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(60)).await;
        let mut every = tokio::time::interval(Duration::from_secs(24 * 3600));
        loop {
            every.tick().await;
            match cw
                .retention()
                .purge(Some(policy), false, "retention-job", |_| {})
                .await
            {
                Ok(r) => tracing::info!(
                    persons = r.persons,
                    cases = r.cases,
                    lab_results = r.lab_results,
                    exposures = r.exposures,
                    "retention purge done"
                ),
                Err(e) => tracing::warn!(error = %e, "retention purge failed; retrying tomorrow"),
            }
        }
    })
}
