//! The real binary, as an operator runs it.

use std::path::Path;
use std::process::{Command, Output};

fn tracedesk(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tracedesk"))
        .current_dir(dir)
        .args(args)
        .env_remove("TRACEDESK_DATABASE_URL")
        .env("TRACEDESK_LOG", "warn")
        .output()
        .expect("binary runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

const CSV_HEADER: &str = "first_name,last_name,dob,phone,specimen_date,result,accession\n";

#[test]
fn config_errors_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_tracedesk"))
        .current_dir(dir.path())
        .args(["config", "check"])
        .env("TRACEDESK_RULES__QUARANTINE_DAYS", "many")
        .output()
        .unwrap();
    assert!(!o.status.success());
    let t = text(&o);
    assert!(
        t.contains("rules.quarantine_days") && t.contains("TRACEDESK_RULES__QUARANTINE_DAYS"),
        "{t}"
    );
    let o = tracedesk(dir.path(), &["config", "check"]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn csv_import_reports_bad_lines_and_keeps_good_ones() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = CSV_HEADER.as_bytes().to_vec();
    csv.extend_from_slice(b"Ana,Garcia,1980-01-01,2125550101,2026-11-20,positive,I-1\n");
    csv.extend_from_slice(b"Broken,Line\n");
    csv.extend_from_slice(b"Luis,Ng,1980-01-01,12,2026-11-20,positive,I-2\n");
    csv.extend_from_slice(b"\xffBad,Bytes,1980-01-01,,2026-11-20,positive,I-3\n");
    csv.extend_from_slice(b"\"unterminated,quote,1980-01-01,,2026-11-20,positive,I-4\n");
    std::fs::write(dir.path().join("labs.csv"), &csv).unwrap();
    let o = tracedesk(dir.path(), &["import", "labs", "--csv", "labs.csv"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("1 recorded"), "{}", text(&o));
    let report = std::fs::read_to_string(dir.path().join("labs.errors.csv")).unwrap();
    assert!(report.contains("3,,has 2 fields"), "{report}");
    assert!(report.contains("4,phone,"), "{report}");
    assert!(
        report.contains("5,first_name,is not valid UTF-8"),
        "{report}"
    );
    assert!(
        !report.contains("Luis") && !report.contains("Ng"),
        "no values in the report"
    );
    let missing = dir.path().join("nohead.csv");
    std::fs::write(&missing, "name,result\nA,positive\n").unwrap();
    let o = tracedesk(dir.path(), &["import", "labs", "--csv", "nohead.csv"]);
    assert!(!o.status.success());
    assert!(
        text(&o)
            .contains("lacks required column(s): first_name, last_name, specimen_date, accession"),
        "{}",
        text(&o)
    );
}

#[test]
fn interrupted_key_rotation_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = CSV_HEADER.to_string();
    for i in 0..40 {
        csv.push_str(&format!(
            "Person{},Test,1980-01-{:02},,2026-11-20,positive,R-{i}\n",
            "x".repeat(i + 1),
            i % 28 + 1
        ));
    }
    std::fs::write(dir.path().join("labs.csv"), csv).unwrap();
    assert!(
        tracedesk(dir.path(), &["import", "labs", "--csv", "labs.csv"])
            .status
            .success()
    );
    let o = tracedesk(
        dir.path(),
        &["keys", "rotate", "--batch", "7", "--stop-after", "50"],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("stopped after 50 rows"), "{}", text(&o));
    let o = tracedesk(dir.path(), &["keys", "rotate", "--batch", "7"]);
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("finished rotating to key version 2"), "{t}");
    // 40 persons + 40 lab results + 40 cases = 120 sealed rows in all.
    assert!(t.contains(": 70 rows re-sealed"), "{t}");
    let key = std::fs::read_to_string(dir.path().join("tracedesk-data/master.key")).unwrap();
    assert!(key.contains("\nv2 "));
}

#[test]
fn serve_answers_healthcheck_and_stops_on_sigterm() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tracedesk"))
        .current_dir(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("TRACEDESK_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_string();
    let o = tracedesk(dir.path(), &["healthcheck", "--url", &url]);
    assert!(o.status.success(), "{}", text(&o));
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().unwrap();
    assert!(status.success(), "graceful stop exits 0");
    let o = tracedesk(dir.path(), &["healthcheck", "--url", &url]);
    assert!(!o.status.success(), "nothing answers after stop");
}
