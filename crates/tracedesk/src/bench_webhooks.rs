//! `tracedesk bench webhooks`: Twilio's inbound-SMS webhook under load from
//! a real load generator (wrk, Debian's `wrk` package) over loopback — each
//! request a distinct, correctly signed delivery (its own `MessageSid`), so
//! every one is checked, parsed, audited and stored, then answered. The
//! senders are 20,000 numbers tracedesk texted before (replies, the
//! everyday flood), or with `--senders unknown` a new number each time (each
//! text brings a stand-in and a triage task). Afterwards the stored inbound
//! messages are counted against the answered requests (nothing answered
//! 200 may be missing) and the server's peak resident memory is read.
//! SQLite, and PostgreSQL when given. The server runs in this process, as
//! `serve` assembles it; wrk is a separate process.

use std::io::Write;
use std::sync::Arc;
use tracedesk_casework::auditor::Auditor;
use tracedesk_casework::{Casework, Settings};
use tracedesk_server::webhooks::TwilioHooks;
use tracedesk_server::{App, Jobs, ServerSettings};
use tracedesk_store::Store;
use tracedesk_store_postgres::PostgresStore;
use tracedesk_store_sqlite::SqliteStore;
use tracedesk_vault::{Keyring, Vault};

const ACCOUNT_SID: &str = "ACbench0000000000000000000000000000";
const AUTH_TOKEN: &str = "bench-auth-token-0123456789abcdef";

/// wrk's script: each thread sends its own share of the pre-signed
/// requests (line k goes to thread k mod threads), never one twice.
const SCRIPT: &str = r#"
local threads = {}
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
local reqs = {}
local i = 0
function init(args)
  local file, nthreads = args[1], tonumber(args[2])
  local n = 0
  for line in io.lines(file) do
    if n % nthreads == id then
      local tab = line:find("\t")
      reqs[#reqs + 1] = wrk.format("POST", "/webhooks/twilio/sms", {
        ["Content-Type"] = "application/x-www-form-urlencoded",
        ["X-Twilio-Signature"] = line:sub(1, tab - 1),
      }, line:sub(tab + 1))
    end
    n = n + 1
  end
