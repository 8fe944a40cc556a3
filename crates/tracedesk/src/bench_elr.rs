//! `tracedesk bench elr`: HL7 v2 lab reports.
//!
//! 1. Parse throughput on one file of ORU^R01 messages: tracedesk's parser
//!    (each message parsed and mapped to its lab result) beside python-hl7
//!    (`hl7.parse` of each message and the same fields read), run on the
//!    same file in the same run.
//! 2. End to end over MLLP on SQLite, as `serve` runs it (audit journal):
//!    senders on their own connections, each sending a message and waiting
//!    for its ACK (parse, map, validate, seal, match, store, audit, ACK);
//!    messages per second and the latency each sender saw.

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Instant;
use tracedesk_casework::auditor::Auditor;
use tracedesk_casework::{Casework, Settings};
use tracedesk_elr::Elr;
use tracedesk_hl7::Message;
use tracedesk_hl7::mllp::{Decoder, frame};
use tracedesk_store::Store;
use tracedesk_store_sqlite::SqliteStore;
use tracedesk_vault::{Keyring, Vault};

const FIRST: [&str; 12] = [
    "Maria", "James", "Aisha", "Wei", "Olga", "Carlos", "Fatima", "John", "Priya", "Kwame",
    "Sofia", "Dmitri",
];
const LAST: [&str; 12] = [
    "Alvarez", "Smith", "Okafor", "Chen", "Ivanova", "Garcia", "Haddad", "Brown", "Patel",
    "Mensah", "Rossi", "Petrov",
];

/// The `i`th synthetic lab report, shaped like a reference lab's ELR
/// message (SFT, PID with repetitions, ORC, OBR, two OBX, SPM, a Z-segment).
pub fn message(i: usize, today: chrono::NaiveDate) -> String {
    let first = FIRST[i % FIRST.len()];
    let last = LAST[(i / FIRST.len()) % LAST.len()];
    let dob = format!("19{:02}{:02}{:02}", 40 + i % 60, 1 + i % 12, 1 + i % 28);
    let collected = (today - chrono::Duration::days(1 + (i % 7) as i64)).format("%Y%m%d");
    let (code, text) = if i.is_multiple_of(3) {
        ("260373001", "Detected")
    } else {
        ("260415000", "Not detected")
    };
    [
        format!("MSH|^~\\&|QLIS^2.16.840.1.113883.3.8589.4.1.22^ISO|Northwind Reference Lab^05D0000001^CLIA|ELR^2.16.840.1.114222.4.3.3.2.1.2^ISO|DOH^2.16.840.1.114222.4.1.214104^ISO|{collected}101522-0500||ORU^R01^ORU_R01|BENCH-{i:08}|P|2.5.1|||NE|NE|USA||||PHLabReport-NoAck^ELR251R1_Rcvr_Prof^2.16.840.1.113883.9.11^ISO"),
        "SFT|Northwind Software^L^^^^CLIA&2.16.840.1.113883.4.7&ISO^XX^^^05D0000001|4.2|QLIS|4201||20200801".to_string(),
        format!("PID|1||MRN{i:08}^^^Riverside Hospital&2.16.840.1.113883.3.72&ISO^MR~PI{i:08}^^^Northwind&2.16.840.1.113883.3.8589&ISO^PI||{last}^{first}^Q^^^^L||{dob}|F||2106-3^White^CDCREC|{n} Hudson St^Apt {a}C^New York^NY^10014^USA^H||^PRN^PH^^1^212^{p:07}~^NET^Internet^p{i}@example.org|||||||||H^Hispanic or Latino^HL70189", n = 1 + i % 900, a = 1 + i % 9, p = 5_550_000 + i % 10_000),
        format!("ORC|RE|PL-{i}^Riverside EHR^2.16.840.1.113883.3.72^ISO|NW-{i:08}^Northwind Reference Lab^05D0000001^CLIA|||||||||1245319599^Okafor^Chidi^^^Dr^^^NPI&2.16.840.1.113883.4.6&ISO^L^^^NPI"),
        format!("OBR|1|PL-{i}^Riverside EHR^2.16.840.1.113883.3.72^ISO|NW-{i:08}^Northwind Reference Lab^05D0000001^CLIA|94500-6^SARS-CoV-2 (COVID-19) RNA [Presence] in Respiratory specimen by NAA with probe detection^LN|||{collected}093000-0500|||||||||1245319599^Okafor^Chidi^^^Dr^^^NPI&2.16.840.1.113883.4.6&ISO^L^^^NPI||||||{collected}100000-0500|||F"),
        format!("OBX|1|CWE|94500-6^SARS-CoV-2 (COVID-19) RNA [Presence] in Respiratory specimen by NAA with probe detection^LN||{code}^{text}^SCT|||A|||F|||{collected}093000-0500|||||{collected}095500-0500||||Northwind Reference Lab^L^^^^CLIA&2.16.840.1.113883.4.7&ISO^XX^^^05D0000001|55 Lab Way^^Secaucus^NJ^07094"),
        format!("OBX|2|CWE|95419-8^Has symptoms related to condition of interest^LN||N^No^HL70136||||||F|||{collected}093000-0500"),
        format!("SPM|1|^NW-{i:08}&Northwind Reference Lab&05D0000001&CLIA||258500001^Nasopharyngeal swab^SCT|||||||||||||{collected}093000-0500|{collected}080000-0500"),
        "ZNW|1|internal routing code".to_string(),
    ]
    .join("\r")
        + "\r"
}

