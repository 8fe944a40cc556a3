//! `tracedesk bench outbox`: the messaging path with its limits off —
//! queuing messages to a person (render, lint, consent check, seal, insert),
//! dispatching them through the sandbox carrier (claim, consent re-check,
//! open, send, record the outcome), and applying their delivery receipts —
//! on SQLite, and PostgreSQL when given.

use std::sync::Arc;
use std::time::Instant;
use tracedesk_casework::messaging::SendInput;
use tracedesk_casework::{Casework, LabResultInput, Settings};
use tracedesk_comms::sandbox::{Sandbox, SandboxConfig};
use tracedesk_store::Store;
use tracedesk_store_postgres::PostgresStore;
use tracedesk_store_sqlite::SqliteStore;
use tracedesk_vault::{Keyring, Vault};

/// Messages claimed a dispatch pass (the server's dispatcher claims 200).
const BATCH: u32 = 200;

pub async fn run(messages: usize, postgres: Option<String>, no_sqlite: bool) -> anyhow::Result<()> {
    println!(
        "tracedesk bench outbox: {messages} messages per backend, sandbox carrier, no pacing ({})",
        if cfg!(debug_assertions) {
            "debug build (use --release!)"
        } else {
            "release build"
        }
    );
    let mut rows = Vec::new();
    if !no_sqlite {
        let dir = tempfile::tempdir()?;
        let store = Arc::new(SqliteStore::open(&dir.path().join("bench.db")).await?);
        rows.push(("SQLite", backend(store, messages).await?));
    }
    match postgres.or_else(|| std::env::var("TRACEDESK_TEST_DATABASE_URL").ok()) {
        Some(server) => {
            let (url, _) =
                tracedesk_store_postgres::testing::scratch_database(&server, "td_outbox").await?;
            let store = Arc::new(PostgresStore::connect(&url).await?);
            rows.push(("PostgreSQL", backend(store, messages).await?));
        }
        None => println!(
            "(PostgreSQL skipped: pass --postgres postgres://… or set TRACEDESK_TEST_DATABASE_URL)"
        ),
    }
    println!(
        "\n| backend | queued (messages/s) | dispatched (messages/s) | receipts applied (/s) |"
    );
    println!("|---|---:|---:|---:|");
    for (name, [q, d, r]) in rows {
        println!("| {name} | {q:.0} | {d:.0} | {r:.0} |");
    }
    Ok(())
}

/// (queued/s, dispatched/s, receipts/s).
async fn backend(store: Arc<dyn Store>, n: usize) -> anyhow::Result<[f64; 3]> {
    store.migrate().await?;
    let vault = Arc::new(Vault::from_keyring(&Keyring::generate()));
    let cw = Casework::new(store, vault, Settings::default());
    let lab = LabResultInput {
        first_name: Some("Bench".into()),
        last_name: Some("Person".into()),
        dob: Some("1980-01-01".into()),
        phone: Some("+12125550123".into()),
        specimen_date: Some(chrono::Utc::now().date_naive().to_string()),
        result: Some("positive".into()),
        accession: Some("OUTBOX-1".into()),
        ..Default::default()
    };
    let out = cw.cases().ingest_lab_results(&[lab]).await;
    let person_id = out
        .first()
        .and_then(|o| o.person_id)
        .ok_or_else(|| anyhow::anyhow!("the bench person was not recorded"))?;
    let person = cw
        .cases()
        .person_ref(person_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the bench person is missing"))?;

    // Queued by four callers at once, as API requests would be.
    let t = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for w in 0..4 {
        let (cw, person) = (cw.clone(), person.clone());
        set.spawn(async move {
            for i in (w..n).step_by(4) {
                let input = SendInput {
                    body: Some(format!("Please call us back, reference {i}.")),
                    ..Default::default()
                };
                cw.messages().send(&person, "root", &input).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(r) = set.join_next().await {
        r??;
    }
    let queued = n as f64 / t.elapsed().as_secs_f64();

    let sandbox = Sandbox::new(SandboxConfig {
        latency: std::time::Duration::ZERO,
        ..Default::default()
    });
    let t = Instant::now();
    let lease = chrono::Duration::seconds(60);
    loop {
        let stats = cw
            .messages()
            .dispatch_once(&sandbox, "bench", BATCH, lease, None)
            .await?;
        if stats.claimed == 0 {
            break;
        }
    }
    let dispatched = n as f64 / t.elapsed().as_secs_f64();
    anyhow::ensure!(
        sandbox.accepted() == n,
        "{} of {n} sent",
        sandbox.accepted()
    );

    let t = Instant::now();
    let receipts = sandbox.due_receipts(Instant::now());
    for r in &receipts {
        cw.messages()
            .receipt(&r.sid, r.status, r.error_code.as_deref())
            .await?;
    }
    let applied = receipts.len() as f64 / t.elapsed().as_secs_f64();
    Ok([queued, dispatched, applied])
}
