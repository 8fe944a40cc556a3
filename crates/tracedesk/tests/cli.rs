//! The real binary, as an operator runs it.

#[path = "cli/elr.rs"]
mod elr;
#[path = "cli/faults.rs"]
mod faults;

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
    // A file that is not TOML is named with the line and column at fault.
    std::fs::write(
        dir.path().join("tracedesk.toml"),
        "listen = \"127.0.0.1:8080\"\nlog = = \"info\"\n",
    )
    .unwrap();
    let o = tracedesk(dir.path(), &["config", "check"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("line 2, column"), "{}", text(&o));
}

/// The routing workspace comes from a file, checked at start: a bad
/// expression is named by queue and position; path settings stay paths.
#[test]
fn routing_workspace_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tracedesk.toml"),
        "routing_workspace_file = \"ws.json\"\ntls_cert_file = \"cert.pem\"\ntls_key_file = \"key.pem\"\n",
    )
    .unwrap();
    let o = tracedesk(dir.path(), &["config", "check"]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("routing_workspace_file ws.json"),
        "{}",
        text(&o)
    );
    // A workspace of one queue and the defaults' shape, as JSON.
    let mut ws = serde_json::json!({
        "activities": [{"name": "Available", "available": true}, {"name": "Offline", "available": false}],
        "default_activity": "Offline",
        "timeout_activity": "Offline",
        "channels": [{"name": "voice", "default_capacity": 1}],
        "queues": [{"name": "tracers", "target_workers": "skills HAS"}],
        "workflow": {"filters": [], "default_queue": "tracers"},
        "task_types": [{"name": "contact_notification", "due_after": 86400}],
        "reservation_timeout": 120,
        "max_reservations": 1,
        "priority_step": 3600,
        "default_due_after": 86400
    });
    std::fs::write(dir.path().join("ws.json"), ws.to_string()).unwrap();
    let o = tracedesk(dir.path(), &["config", "check"]);
    assert!(!o.status.success());
    let t = text(&o);
    assert!(t.contains("queue `tracers`: at position 11"), "{t}");
    ws["queues"][0]["target_workers"] = "skills HAS 'contact_notification'".into();
    std::fs::write(dir.path().join("ws.json"), ws.to_string()).unwrap();
    let o = tracedesk(dir.path(), &["config", "check"]);
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("ws.json (1 queues, 0 workflow filters, 1 task types)"),
        "{t}"
    );
    assert!(t.contains("cert.pem"), "the TLS path stays a path: {t}");
}

/// A testing site's own layout: its headers (in French), Windows-1252,
/// semicolons, day-first dates and month names, chosen by a named profile.
#[test]
fn csv_profiles_read_a_sites_own_layout() {
    let dir = tempfile::tempdir().unwrap();
    let profile = "[csv_profiles.harbor]\nencoding = \"windows-1252\"\ndelimiter = \";\"\n\
                   date_order = \"dmy\"\n\n[csv_profiles.harbor.columns]\nfirst_name = \"Prénom\"\n\
                   last_name = \"Nom\"\ndob = \"Né le\"\nphone = \"Téléphone\"\n\
                   specimen_date = \"Prélèvement\"\nresult = \"Résultat\"\naccession = \"N° échantillon\"\n";
    std::fs::write(dir.path().join("tracedesk.toml"), profile).unwrap();
    let rows = "Prénom;Nom;Né le;Téléphone;Prélèvement;Résultat;N° échantillon;Commentaire\n\
                José;Núñez;14/02/1985;2125550102;05/11/2026;positif;H-1;ok\n\
                Zoë;Brontë;31/02/1990;;05/11/2026;negative;H-2;\n\
                Ana;Lima;1 Mar 1975;2125550103;20 Nov 2026;negative;H-3;\n";
    // Windows-1252: these characters are all one byte, their Latin-1 code.
    let cp1252: Vec<u8> = rows
        .chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap())
        .collect();
    std::fs::write(dir.path().join("site.csv"), &cp1252).unwrap();
    let o = tracedesk(
        dir.path(),
        &["import", "labs", "--csv", "site.csv", "--profile", "harbor"],
    );
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("1 recorded"), "{out}");
    assert!(
        out.contains("ignored unknown column(s): commentaire"),
        "{out}"
    );
    let report = std::fs::read_to_string(dir.path().join("site.errors.csv")).unwrap();
    // Lines 2 and 3 are refused under the site's own header names.
    assert!(report.contains("2,Résultat,"), "{report}");
    assert!(
        report.contains("3,Né le,\"is not a date as 05/11/2026"),
        "{report}"
    );
    assert!(
        !report.contains("Brontë") && !report.contains("31/02"),
        "{report}"
    );
    assert_eq!(count(dir.path(), "SELECT COUNT(*) FROM lab_results"), 1);
    // A profile that is not configured, or not valid, is named.
    let o = tracedesk(
        dir.path(),
        &["import", "labs", "--csv", "site.csv", "--profile", "nope"],
    );
    assert!(!o.status.success());
    assert!(
        text(&o).contains("no CSV profile `nope`") && text(&o).contains("harbor"),
        "{}",
        text(&o)
    );
    std::fs::write(
        dir.path().join("tracedesk.toml"),
        profile.replace("\"dmy\"", "\"ydm\""),
    )
    .unwrap();
    let o = tracedesk(dir.path(), &["config", "check"]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("csv_profiles.harbor") && text(&o).contains("date_order"),
        "{}",
        text(&o)
    );
}