/// python-hl7's side: each message parsed and the same fields read.
const PYTHON: &str = r#"
import sys, time, hl7
text = open(sys.argv[1], newline="").read()
msgs = [m for m in text.split("\n") if m]
t = time.perf_counter()
n = 0
for m in msgs:
    h = hl7.parse(m)
    pid = h.segment("PID")
    obx = h.segments("OBX")[0]
    spm = h.segment("SPM")
    obr = h.segment("OBR")
    fields = (str(pid[5][0][0]), str(pid[5][0][1]), str(pid[7]), str(pid[13]), str(pid[11]),
              str(obx[3][0][0]), str(obx[5][0][0]), str(obx[23][0][0]), str(obr[3][0][0]), str(spm[17]))
    n += 1
print(n, time.perf_counter() - t)
"#;

pub async fn run(messages: usize, senders: usize, python: String) -> anyhow::Result<()> {
    println!(
        "tracedesk bench elr: {messages} messages, {senders} MLLP senders ({} build)",
        crate::bench::build_kind()
    );
    let today = chrono::Utc::now().date_naive();
    let all: Vec<String> = (0..messages).map(|i| message(i, today)).collect();
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("messages.hl7");
    // One message per line for python-hl7 (its parser takes CR segments).
    std::fs::write(&file, all.join("\n"))?;
    let bytes = all.iter().map(String::len).sum::<usize>();
    println!("\n| parser | messages/s | MB/s | × python-hl7 |\n|---|---:|---:|---:|");
    // tracedesk, best of three passes over the file (parse and map).
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let mut mapped = 0usize;
        for m in &all {
            let msg = Message::parse(m)?;
            mapped += tracedesk_elr::map::map_oru(&msg, None)
                .map(|r| r.len())
                .unwrap_or(0);
        }
        anyhow::ensure!(mapped == all.len(), "every message maps to one result");
        best = best.min(t.elapsed().as_secs_f64());
    }
    let ours = all.len() as f64 / best;
    let theirs = python_rate(&python, &file)?;
    println!(
        "| tracedesk (parse and map to a lab result) | {ours:.0} | {:.1} | {} |",
        bytes as f64 / best / 1e6,
        theirs
            .map(|p| format!("{:.1}", ours / p))
            .unwrap_or_else(|| "–".into())
    );
    match theirs {
        Some(p) => println!(
            "| python-hl7 0.4.5 (`hl7.parse` and the same fields) | {p:.0} | {:.1} | 1.0 |",
            bytes as f64 / (all.len() as f64 / p) / 1e6
        ),
        None => println!(
            "| python-hl7 | not run: `{python} -c 'import hl7'` failed (pip install hl7) | | |"
        ),
    }
    end_to_end(&all, senders).await
}

