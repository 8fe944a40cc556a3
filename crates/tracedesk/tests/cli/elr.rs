//! Electronic lab reports through the real binary: files and batches
//! imported with an ACK per message and the refused ones kept as dead
//! letters; and the MLLP listener over a real socket, with frames split
//! across reads, several messages on one connection, and a server killed
//! mid-stream that loses no message it acknowledged.

use super::{count, signal, text, tracedesk};
use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;
use tracedesk_hl7::mllp::{Decoder, frame};
use tracedesk_hl7::{Message, split_batch};

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../elr/samples");

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(SAMPLES).join(name)).unwrap()
}

/// The messages of the Eastside batch, as separate messages.
fn eastside() -> Vec<String> {
    let all = String::from_utf8(sample("eastside-batch.hl7")).unwrap();
    split_batch(&all)
        .messages
        .iter()
        .map(|m| m.text.to_string())
        .collect()
}

const ADT: &str = "MSH|^~\\&|REG|Riverside Hospital|ELR|DOH|20261103||ADT^A01^ADT_A01|ADT-1|P|2.5.1\rPID|1||1^^^R^MR||Quinn^Harper||19800101|F\r";

/// Every byte of the data directory's database files (and WAL).
fn database_bytes(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir.join("tracedesk-data")).unwrap() {
        let p = e.unwrap().path();
        if p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("tracedesk.db"))
        {
            out.extend(std::fs::read(p).unwrap());
        }
    }
    out
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// MSA-1 and MSA-2 of each ACK in `text`.
fn acks(text: &str) -> Vec<(String, String)> {
    split_batch(text)
        .messages
        .iter()
        .map(|m| {
            let m = Message::parse(m.text).unwrap();
            let msa = m.segment("MSA").unwrap();
            (
                msa.field(1).text().into_owned(),
                msa.field(2).text().into_owned(),
            )
        })
        .collect()
}