/// `linkage run` finds a person recorded twice under other spellings
/// (and `linkage merge` merges them),
/// through blind-index keys, and a second run finds nothing new; the keys
/// and pairs add no plaintext to the database.
#[test]
fn linkage_run_finds_a_person_recorded_twice() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = CSV_HEADER.as_bytes().to_vec();
    csv.extend_from_slice(
        b"Guillermo,Quintanilla,1979-05-08,2125550177,2026-11-20,positive,LR-1\n",
    );
    csv.extend_from_slice(b"Memo,Quintanila,1979-08-05,,2026-11-21,positive,LR-2\n");
    csv.extend_from_slice(b"Hortensia,Vandermeer,1990-02-03,,2026-11-21,negative,LR-3\n");
    std::fs::write(dir.path().join("labs.csv"), &csv).unwrap();
    let o = tracedesk(dir.path(), &["import", "labs", "--csv", "labs.csv"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("3 recorded"), "{}", text(&o));
    // Intake found the pair already; a fresh run over the store finds it
    // again as known, and nothing new.
    let o = tracedesk(dir.path(), &["linkage", "run", "--restart"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("3 persons: 1 pairs compared; 0 new pairs"),
        "{}",
        text(&o)
    );
    let o = tracedesk(dir.path(), &["linkage", "run", "--fit"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("weights fitted"), "{}", text(&o));
    // The matcher's pair merged, once; the merged record is then compared
    // with no one.
    let o = tracedesk(dir.path(), &["linkage", "merge"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("1 pairs merged"), "{}", text(&o));
    let o = tracedesk(dir.path(), &["linkage", "merge"]);
    assert!(text(&o).contains("0 pairs merged"), "{}", text(&o));
    let o = tracedesk(dir.path(), &["linkage", "run", "--restart"]);
    assert!(
        text(&o).contains("3 persons: 0 pairs compared"),
        "{}",
        text(&o)
    );
    let o = tracedesk(
        dir.path(),
        &["linkage", "merge", "--jurisdiction", "nowhere"],
    );
    assert!(!o.status.success());
    assert!(
        text(&o).contains("no jurisdiction has the code nowhere"),
        "{}",
        text(&o)
    );
    let db = std::fs::read(dir.path().join("tracedesk-data/tracedesk.db")).unwrap();
    for plain in [
        "Quintanilla",
        "QUINTANILLA",
        "quintanilla",
        "Vandermeer",
        "vandermeer",
    ] {
        assert!(
            !db.windows(plain.len()).any(|w| w == plain.as_bytes()),
            "{plain} is in the database in the clear"
        );
    }
}

/// With `[linkage] merge_links`, the pair intake's linker finds is merged
/// as it is found; the job then has nothing left to merge.
#[test]
fn merge_links_merges_what_intake_links() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tracedesk.toml"),
        "[linkage]\nmerge_links = true\n",
    )
    .unwrap();
    let mut csv = CSV_HEADER.as_bytes().to_vec();
    csv.extend_from_slice(
        b"Guillermo,Quintanilla,1979-05-08,2125550177,2026-11-20,positive,ML-1\n",
    );
    csv.extend_from_slice(b"Memo,Quintanila,1979-08-05,,2026-11-21,positive,ML-2\n");
    csv.extend_from_slice(b"Hortensia,Vandermeer,1990-02-03,,2026-11-21,negative,ML-3\n");
    std::fs::write(dir.path().join("labs.csv"), &csv).unwrap();
    let o = tracedesk(dir.path(), &["import", "labs", "--csv", "labs.csv"]);
    assert!(o.status.success(), "{}", text(&o));
    let merged = "SELECT COUNT(*) FROM persons WHERE merged_into IS NOT NULL";
    assert_eq!(count(dir.path(), merged), 1, "Memo merged into Guillermo");
    assert_eq!(count(dir.path(), "SELECT COUNT(*) FROM person_merges"), 1);
    let o = tracedesk(dir.path(), &["linkage", "merge"]);
    assert!(text(&o).contains("0 pairs merged"), "{}", text(&o));
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
    // Every line is accounted for: an open quote swallows the lines after
    // it into one bad record, and each of them is reported.
    let mut csv =
        "first_name,last_name,dob,specimen_date,result,accession,jurisdiction\n".to_string();
    csv.push_str("Amara,Nwosu,1990-02-03,2026-11-20,positive,Q-1,ny\n");
    csv.push_str("\"Open,Quote,1980-01-01,2026-11-20,positive,Q-2,ny\n");
    for n in 3..9 {
        csv.push_str(&format!(
            "Person,Number{n},1980-01-01,2026-11-20,positive,Q-{n},ny\n"
        ));
    }
    std::fs::write(dir.path().join("quote.csv"), &csv).unwrap();
    let o = tracedesk(
        dir.path(),
        &["jurisdiction", "add", "--code", "ny", "--name", "New York"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = tracedesk(dir.path(), &["import", "labs", "--csv", "quote.csv"]);
    assert!(o.status.success(), "{}", text(&o));
    let report = std::fs::read_to_string(dir.path().join("quote.errors.csv")).unwrap();
    for line in 3..=9 {
        assert!(
            report.lines().any(|l| l.starts_with(&format!("{line},"))),
            "line {line} is in the report: {report}"
        );
    }
    assert!(report.contains("quote left open on line 3"), "{report}");
    assert!(!report.contains("Number"), "no values: {report}");
    // The jurisdiction column is read, not ignored.
    let o = tracedesk(dir.path(), &["import", "labs", "--csv", "quote.csv"]);
    assert!(text(&o).contains("1 duplicate"), "{}", text(&o));
    let db = dir.path().join("tracedesk-data/tracedesk.db");
    let jurisdictions: Vec<String> = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async move {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
                .await
                .unwrap();
            sqlx::query_scalar("SELECT jurisdiction FROM cases")
                .fetch_all(&pool)
                .await
                .unwrap()
        });
    assert!(
        jurisdictions.contains(&"ny".to_string()),
        "{jurisdictions:?}"
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

/// Starts `tracedesk serve` in `dir` on a free port; returns it and its URL.
fn spawn_serve(dir: &Path) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_tracedesk"))
        .current_dir(dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("TRACEDESK_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        // Kept for a failing test to show (`serve_log`).
        .stderr(std::fs::File::create(dir.join("serve.stderr")).unwrap())
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
    (child, url)
}

/// What `serve` started by `spawn_serve` in `dir` wrote to stderr.
fn serve_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("serve.stderr")).unwrap_or_default()
}

fn signal(child: &std::process::Child, sig: &str) {
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args([sig, &pid])
            .status()
            .unwrap()
            .success()
    );
}

#[test]
fn serve_answers_healthcheck_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, url) = spawn_serve(dir.path());
    let o = tracedesk(dir.path(), &["healthcheck", "--url", &url]);
    assert!(o.status.success(), "{}", text(&o));
    signal(&child, "-TERM");
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "graceful stop exits 0: {status:?}\n{}",
        serve_log(dir.path())
    );
    let o = tracedesk(dir.path(), &["healthcheck", "--url", &url]);
    assert!(!o.status.success(), "nothing answers after stop");
}

