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
        crate::bench::build_kind()
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
        "\n| backend | queued (messages/s) | dispatched, sandbox (messages/s) | receipts applied (/s) | dispatched to a fake Twilio over HTTP (messages/s) |"
    );
    println!("|---|---:|---:|---:|---:|");
    for (name, [q, d, r, h]) in rows {
        println!("| {name} | {q:.0} | {d:.0} | {r:.0} | {h:.0} |");
    }
    Ok(())
}

/// (queued/s, dispatched/s, receipts/s, dispatched over HTTP/s).
async fn backend(store: Arc<dyn Store>, n: usize) -> anyhow::Result<[f64; 4]> {
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

    let queued = queue(&cw, &person, n, "A").await?;
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

    // Through the Twilio carrier to a local server speaking its protocol:
    // a form POST with Basic auth and a JSON answer per message.
    const SID: &str = "ACbe0c4000000000000000000000000000";
    let (api, seen) = tracedesk_twilio::fake::start(SID, Vec::new()).await?;
    let twilio = tracedesk_twilio::Twilio::new(tracedesk_twilio::TwilioConfig {
        account_sid: SID.into(),
        auth_token: "bench-token".into(),
        api_base_url: api,
        public_base_url: "https://tracedesk.example.org".into(),
        messaging_service_sid: None,
        timeout: std::time::Duration::from_secs(10),
    })
    .map_err(|e| anyhow::anyhow!(e))?;
    queue(&cw, &person, n, "B").await?;
    let t = Instant::now();
    loop {
        let stats = cw
            .messages()
            .dispatch_once(&twilio, "bench", BATCH, lease, None)
            .await?;
        if stats.claimed == 0 {
            break;
        }
    }
    let over_http = n as f64 / t.elapsed().as_secs_f64();
    let accepted = seen.lock().map(|s| s.accepted.len()).unwrap_or(0);
    anyhow::ensure!(accepted == n, "{accepted} of {n} reached the fake");
    Ok([queued, dispatched, applied, over_http])
}

/// Queues `n` texts to `person` from four callers at once, as API requests
/// would be; messages a second.
async fn queue(
    cw: &Casework,
    person: &tracedesk_casework::PersonRef,
    n: usize,
    tag: &str,
) -> anyhow::Result<f64> {
    let t = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for w in 0..4 {
        let (cw, person, tag) = (cw.clone(), person.clone(), tag.to_string());
        set.spawn(async move {
            for i in (w..n).step_by(4) {
                let input = SendInput {
                    body: Some(format!("Please call us back, reference {tag}{i}.")),
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
    Ok(n as f64 / t.elapsed().as_secs_f64())
}
