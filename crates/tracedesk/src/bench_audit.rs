//! `tracedesk bench audit`: what the audit log costs, on SQLite.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tracedesk_casework::LabOutcomeView;
use tracedesk_casework::auditor::{Auditor, draft};
use tracedesk_casework::synthetic::Synthetic;
use tracedesk_casework::{Casework, Settings};
use tracedesk_server::ServerSettings;
use tracedesk_store::Store;
use tracedesk_store::audit::{Action, AuditKey};
use tracedesk_store_sqlite::SqliteStore;
use tracedesk_vault::{Keyring, Vault};
use uuid::Uuid;

/// Single-entry appends measured (one transaction each).
const SINGLE: usize = 5_000;
/// Single-entry appends measured in journaled mode.
const JOURNALED: usize = 100_000;
/// Entries per transaction for the bulk appends.
const BATCH: usize = 1_000;
/// Concurrent HTTP clients during the read tests.
const CLIENTS: [usize; 2] = [8, 64];

pub async fn run(entries: usize, seconds: u64) -> anyhow::Result<()> {
    anyhow::ensure!(entries > SINGLE, "--entries must exceed {SINGLE}");
    println!(
        "tracedesk bench audit (SQLite): {entries} entries, {seconds} s of reads per configuration"
    );
    let dir = tempfile::tempdir()?;
    let sqlite = Arc::new(SqliteStore::open(&dir.path().join("bench.db")).await?);
    let store: Arc<dyn Store> = sqlite.clone();
    store.migrate().await?;
    let key = Arc::new(AuditKey::generate());
    let auditor = Auditor::new(store.clone(), key.clone()).await?;
    let persons: Vec<Uuid> = (0..1_000).map(|_| Uuid::now_v7()).collect();
    let entry = |i: usize| {
        draft(
            "token:0195f3d2-7c1e-7000-8000-000000000000",
            Action::PhiRead,
            "case",
            Some(Uuid::now_v7()),
            Some(persons[i % persons.len()]),
            "GET /api/v1/cases/{id}",
        )
    };

    let start = Instant::now();
    for i in 0..SINGLE {
        auditor.record(vec![entry(i)]).await?;
    }
    let single_per_s = SINGLE as f64 / start.elapsed().as_secs_f64();

    let start = Instant::now();
    let mut i = SINGLE;
    while i < entries {
        let n = BATCH.min(entries - i);
        let batch: Vec<_> = (i..i + n).map(entry).collect();
        auditor.record(batch).await?;
        i += n;
    }
    let bulk_per_s = (entries - SINGLE) as f64 / start.elapsed().as_secs_f64();
    auditor.checkpoint().await?;

    let start = Instant::now();
    let summary = auditor
        .verify(None, |_| ())
        .await?
        .map_err(|b| anyhow::anyhow!("{b}"))?;
    let verify_s = start.elapsed().as_secs_f64();
    anyhow::ensure!(
        summary.entries as usize == entries,
        "verified {} entries",
        summary.entries
    );

    // API reads: the same store and cases, served without and with auditing.
    let vault = Arc::new(Vault::from_keyring(&Keyring::generate()));
    let plain = Casework::new(store.clone(), vault, Settings::default());
    let mut syn = Synthetic::new(7, chrono::Utc::now().date_naive());
    let labs: Vec<_> = (0..500).map(|_| syn.positive_lab()).collect();
    let case_ids = LabOutcomeView::cases(&plain.cases().ingest_lab_results(&labs).await);
    let (user, _) = crate::demo::service_supervisor(&plain, "bench-supervisor").await?;
    let token = plain.staff().create_token("bench", user).await?;
    // Direct: each group of entries commits to the database; journaled: as
    // `serve` runs by default on SQLite (crates/casework/src/audit_journal.rs).
    let direct = plain.clone().with_auditor(auditor.clone());
    let (journaled_auditor, _) =
        Auditor::journaled(store.clone(), key, &dir.path().join("audit-journal")).await?;
    let journaled = plain.clone().with_auditor(journaled_auditor.clone());
    let start = Instant::now();
    for i in 0..JOURNALED {
        journaled_auditor.record(vec![entry(i)]).await?;
    }
    let journaled_per_s = JOURNALED as f64 / start.elapsed().as_secs_f64();
    journaled_auditor.flush().await?;
    let mut read_figures = Vec::new();
    for clients in CLIENTS {
        let head_before = store.audit_head().await?.map_or(0, |h| h.0);
        // Each configuration runs twice, in the order A B C C B A, so drift
        // over the run (the log and the WAL grow) weighs on all three alike;
        // the WAL is checkpointed before each run so none inherits another's.
        let configs = [&plain, &journaled, &direct];
        let mut tally = [(0u64, 0f64); 3];
        for k in [0, 1, 2, 2, 1, 0] {
            journaled_auditor.flush().await?;
            sqlite.checkpoint().await?;
            let (n, secs) =
                reads(configs[k].clone(), &token, &case_ids, seconds / 2, clients).await?;
            tally[k].0 += n;
            tally[k].1 += secs;
        }
        let rate = |k: usize| tally[k].0 as f64 / tally[k].1;
        journaled_auditor.flush().await?;
        // Every audited read must have left its entry in the log.
        let logged = store.audit_head().await?.map_or(0, |h| h.0) - head_before;
        anyhow::ensure!(
            logged as u64 >= tally[1].0 + tally[2].0,
            "{logged} entries logged for {} audited reads",
            tally[1].0 + tally[2].0
        );
        read_figures.push((clients, rate(0), rate(1), rate(2), logged));
    }
    let summary = journaled_auditor
        .verify(None, |_| ())
        .await?
        .map_err(|b| anyhow::anyhow!("after the reads: {b}"))?;
    println!(
        "log after the reads: {} entries, chain intact",
        summary.entries
    );

    println!("\n| measure | figure |");
    println!("|---|---:|");
    println!("| append, one entry per transaction | {single_per_s:.0} entries/s |");
    println!("| append, {BATCH} entries per transaction | {bulk_per_s:.0} entries/s |");
    println!(
        "| append, one entry per call, journaled (durable in the journal, then moved into the log) | {journaled_per_s:.0} entries/s |"
    );
    println!(
        "| `audit verify` over {entries} entries | {verify_s:.2} s ({:.0} entries/s) |",
        entries as f64 / verify_s
    );
    for (clients, without, with, with_direct, logged) in read_figures {
        println!(
            "| GET /api/v1/cases/{{id}}, {clients} clients, no audit | {without:.0} requests/s |"
        );
        println!(
            "| GET /api/v1/cases/{{id}}, {clients} clients, audited (journaled, as `serve` runs) | {with:.0} requests/s |"
        );
        println!(
            "| GET /api/v1/cases/{{id}}, {clients} clients, audited (direct group commit) | {with_direct:.0} requests/s |"
        );
        println!(
            "| audit overhead on reads, {clients} clients | **{:.1}%** journaled, {:.1}% direct |",
            (1.0 - with / without) * 100.0,
            (1.0 - with_direct / without) * 100.0
        );
        println!(
            "| entries the audited reads at {clients} clients added to the log (both audited runs) | {logged} |"
        );
    }
    Ok(())
}

