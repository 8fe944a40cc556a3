//! `tracedesk bench dispatch`: routing end to end — tasks created through
//! the HTTP API, each event logged (sealed) in the database, offers
//! delivered to workers over Server-Sent Events, workers accepting and
//! completing over HTTP — on SQLite and PostgreSQL; then case work's
//! hand-off: positive lab results recorded and their case interviews routed.
//! The audit log is kept as `serve` keeps it (journaled on SQLite, direct
//! on PostgreSQL), so every routing step pays for its audit entry.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracedesk_casework::auditor::Auditor;
use tracedesk_casework::synthetic::Synthetic;
use tracedesk_casework::{Casework, NewUser, Settings};
use tracedesk_routing::{Event, Workspace};
use tracedesk_store::Store;
use tracedesk_store_postgres::PostgresStore;
use tracedesk_store_sqlite::SqliteStore;
use tracedesk_vault::{Keyring, Vault};

pub async fn run(
    workers: usize,
    clients: usize,
    seconds: u64,
    postgres: Option<String>,
) -> anyhow::Result<()> {
    println!(
        "tracedesk bench dispatch: {workers} workers on SSE, {clients} HTTP clients creating tasks, {seconds} s per backend"
    );
    let mut rows = Vec::new();
    let dir = tempfile::tempdir()?;
    let sqlite: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("bench.db")).await?);
    let journal = dir.path().join("audit-journal");
    rows.push((
        "SQLite",
        backend(sqlite, Some(&journal), workers, clients, seconds).await?,
    ));
    match postgres.or_else(|| std::env::var("TRACEDESK_TEST_DATABASE_URL").ok()) {
        Some(server) => {
            let (url, _) =
                tracedesk_store_postgres::testing::scratch_database(&server, "td_dispatch").await?;
            let pg: Arc<dyn Store> = Arc::new(PostgresStore::connect(&url).await?);
            rows.push((
                "PostgreSQL",
                backend(pg, None, workers, clients, seconds).await?,
            ));
        }
        None => println!(
            "(PostgreSQL skipped: pass --postgres postgres://… or set TRACEDESK_TEST_DATABASE_URL)"
        ),
    }
    println!(
        "\n| backend | tasks created through the API | offers delivered over SSE | create → offer on the stream, p50 / p99 | tasks completed | case work: {HANDOFF} positive lab results → case interviews routed |"
    );
    println!("|---|---:|---:|---:|---:|---|");
    for (name, f) in rows {
        println!(
            "| {name} | {:.0}/s | {:.0}/s | {:.1} / {:.1} ms | {} | recorded in {:.2} s, all routed by {:.2} s: {:.0} tasks/s |",
            f.created_per_s,
            f.offered_per_s,
            f.p50_ms,
            f.p99_ms,
            f.completed,
            f.intake_s,
            f.handoff_s,
            HANDOFF as f64 / f.handoff_s.max(1e-9)
        );
    }
    Ok(())
}

struct Figures {
    created_per_s: f64,
    offered_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    completed: u64,
    intake_s: f64,
    handoff_s: f64,
}

/// Positive lab results in the hand-off phase.
const HANDOFF: usize = 5_000;