end
function request()
  i = i + 1
  if i > #reqs then
    wrk.thread:stop()
  end
  return reqs[math.min(i, #reqs)]
end
"#;

/// Numbers the `known` senders text from (each texted once before the run).
const KNOWN: usize = 20_000;

pub async fn run(
    seconds: u64,
    connections: usize,
    known: bool,
    postgres: Option<String>,
    no_sqlite: bool,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        std::process::Command::new("wrk")
            .arg("--version")
            .output()
            .is_ok(),
        "wrk is not installed (Debian: apt-get install wrk)"
    );
    println!(
        "tracedesk bench webhooks: signed inbound SMS webhooks for {seconds} s, {connections} connections, from {}, wrk over loopback ({})",
        if known {
            "20,000 numbers texted before"
        } else {
            "a new unknown number each"
        },
        crate::bench::build_kind()
    );
    let mut rows = Vec::new();
    if !no_sqlite {
        let dir = tempfile::tempdir()?;
        let store = Arc::new(SqliteStore::open(&dir.path().join("bench.db")).await?);
        rows.push((
            "SQLite (audit journal)",
            backend(store, dir.path(), true, seconds, connections, known).await?,
        ));
    }
    match postgres.or_else(|| std::env::var("TRACEDESK_TEST_DATABASE_URL").ok()) {
        Some(server) => {
            let dir = tempfile::tempdir()?;
            let (url, _) =
                tracedesk_store_postgres::testing::scratch_database(&server, "td_webhooks").await?;
            let store = Arc::new(PostgresStore::connect(&url).await?);
            rows.push((
                "PostgreSQL",
                backend(store, dir.path(), false, seconds, connections, known).await?,
            ));
        }
        None => println!(
            "(PostgreSQL skipped: pass --postgres postgres://… or set TRACEDESK_TEST_DATABASE_URL)"
        ),
    }
    println!(
        "\n| backend | requests/s | p50 (ms) | p99 (ms) | answered 200 | stored | other answers | peak RSS (MiB) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (name, f) in rows {
        println!(
            "| {name} | {:.0} | {} | {} | {} | {} | {} | {:.0} |",
            f.per_second, f.p50, f.p99, f.answered, f.stored, f.other, f.peak_mib
        );
    }
    Ok(())
}

struct Figures {
    per_second: f64,
    p50: String,
    p99: String,
    answered: u64,
    stored: i64,
    other: u64,
    peak_mib: f64,
}

async fn backend(
    store: Arc<dyn Store>,
    dir: &std::path::Path,
    journal: bool,
    seconds: u64,
    connections: usize,
    known: bool,
) -> anyhow::Result<Figures> {
    store.migrate().await?;
    let vault = Arc::new(Vault::from_keyring(&Keyring::generate()));
    let key = Arc::new(tracedesk_store::audit::AuditKey::generate());
    // As `serve` runs: the audit journal on SQLite, direct appends on
    // PostgreSQL.
    let auditor = if journal {
        Auditor::journaled(store.clone(), key, &dir.join("audit-journal"))
            .await?
            .0
    } else {
        Auditor::new(store.clone(), key).await?
    };
    if known {
        texted(store.as_ref(), &vault).await?;
    }
    let cw = Casework::new(store.clone(), vault, Settings::default()).with_auditor(auditor);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);

    // Twice what the run can take at 10,000 a second: never one sent twice.
    let requests = (seconds as usize * 20_000).max(10_000);
    let file = dir.join("requests.tsv");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file)?);
        let url = format!("{base}/webhooks/twilio/sms");
        for i in 0..requests {
            let params = inbound(i, known);
            let sig = tracedesk_comms::signature::compute(AUTH_TOKEN, &url, &params);
            let body = serde_urlencoded::to_string(&params)?;
            writeln!(out, "{sig}\t{body}")?;
        }
        out.flush()?;
    }
    let script = dir.join("webhooks.lua");
    std::fs::write(&script, SCRIPT)?;

    let app = App::start(
        cw,
        ServerSettings {
            body_limit: 64 * 1024,
            max_batch: 100,
            twilio: Some(TwilioHooks {
                account_sid: ACCOUNT_SID.into(),
                auth_token: AUTH_TOKEN.into(),
                public_base_url: base.clone(),
            }),
            ..ServerSettings::default()
        },
        Jobs::default(),
    );
    let running = app.spawn_on(listener);
    let threads = 2;
    let mut wrk = std::process::Command::new("wrk");
    wrk.args([
        "-t",
        &threads.to_string(),
        "-c",
        &connections.to_string(),
        "-d",
        &format!("{seconds}s"),
        "--latency",
        "-s",
    ])
    .arg(&script)
    .arg(&base)
    .arg("--")
    .arg(&file)
    .arg(threads.to_string());
    let out = tokio::task::spawn_blocking(move || wrk.output()).await??;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    anyhow::ensure!(out.status.success(), "wrk failed: {text}");
    drop(running);
    let total = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0);
    let other = number_after(&text, "Non-2xx or 3xx responses:").unwrap_or(0.0) as u64;
    let per_second = number_after(&text, "Requests/sec:").unwrap_or(0.0);
    let stored = store
        .message_counts()
        .await?
        .into_iter()
        .find(|(s, _)| s == "received")
        .map_or(0, |(_, n)| n);
    let answered = total.saturating_sub(other);
    // A request answered 200 is stored; one cut off by the end of the run
    // may be stored without its answer counted.
    anyhow::ensure!(
        stored as u64 >= answered,
        "{answered} answered 200 but {stored} stored"
    );
    Ok(Figures {
        per_second,
        p50: percentile(&text, "50%"),
        p99: percentile(&text, "99%"),
        answered,
        stored,
        other,
        peak_mib: peak_rss_mib(),
    })
}