/// The data is the owner's alone, and sunset refuses to run beside serve.
#[test]
fn data_is_private_and_sunset_waits_for_serve_to_stop() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (mut child, url) = spawn_serve(dir.path());
    let mode = |p: &str| {
        std::fs::metadata(dir.path().join(p))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("tracedesk-data"), 0o700);
    for f in ["tracedesk-data/tracedesk.db", "tracedesk-data/master.key"] {
        assert_eq!(mode(f), 0o600, "{f}");
    }
    let o = tracedesk(dir.path(), &["sunset", "--confirm"]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("server is running"), "{}", text(&o));
    signal(&child, "-TERM");
    assert!(child.wait().unwrap().success());
    let o = tracedesk(dir.path(), &["healthcheck", "--url", &url]);
    assert!(!o.status.success());
    let o = tracedesk(dir.path(), &["sunset", "--confirm"]);
    assert!(o.status.success(), "{}", text(&o));
}

/// A command pointed at a directory without a database says so and
/// creates nothing there (no empty database, no new keys).
#[test]
fn commands_need_a_database_and_do_not_make_one() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &[
            "token",
            "create",
            "--name",
            "me",
            "--user",
            "demo-supervisor",
        ][..],
        &["audit", "verify"][..],
        &["user", "list"][..],
        &["linkage", "run"][..],
        &["linkage", "merge"][..],
    ] {
        let o = tracedesk(dir.path(), args);
        assert!(!o.status.success(), "{args:?}");
        assert!(
            text(&o).contains("there is no tracedesk database in"),
            "{}",
            text(&o)
        );
    }
    // Nor does a server that cannot listen.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let o = tracedesk(dir.path(), &["serve", "--listen", &addr]);
    assert!(!o.status.success());
    assert!(text(&o).contains("cannot listen on"), "{}", text(&o));
    assert!(
        !dir.path().join("tracedesk-data").exists(),
        "nothing was created"
    );
}