async fn backend(
    store: Arc<dyn Store>,
    journal: Option<&std::path::Path>,
    workers: usize,
    clients: usize,
    seconds: u64,
) -> anyhow::Result<Figures> {
    store.migrate().await?;
    let vault = Arc::new(Vault::from_keyring(&Keyring::generate()));
    let key = Arc::new(tracedesk_store::audit::AuditKey::generate());
    let auditor = match journal {
        Some(dir) => Auditor::journaled(store.clone(), key, dir).await?.0,
        None => Auditor::new(store.clone(), key).await?,
    };
    let cw = Casework::new(store.clone(), vault.clone(), Settings::default()).with_auditor(auditor);
    // As `serve` assembles it: routing led from the leader loop.
    let app = tracedesk_server::App::start(
        cw.clone(),
        tracedesk_server::ServerSettings {
            body_limit: 1 << 20,
            max_batch: 100,
            ..Default::default()
        },
        tracedesk_server::Jobs {
            routing: Some(tracedesk_server::RoutingSetup {
                workspace: Workspace::public_health(),
                clock: Arc::new(|| chrono::Utc::now().timestamp_millis()),
                advertise: "http://127.0.0.1".into(),
            }),
            ..Default::default()
        },
    );
    anyhow::ensure!(
        app.leading(Duration::from_secs(30)).await,
        "routing did not start"
    );
    let dispatch = cw
        .dispatch()
        .ok_or_else(|| anyhow::anyhow!("routing stopped"))?;
    let (sup, _) = crate::demo::service_supervisor(&cw, "bench-supervisor").await?;
    let sup_token = cw.staff().create_token("bench-sup", sup).await?;
    let mut crew = Vec::new();
    for i in 0..workers {
        let (v, _) = cw
            .staff()
            .add_user(NewUser::new(
                &format!("bench-tracer-{i}"),
                &format!("Bench Tracer {i}"),
                tracedesk_identity::Role::Tracer,
                tracedesk_identity::jurisdiction::ROOT,
            ))
            .await
            .map_err(crate::admin::describe)?;
        let token = cw.staff().create_token(&format!("bench-{i}"), v.id).await?;
        dispatch
            .apply(Event::AddWorker {
                id: v.id,
                // As the server sets it: a worker's staff jurisdiction.
                attributes: serde_json::json!({"skills": ["contact_notification"], "languages": ["en"],
                    "jurisdiction": tracedesk_identity::jurisdiction::ROOT}),
                capacity: vec![],
            })
            .await?;
        crew.push((v.id, token));
    }
    let (base, server) = app.spawn_local().await?;
    let http = reqwest::Client::new();
    // When each task was sent, and when its offer arrived on a stream; the
    // server chooses task ids, so an offer can arrive before its creator
    // has read the id: the two are joined at the end.
    let created_at: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let offered_at: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let offered = Arc::new(AtomicU64::new(0));
    let completed = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);

    // Workers: listen, accept, complete.
    let mut crew_tasks = Vec::new();
    for (id, token) in crew {
        let (http, base) = (http.clone(), base.clone());
        let offered_at = offered_at.clone();
        let (offered, completed) = (offered.clone(), completed.clone());
        crew_tasks.push(tokio::spawn(async move {
            let mut res = http
                .get(format!("{base}/api/v1/routing/workers/{id}/events"))
                .bearer_auth(&token)
                .send()
                .await?;
            http.post(format!("{base}/api/v1/routing/workers/{id}/activity"))
                .bearer_auth(&token)
                .json(&serde_json::json!({"activity": "Available"}))
                .send()
                .await?;
            let mut buf = String::new();
            while Instant::now() < deadline {
                let chunk =
                    match tokio::time::timeout(Duration::from_millis(200), res.chunk()).await {
                        Ok(c) => c?,
                        Err(_) => continue,
                    };
                let Some(chunk) = chunk else { break };
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buf.find("\n\n") {
                    let block: String = buf.drain(..end + 2).collect();
                    if !block.contains("event: offered") {
                        continue;
                    }
                    let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: ")) else {
                        continue;
                    };
                    let v: serde_json::Value = serde_json::from_str(data)?;
                    let task = v["task"].as_str().unwrap_or_default().to_string();
                    offered_at
                        .lock()
                        .map_err(|_| anyhow::anyhow!("lock"))?
                        .insert(task.clone(), Instant::now());
                    offered.fetch_add(1, Ordering::Relaxed);
                    let r = v["reservation"].as_u64().unwrap_or_default();
                    http.post(format!("{base}/api/v1/routing/reservations/{r}/accept"))
                        .bearer_auth(&token)
                        .send()
                        .await?;
                    let done = http
                        .post(format!("{base}/api/v1/routing/tasks/{task}/complete"))
                        .bearer_auth(&token)
                        .send()
                        .await?;
                    if done.status().is_success() {
                        completed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            anyhow::Ok(())
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Clients: create tasks as fast as the API takes them.
    let created = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut makers = Vec::new();
    for _ in 0..clients {
        let (http, base, token) = (http.clone(), base.clone(), sup_token.clone());
        let (created, created_at) = (created.clone(), created_at.clone());
        makers.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let sent = Instant::now();
                let r = http
                    .post(format!("{base}/api/v1/routing/tasks"))
                    .bearer_auth(&token)
                    .json(&serde_json::json!({"channel": "voice",
                        "attributes": {"type": "contact_notification", "language": "en"}}))
                    .send()
                    .await?;
                anyhow::ensure!(r.status().as_u16() == 201, "create failed: {}", r.status());
                let body: serde_json::Value = r.json().await?;
                let id = body["task_id"].as_str().unwrap_or_default().to_string();
                created_at
                    .lock()
                    .map_err(|_| anyhow::anyhow!("lock"))?
                    .insert(id, sent);
                created.fetch_add(1, Ordering::Relaxed);
            }
            anyhow::Ok(())
        }));
    }
    for m in makers {
        m.await??;
    }
    let elapsed = start.elapsed().as_secs_f64();
    for c in crew_tasks {
        c.await??;
    }

    // Case work's hand-off: positive results recorded in batches, then
    // the feed routes their case interviews (no worker here takes them, so
    // they wait in their queue).
    let mut syn = Synthetic::new(7, chrono::Utc::now().date_naive());
    let labs: Vec<_> = (0..HANDOFF).map(|_| syn.positive_lab()).collect();
    let t0 = Instant::now();
    for batch in labs.chunks(500) {
        let out = cw.cases().ingest_lab_results(batch).await;
        anyhow::ensure!(
            out.iter().all(|o| o.error.is_none()),
            "a synthetic lab result was refused"
        );
    }
    let intake_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    while !store.unrouted_tasks(1).await?.is_empty() {
        anyhow::ensure!(
            t1.elapsed() < Duration::from_secs(120),
            "case-work tasks were not routed within two minutes"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // From the first result sent to the last interview routed.
    let handoff_s = t0.elapsed().as_secs_f64();
    // Only now: the server's jobs include the routing leader the hand-off needs.
    drop(server);
    if let Some(a) = cw.auditor() {
        a.flush().await?;
    }
    let mut lat: Vec<f64> = {
        let sent = created_at.lock().map_err(|_| anyhow::anyhow!("lock"))?;
        let arrived = offered_at.lock().map_err(|_| anyhow::anyhow!("lock"))?;
        arrived
            .iter()
            .filter_map(|(id, at)| {
                sent.get(id)
                    .map(|t0| at.saturating_duration_since(*t0).as_secs_f64() * 1000.0)
            })
            .collect()
    };
    lat.sort_by(f64::total_cmp);
    let pick = |p: f64| {
        lat.get(((lat.len().max(1) - 1) as f64 * p) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    Ok(Figures {
        created_per_s: created.load(Ordering::Relaxed) as f64 / elapsed,
        offered_per_s: offered.load(Ordering::Relaxed) as f64 / elapsed,
        p50_ms: pick(0.5),
        p99_ms: pick(0.99),
        completed: completed.load(Ordering::Relaxed),
        intake_s,
        handoff_s,
    })
}