/// The `i`th number: +1 347 2xx-xxxx onwards.
fn number(i: usize) -> String {
    format!("+1347{}{:04}", 200 + (i / 10_000) % 800, i % 10_000)
}

/// One message sent to each of the `known` numbers, as the outbox leaves
/// it (sealed, sent), so their replies find whom they answer.
async fn texted(store: &dyn Store, vault: &Vault) -> anyhow::Result<()> {
    use tracedesk_store::messages::status;
    use tracedesk_vault::{BlindKind, FieldContext};
    let now = chrono::Utc::now();
    let rows: Vec<tracedesk_store::MessageRow> = (0..KNOWN)
        .map(|i| {
            let id = uuid::Uuid::now_v7();
            let ctx =
                |column| FieldContext::new(tracedesk_store::schema::MESSAGES.name, column, id);
            let phone = number(i);
            tracedesk_store::MessageRow {
                id,
                direction: "out".into(),
                channel: "sms".into(),
                status: status::SENT.into(),
                priority: 2,
                person_id: None,
                task_id: None,
                jurisdiction: Some("root".into()),
                template: Some("checkin".into()),
                sender: Some("+12125550100".into()),
                address_bidx: vault.blind(BlindKind::Phone, &phone),
                key_version: vault.current_version(),
                address: vault.seal_str(&ctx("address"), &phone),
                body: vault.seal_str(&ctx("body"), "Daily check-in: any symptoms today?"),
                segments: 1,
                provider_sid: Some(format!("SMbenchout{i:024}")),
                error_code: None,
                attempts: 1,
                next_attempt_at: now,
                claimed_by: None,
                claim_until: None,
                created_at: now,
                updated_at: now,
                expires_at: now + chrono::Duration::days(1),
            }
        })
        .collect();
    for chunk in rows.chunks(2_000) {
        store.insert_messages(chunk).await?;
    }
    Ok(())
}

/// One inbound text as Twilio posts it: from one of the `known` numbers,
/// or from a new one.
fn inbound(i: usize, known: bool) -> Vec<(String, String)> {
    let from = number(if known { i % KNOWN } else { KNOWN + i });
    let sid = format!("SMbench{i:026}");
    [
        ("ToCountry", "US"),
        ("ToState", "NY"),
        ("SmsMessageSid", sid.as_str()),
        ("NumMedia", "0"),
        ("ToCity", "NEW YORK"),
        ("FromZip", "11201"),
        ("SmsSid", sid.as_str()),
        ("FromState", "NY"),
        ("SmsStatus", "received"),
        ("FromCity", "BROOKLYN"),
        ("Body", "No symptoms today, thank you"),
        ("FromCountry", "US"),
        ("To", "+12125550100"),
        ("ToZip", "10007"),
        ("NumSegments", "1"),
        ("MessageSid", sid.as_str()),
        ("AccountSid", ACCOUNT_SID),
        ("From", from.as_str()),
        ("ApiVersion", "2010-04-01"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The first number after `label` in wrk's report.
fn number_after(text: &str, label: &str) -> Option<f64> {
    let rest = &text[text.find(label)? + label.len()..];
    let rest = rest.trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// A latency percentile from wrk's distribution, in milliseconds.
fn percentile(text: &str, p: &str) -> String {
    text.lines()
        .map(str::trim)
        .find(|l| l.starts_with(p))
        .and_then(|l| l.split_whitespace().nth(1))
        .map(|v| {
            let (n, unit) = v.split_at(v.find(|c: char| c.is_alphabetic()).unwrap_or(v.len()));
            let n: f64 = n.parse().unwrap_or(f64::NAN);
            let ms = match unit {
                "us" => n / 1000.0,
                "s" => n * 1000.0,
                _ => n,
            };
            format!("{ms:.2}")
        })
        .unwrap_or_else(|| "?".into())
}

/// This process's peak resident memory (VmHWM), in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}