#[test]
fn elr_files_are_acknowledged_and_refusals_kept_as_dead_letters() {
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("feed");
    std::fs::create_dir(&feed).unwrap();
    for name in [
        "northwind-pcr-positive.hl7",
        "mercy-pcr-positive.hl7",
        "harbor-antigen-negative.hl7",
        "eastside-batch.hl7",
    ] {
        std::fs::write(feed.join(name), sample(name)).unwrap();
    }
    std::fs::write(feed.join("adt.hl7"), ADT).unwrap();
    let o = tracedesk(dir.path(), &["migrate"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = tracedesk(
        dir.path(),
        &[
            "import",
            "elr",
            "feed",
            "--acks",
            "acks.hl7",
            "--report",
            "report.txt",
        ],
    );
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("7 messages in 5 files: 5 accepted (AA), 1 with errors (AE), 1 rejected (AR)"),
        "{out}"
    );
    assert!(
        out.contains(
            "5 results recorded (3 new cases), 0 already recorded; 2 kept as dead letters"
        ),
        "{out}"
    );
    // One ACK per message, in file order, each naming its message.
    let got = acks(&std::fs::read_to_string(dir.path().join("acks.hl7")).unwrap());
    let codes: Vec<&str> = got.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(codes, ["AR", "AA", "AE", "AA", "AA", "AA", "AA"]);
    assert_eq!(got[0].1, "ADT-1");
    assert_eq!(got[2].1, "EL-2");
    assert_eq!(got[6].1, "NW20261103-000187");
    let ack_text = std::fs::read_to_string(dir.path().join("acks.hl7")).unwrap();
    assert!(
        ack_text.contains("ERR||PID^1^7|102^Data type error^HL70357|E"),
        "{ack_text}"
    );
    assert!(
        ack_text.contains("ERR||MSH^1^9^1^1|200^Unsupported message type"),
        "{ack_text}"
    );
    // The report says where, never what.
    let report = std::fs::read_to_string(dir.path().join("report.txt")).unwrap();
    assert!(
        report.contains("eastside-batch.hl7:8 EL-2 AE: PID-7:"),
        "{report}"
    );
    assert!(report.contains("adt.hl7:1 ADT-1 AR: MSH-9.1:"), "{report}");
    for secret in ["Brooks", "19991332", "Quinn"] {
        assert!(!report.contains(secret), "{secret} in {report}");
    }
    assert_eq!(count(dir.path(), "SELECT COUNT(*) FROM lab_results"), 5);
    assert_eq!(count(dir.path(), "SELECT COUNT(*) FROM cases"), 3);
    // Dead letters: listed by reason, sealed at rest.
    let o = tracedesk(dir.path(), &["elr", "dead-letters"]);
    let list = text(&o);
    assert!(o.status.success(), "{list}");
    assert_eq!(list.lines().count(), 2, "{list}");
    assert!(list.contains("file   AE  PID-7:"), "{list}");
    assert!(list.contains("file   AR  MSH-9.1:"), "{list}");
    assert!(
        !list.contains("Brooks") && !list.contains("Quinn"),
        "{list}"
    );
    let db = database_bytes(dir.path());
    for secret in ["Brooks", "Quinn", "Alvarez", "tyler.chen", "Okafor"] {
        assert!(!contains(&db, secret), "{secret} stored in the clear");
    }
    // The same files again: nothing recorded twice.
    let o = tracedesk(
        dir.path(),
        &["import", "elr", "feed", "--report", "report2.txt"],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("0 results recorded (0 new cases), 5 already recorded"),
        "{}",
        text(&o)
    );
    assert_eq!(count(dir.path(), "SELECT COUNT(*) FROM lab_results"), 5);
    // Replayed, they are refused again, and say so on the letter.
    let o = tracedesk(dir.path(), &["elr", "replay", "--all"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("4 replayed: 0 accepted, 4 refused again"),
        "{}",
        text(&o)
    );
    let o = tracedesk(dir.path(), &["elr", "dead-letters"]);
    assert!(text(&o).contains("no dead letters"), "{}", text(&o));
    let o = tracedesk(dir.path(), &["elr", "dead-letters", "--all"]);
    assert_eq!(
        text(&o).matches("(replayed: AE)").count(),
        2,
        "{}",
        text(&o)
    );
    // Each report is audited before it is written (five reports mapped,
    // twice), and each recorded result after.
    assert_eq!(
        count(
            dir.path(),
            "SELECT COUNT(*) FROM audit_log WHERE actor = 'elr' AND object = 'lab_report'"
        ),
        10
    );
    assert_eq!(
        count(
            dir.path(),
            "SELECT COUNT(*) FROM audit_log WHERE actor = 'elr' AND object = 'lab_result'"
        ),
        5
    );
}

/// `tracedesk serve` with an MLLP listener; its HTTP URL and MLLP address.
fn spawn_mllp(dir: &Path) -> (std::process::Child, String, String) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tracedesk"))
        .current_dir(dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("TRACEDESK_LOG", "warn")
        .env("TRACEDESK_ELR__MLLP_LISTEN", "127.0.0.1:0")
        .env_remove("TRACEDESK_DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(dir.join("serve.stderr")).unwrap())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut url, mut mllp) = (None, None);
    while url.is_none() || mllp.is_none() {
        let line = lines.next().expect("serve prints its addresses").unwrap();
        if line.contains("MLLP") {
            mllp = line.split_whitespace().last().map(str::to_string);
        }
        if let Some(u) = line.split_whitespace().find(|w| w.starts_with("http://")) {
            url = Some(u.to_string());
        }
    }
    (child, url.unwrap(), mllp.unwrap())
}

/// Reads `n` ACK frames from `s`; MSA-1 and MSA-2 of each.
fn read_acks(s: &mut TcpStream, n: usize) -> Vec<(String, String)> {
    let mut d = Decoder::default();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while out.len() < n {
        let k = s.read(&mut buf).unwrap();
        assert!(k > 0, "the connection closed after {} ACKs", out.len());
        d.push(&buf[..k]);
        while let Some(f) = d.next_frame() {
            out.extend(acks(&String::from_utf8(f.unwrap()).unwrap()));
        }
    }
    out
}

#[test]
fn mllp_acknowledges_after_commit_and_a_killed_server_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, _url, addr) = spawn_mllp(dir.path());
    let east = eastside();
    let messages: Vec<Vec<u8>> = vec![
        east[0].clone().into_bytes(),
        east[2].clone().into_bytes(),
        sample("northwind-pcr-positive.hl7"),
        sample("harbor-antigen-negative.hl7"),
    ];
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    // The first frame split in two writes, a pause between.
    let first = frame(&messages[0]);
    let (a, b) = first.split_at(first.len() / 2);
    s.write_all(a).unwrap();
    s.flush().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    s.write_all(b).unwrap();
    // Two frames in one write, and a frame that is no HL7 at all.
    let mut two = frame(&messages[1]);
    two.extend(frame(&messages[2]));
    two.extend(frame(b"hello"));
    s.write_all(&two).unwrap();
    let got = read_acks(&mut s, 4);
    assert_eq!(
        got,
        [
            ("AA".to_string(), "EL-1".to_string()),
            ("AA".into(), "EL-3".into()),
            ("AA".into(), "NW20261103-000187".into()),
            ("AR".into(), String::new()),
        ]
    );
    // Every acknowledged message is committed by the time its ACK leaves.
    assert_eq!(count(dir.path(), "SELECT COUNT(*) FROM lab_results"), 3);
    // The fourth sent, and the server killed without waiting.
    s.write_all(&frame(&messages[3])).unwrap();
    s.flush().unwrap();
    signal(&child, "-KILL");
    child.wait().unwrap();
    let kept = count(dir.path(), "SELECT COUNT(*) FROM lab_results");
    assert!((3..=4).contains(&kept), "{kept}");
    // The sender resends everything it has no ACK for — here, all of it:
    // what was recorded is recognised, nothing is recorded twice.
    let (mut child, _url, addr) = spawn_mllp(dir.path());
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let all: Vec<u8> = messages.iter().flat_map(|m| frame(m)).collect();
    s.write_all(&all).unwrap();
    let got = read_acks(&mut s, 4);
    assert!(got.iter().all(|(c, _)| c == "AA"), "{got:?}");
    assert_eq!(count(dir.path(), "SELECT COUNT(*) FROM lab_results"), 4);
    signal(&child, "-TERM");
    child.wait().unwrap();
    // An address off the allow list is closed before anything is read.
    std::fs::write(
        dir.path().join("tracedesk.toml"),
        "[elr]\nallow = [\"127.0.0.2\"]\n",
    )
    .unwrap();
    let (mut child, _url, addr) = spawn_mllp(dir.path());
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.write_all(&frame(&messages[0]));
    let mut buf = [0u8; 64];
    assert!(
        matches!(s.read(&mut buf), Ok(0) | Err(_)),
        "no ACK to a stranger"
    );
    signal(&child, "-TERM");
    child.wait().unwrap();
}