/// Requests of `GET /api/v1/cases/{id}` completed over about `seconds`, and
/// the seconds they took.
async fn reads(
    cw: Casework,
    token: &str,
    ids: &[Uuid],
    seconds: u64,
    clients: usize,
) -> anyhow::Result<(u64, f64)> {
    let (base, server) = serve_locally(cw).await?;
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let http = reqwest::Client::new();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (http, base, token, done) =
            (http.clone(), base.clone(), token.to_string(), done.clone());
        let ids = ids.to_vec();
        tasks.push(tokio::spawn(async move {
            let mut k = c;
            while Instant::now() < deadline {
                let id = ids[k % ids.len()];
                k += clients;
                let r = http
                    .get(format!("{base}/api/v1/cases/{id}"))
                    .bearer_auth(&token)
                    .send()
                    .await?;
                anyhow::ensure!(r.status().is_success(), "read failed: {}", r.status());
                r.bytes().await?;
                done.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        }));
    }
    let start = Instant::now();
    for t in tasks {
        t.await??;
    }
    let elapsed = start.elapsed().as_secs_f64();
    drop(server);
    Ok((done.load(Ordering::Relaxed), elapsed))
}

/// Serves `cw` on a free local port for a bench, as `serve` assembles it
/// (without routing); returns its base URL and the running server (dropping
/// it stops the server).
pub async fn serve_locally(
    cw: Casework,
) -> anyhow::Result<(String, tracedesk_server::assembly::Running)> {
    let app = tracedesk_server::App::start(
        cw,
        ServerSettings {
            body_limit: 1 << 20,
            max_batch: 100,
            ..ServerSettings::default()
        },
        tracedesk_server::Jobs::default(),
    );
    Ok(app.spawn_local().await?)
}