/// Running the demo again reuses its outbreak and leaves one live token.
#[test]
fn demo_runs_again_with_one_live_token() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let mut passwords = Vec::new();
    for run in 0..2 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tracedesk"))
            .current_dir(dir.path())
            .args(["demo", "--cases", "5", "--listen", "127.0.0.1:0"])
            .env("TRACEDESK_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let out = std::io::BufReader::new(child.stdout.take().unwrap());
        let lines: Vec<String> = out
            .lines()
            .map_while(Result::ok)
            .take_while(|l| !l.starts_with("API token:"))
            .collect();
        // A ready sign-in per role, with a fresh password each run.
        let keys: Vec<&String> = lines
            .iter()
            .filter(|l| l.starts_with("  ") && l.contains("authenticator key"))
            .collect();
        assert_eq!(keys.len(), 4, "{lines:?}");
        for role in ["tracer", "supervisor", "analyst", "admin"] {
            assert!(
                keys.iter().any(|l| l.trim_start().starts_with(role)),
                "{role}: {keys:?}"
            );
        }
        let first = keys[0]
            .split("password ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap();
        assert_eq!(first.len(), 20, "{keys:?}");
        passwords.push(first.to_string());
        assert!(
            lines
                .iter()
                .any(|l| l.contains("demo is running at http://127.0.0.1:") && !l.ends_with(":0")),
            "the real address: {lines:?}"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the demo started: {lines:?}"
        );
        if run == 0 {
            assert!(
                lines.iter().any(|l| l.contains(
                    "seeded a synthetic operation: New York City and its five boroughs, 40 tracers"
                )),
                "{lines:?}"
            );
        }
        signal(&child, "-TERM");
        child.wait().unwrap();
    }
    assert_ne!(passwords[0], passwords[1], "a fresh password each run");
    let o = tracedesk(
        dir.path(),
        &["--data-dir", "tracedesk-data/demo", "token", "list"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let live = text(&o).lines().filter(|l| l.ends_with("live")).count();
    assert_eq!(live, 1, "{}", text(&o));
}

/// One SQL count from the data directory's SQLite file.
fn count(dir: &Path, sql: &str) -> i64 {
    let url = format!(
        "sqlite://{}",
        dir.join("tracedesk-data/tracedesk.db").display()
    );
    let sql = sql.to_string();
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async move {
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            let n: i64 = sqlx::query_scalar(&sql).fetch_one(&pool).await.unwrap();
            pool.close().await;
            n
        })
}

/// A server killed outright loses no audit entry: what it journaled is in
/// the log after the next start, and the chain verifies.
#[test]
fn audit_entries_survive_a_killed_server() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let (mut child, url) = spawn_serve(dir.path());
    // A failed sign-in is audited (as `login_failure`) before the answer.
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    let body = r#"{"username":"nobody-here","password":"not the password"}"#;
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    write!(
        conn,
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    let journal = dir.path().join("tracedesk-data/audit-journal");
    let journaled: String = std::fs::read_dir(&journal)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert!(journaled.contains("login_failure"), "{journaled:?}");
    assert!(
        !journaled.contains("nobody-here"),
        "no names in the journal"
    );

    signal(&child, "-KILL");
    child.wait().unwrap();
    let failures = "SELECT count(*) FROM audit_log WHERE action = 'login_failure'";
    assert_eq!(
        count(dir.path(), failures),
        0,
        "killed before it moved the entry"
    );

    let (mut child, url) = spawn_serve(dir.path());
    let o = tracedesk(dir.path(), &["healthcheck", "--url", &url]);
    assert!(o.status.success(), "{}", text(&o));
    signal(&child, "-TERM");
    assert!(child.wait().unwrap().success());
    assert_eq!(
        count(dir.path(), failures),
        1,
        "absorbed once at the restart"
    );
    let o = tracedesk(dir.path(), &["audit", "verify"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("audit log OK"), "{}", text(&o));
}

/// Runs SQL against the data directory's SQLite file, as someone with
/// access to the file (not through tracedesk) would.
fn tamper(dir: &Path, sql: &[&str]) {
    let url = format!(
        "sqlite://{}",
        dir.join("tracedesk-data/tracedesk.db").display()
    );
    let sql: Vec<String> = sql.iter().map(|s| s.to_string()).collect();
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async move {
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            for s in sql {
                sqlx::query(&s).execute(&pool).await.unwrap();
            }
            pool.close().await;
        });
}

/// Rewrites entries `from..` with a new actor for `from` and hashes
/// recomputed from there on (`all`) or for that one entry only.
fn rechain(dir: &Path, from: i64, all: bool) {
    use tracedesk_store::AuditStore;
    use tracedesk_store::audit::entry_hash;
    let db = dir.join("tracedesk-data/tracedesk.db");
    let url = format!("sqlite://{}", db.display());
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async move {
            let store = tracedesk_store_sqlite::SqliteStore::open(&db)
                .await
                .unwrap();
            let mut entries = store.audit_entries(0, 1000).await.unwrap();
            drop(store);
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            let mut prev = None;
            for e in entries.iter_mut().filter(|e| e.seq >= from) {
                if e.seq == from {
                    e.draft.actor = "token:someone-else".into();
                } else if !all {
                    break;
                }
                if let Some(p) = prev {
                    e.prev_hash = p;
                }
                e.hash = entry_hash(&e.prev_hash, e.seq, &e.draft);
                prev = Some(e.hash);
                sqlx::query(
                    "UPDATE audit_log SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                )
                .bind(&e.draft.actor)
                .bind(e.prev_hash.as_slice())
                .bind(e.hash.as_slice())
                .bind(e.seq)
                .execute(&pool)
                .await
                .unwrap();
            }
            pool.close().await;
        });
}

fn copy_dir(from: &Path) -> tempfile::TempDir {
    let to = tempfile::tempdir().unwrap();
    let data = to.path().join("tracedesk-data");
    std::fs::create_dir(&data).unwrap();
    for f in std::fs::read_dir(from.join("tracedesk-data")).unwrap() {
        let f = f.unwrap();
        if f.file_type().unwrap().is_file() {
            std::fs::copy(f.path(), data.join(f.file_name())).unwrap();
        }
    }
    to
}

const UNLOCK: [&str; 2] = [
    "DROP TRIGGER audit_log_no_update",
    "DROP TRIGGER audit_log_no_delete",
];

#[test]
fn audit_verify_catches_every_kind_of_tampering() {
    let base = tempfile::tempdir().unwrap();
    // Six audited actions: an account, then five tokens for it.
    let o = tracedesk(
        base.path(),
        &[
            "user",
            "add",
            "--username",
            "ci-feed",
            "--name",
            "CI Feed",
            "--role",
            "integration",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    for n in 1..6 {
        let o = tracedesk(
            base.path(),
            &[
                "token",
                "create",
                "--name",
                &format!("t{n}"),
                "--user",
                "ci-feed",
            ],
        );
        assert!(o.status.success(), "{}", text(&o));
    }
    let o = tracedesk(base.path(), &["audit", "verify"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("audit log OK: 6 entries"), "{}", text(&o));

    // The schema itself refuses edits.
    let locked = copy_dir(base.path());
    let url = format!(
        "sqlite://{}",
        locked.path().join("tracedesk-data/tracedesk.db").display()
    );
    let refused = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async move {
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            sqlx::query("DELETE FROM audit_log WHERE seq = 1")
                .execute(&pool)
                .await
        });
    assert!(refused.unwrap_err().to_string().contains("append-only"));

    type Tamper = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Tamper, &str)> = vec![
        (
            "modify a field",
            Box::new(|d| {
                tamper(
                    d,
                    &[UNLOCK[0], "UPDATE audit_log SET detail = 'x' WHERE seq = 3"],
                )
            }),
            "entry 3",
        ),
        (
            "delete an entry",
            Box::new(|d| tamper(d, &[UNLOCK[1], "DELETE FROM audit_log WHERE seq = 4"])),
            "entry 4",
        ),
        (
            "swap two entries",
            Box::new(|d| {
                tamper(
                    d,
                    &[
                        UNLOCK[0],
                        "UPDATE audit_log SET seq = -2 WHERE seq = 2",
                        "UPDATE audit_log SET seq = 2 WHERE seq = 3",
                        "UPDATE audit_log SET seq = 3 WHERE seq = -2",
                    ],
                )
            }),
            "entry 2",
        ),
        (
            "truncate the tail",
            Box::new(|d| tamper(d, &[UNLOCK[1], "DELETE FROM audit_log WHERE seq >= 5"])),
            "entry 5",
        ),
        (
            "rewrite one entry with its hash recomputed",
            Box::new(|d| {
                tamper(d, &[UNLOCK[0]]);
                rechain(d, 2, false)
            }),
            "entry 2",
        ),
        (
            "rewrite the last entry with its hash recomputed",
            Box::new(|d| {
                tamper(d, &[UNLOCK[0]]);
                rechain(d, 6, false)
            }),
            "entry 6",
        ),
        (
            "rewrite an entry and re-chain the rest",
            Box::new(|d| {
                tamper(d, &[UNLOCK[0]]);
                rechain(d, 3, true)
            }),
            "entry 3",
        ),
    ];
    fn anchor(d: &Path) -> std::path::PathBuf {
        d.join("tracedesk-data/audit-anchor.jsonl")
    }
    let more: Vec<(&str, Tamper, &str)> = vec![
        (
            "delete a checkpoint in the middle",
            Box::new(|d| {
                tamper(
                    d,
                    &[
                        "DROP TRIGGER audit_checkpoints_no_delete",
                        "DELETE FROM audit_checkpoints WHERE seq = 3",
                    ],
                );
                std::fs::remove_file(anchor(d)).unwrap();
            }),
            "entry 4",
        ),
        (
            "truncate entries and checkpoints together (caught by the anchor)",
            Box::new(|d| {
                tamper(
                    d,
                    &[
                        UNLOCK[1],
                        "DROP TRIGGER audit_checkpoints_no_delete",
                        "DELETE FROM audit_checkpoints WHERE seq > 4",
                        "DELETE FROM audit_log WHERE seq > 4",
                    ],
                )
            }),
            "entry 5",
        ),
        (
            "rewrite and re-chain after deleting the later checkpoints (caught by the anchor)",
            Box::new(|d| {
                tamper(
                    d,
                    &[
                        UNLOCK[0],
                        "DROP TRIGGER audit_checkpoints_no_delete",
                        "DELETE FROM audit_checkpoints WHERE seq > 2",
                    ],
                );
                rechain(d, 3, true)
            }),
            "entry 3",
        ),
    ];
    for (what, act, named) in more.into_iter().chain(cases) {
        let dir = copy_dir(base.path());
        act(dir.path());
        let o = tracedesk(dir.path(), &["audit", "verify"]);
        let t = text(&o);
        assert!(!o.status.success(), "{what}: verify passed: {t}");
        assert!(t.contains(named), "{what}: expected {named}: {t}");
    }

    // Without the anchor, a log cut short with its checkpoints is whole by
    // itself: that is what the anchor is for (docs/security.md).
    let dir = copy_dir(base.path());
    tamper(
        dir.path(),
        &[
            UNLOCK[1],
            "DROP TRIGGER audit_checkpoints_no_delete",
            "DELETE FROM audit_checkpoints WHERE seq > 4",
            "DELETE FROM audit_log WHERE seq > 4",
        ],
    );
    let kept = dir.path().join("anchor-kept-elsewhere.jsonl");
    std::fs::rename(anchor(dir.path()), &kept).unwrap();
    let o = tracedesk(dir.path(), &["audit", "verify"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("no anchor checked"), "{}", text(&o));
    let o = tracedesk(
        dir.path(),
        &["audit", "verify", "--anchor", kept.to_str().unwrap()],
    );
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("truncated"), "{}", text(&o));
}

/// With no anchor at all, checkpoints deleted from the end leave a stretch
/// of entries longer unsigned than the signing interval allows.
#[test]
fn audit_verify_catches_deleted_checkpoints_by_the_gap_they_leave() {
    let base = tempfile::tempdir().unwrap();
    let o = tracedesk(
        base.path(),
        &[
            "user",
            "add",
            "--username",
            "gap-feed",
            "--name",
            "Gap Feed",
            "--role",
            "integration",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    for n in 1..5 {
        std::thread::sleep(std::time::Duration::from_millis(1_100));
        let o = tracedesk(
            base.path(),
            &[
                "token",
                "create",
                "--name",
                &format!("g{n}"),
                "--user",
                "gap-feed",
            ],
        );
        assert!(o.status.success(), "{}", text(&o));
    }
    let strict = ["audit", "verify", "--max-gap-seconds", "2"];
    let o = tracedesk(base.path(), &strict);
    assert!(o.status.success(), "untouched: {}", text(&o));
    tamper(
        base.path(),
        &[
            UNLOCK[0],
            "DROP TRIGGER audit_checkpoints_no_delete",
            "DELETE FROM audit_checkpoints WHERE seq > 2",
        ],
    );
    rechain(base.path(), 3, true);
    std::fs::remove_file(base.path().join("tracedesk-data/audit-anchor.jsonl")).unwrap();
    let o = tracedesk(base.path(), &strict);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("entry 3"), "{}", text(&o));
    assert!(text(&o).contains("no signed checkpoint"), "{}", text(&o));
}

#[test]
fn purge_dry_run_and_sunset_need_confirmation() {
    let base = tempfile::tempdir().unwrap();
    let csv = base.path().join("labs.csv");
    std::fs::write(
        &csv,
        "first_name,last_name,dob,specimen_date,result,accession\n\
         Zanele,Dlamini,1971-02-03,2026-11-20,positive,CLI-P-1\n",
    )
    .unwrap();
    let o = tracedesk(
        base.path(),
        &["import", "labs", "--csv", csv.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = tracedesk(base.path(), &["audit", "verify"]);
    assert!(
        text(&o).contains("audit log OK: 1 entries"),
        "one entry per imported result: {}",
        text(&o)
    );
    let o = tracedesk(base.path(), &["purge", "--dry-run"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("would purge 0 person(s)"), "{}", text(&o));
    let o = tracedesk(base.path(), &["sunset"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("--confirm"), "{}", text(&o));
    let o = tracedesk(base.path(), &["sunset", "--confirm"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("removed the personal data of 1 person(s): 1 case(s), 1 lab result(s)"),
        "{}",
        text(&o)
    );
    assert!(!text(&o).contains("Zanele"));
    let o = tracedesk(base.path(), &["audit", "verify"]);
    assert!(o.status.success(), "the log survives sunset: {}", text(&o));
    assert!(
        text(&o).contains("audit log OK: 2 entries"),
        "the purge is audited: {}",
        text(&o)
    );
}