/// Messages per second python-hl7 parses, best of three runs.
fn python_rate(python: &str, file: &std::path::Path) -> anyhow::Result<Option<f64>> {
    let script = file.with_extension("py");
    std::fs::write(&script, PYTHON)?;
    let mut best: Option<f64> = None;
    for _ in 0..3 {
        let out = match std::process::Command::new(python)
            .arg(&script)
            .arg(file)
            .output()
        {
            Ok(o) if o.status.success() => o,
            _ => return Ok(None),
        };
        let line = String::from_utf8_lossy(&out.stdout);
        let mut parts = line.split_whitespace();
        let (Some(n), Some(s)) = (parts.next(), parts.next()) else {
            return Ok(None);
        };
        let rate = n.parse::<f64>()? / s.parse::<f64>()?;
        best = Some(best.map_or(rate, |b: f64| b.max(rate)));
    }
    Ok(best)
}

async fn end_to_end(all: &[String], senders: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteStore::open(&dir.path().join("bench.db")).await?);
    store.migrate().await?;
    let vault = Arc::new(Vault::from_keyring(&Keyring::generate()));
    let key = Arc::new(tracedesk_store::audit::AuditKey::generate());
    let auditor = Auditor::journaled(store.clone(), key, &dir.path().join("audit-journal"))
        .await?
        .0;
    let cw = Casework::new(store.clone(), vault, Settings::default()).with_auditor(auditor);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(tracedesk_elr::listener::serve(
        listener,
        Elr::new(cw.clone(), None),
        None,
        tracedesk_elr::listener::Allowed::loopback(),
    ));
    let share: Vec<Vec<String>> = (0..senders)
        .map(|s| all.iter().skip(s).step_by(senders).cloned().collect())
        .collect();
    let t = Instant::now();
    let mut jobs = Vec::new();
    for mine in share {
        jobs.push(tokio::task::spawn_blocking(move || sender(addr, &mine)));
    }
    let mut lat = Vec::new();
    let mut refused = 0usize;
    for j in jobs {
        let (l, r) = j.await??;
        lat.extend(l);
        refused += r;
    }
    let secs = t.elapsed().as_secs_f64();
    server.abort();
    lat.sort_by(f64::total_cmp);
    let q = |p: usize| lat[(lat.len() * p / 100).min(lat.len() - 1)];
    let recorded = cw.cases().dead_letters(true, None, 1).await?.len();
    anyhow::ensure!(
        refused == 0 && recorded == 0,
        "{refused} messages were refused"
    );
    println!(
        "\n| end to end over MLLP, SQLite | messages | messages/s | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|---:|"
    );
    println!(
        "| {senders} senders, an ACK awaited per message | {} | {:.0} | {:.2} | {:.2} | {:.2} |",
        lat.len(),
        lat.len() as f64 / secs,
        q(50),
        q(99),
        lat[lat.len() - 1]
    );
    Ok(())
}

/// One sender: a message, then its ACK, in turn; the latencies in ms and
/// how many were not accepted.
fn sender(addr: std::net::SocketAddr, mine: &[String]) -> anyhow::Result<(Vec<f64>, usize)> {
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_nodelay(true)?;
    let mut d = Decoder::default();
    let mut buf = [0u8; 4096];
    let mut lat = Vec::with_capacity(mine.len());
    let mut refused = 0;
    for m in mine {
        let t = Instant::now();
        s.write_all(&frame(m.as_bytes()))?;
        let ack = loop {
            if let Some(f) = d.next_frame() {
                break f?;
            }
            let n = s.read(&mut buf)?;
            anyhow::ensure!(n > 0, "the listener closed the connection");
            d.push(&buf[..n]);
        };
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
        if !String::from_utf8_lossy(&ack).contains("MSA|AA|") {
            refused += 1;
        }
    }
    Ok((lat, refused))
}
