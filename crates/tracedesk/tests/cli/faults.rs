//! The real binary killed outright (SIGKILL) in the middle of its work:
//! while dispatching 10,000 messages to a provider (each must reach the
//! provider exactly once after the restart, counted there), and while
//! taking a flood of Twilio's inbound webhooks (every one answered 200 must
//! be stored). The provider is a local server speaking Twilio's protocol
//! (`tracedesk_twilio::fake`).

use super::{signal, spawn_serve, text, tracedesk};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const SID: &str = "ACfa017500000000000000000000000000";
const TOKEN: &str = "fault-test-auth-token";
const PUBLIC: &str = "https://tracedesk.example.org";

/// A data directory whose server sends through Twilio at `api` (no pacing
/// to speak of, a 3 s lease), with a supervisor's API token.
fn twilio_dir(api: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tracedesk.toml"),
        format!(
            "rate_limit_per_second = 0\n\n[messaging]\ncarrier = \"twilio\"\nsender_type = \"short_code\"\nsender_rate = 100000\n\
             account_cap = 100000\nlease_seconds = 3\ncheckins = false\n\n\
             [twilio]\naccount_sid = \"{SID}\"\nauth_token = \"{TOKEN}\"\napi_base_url = \"{api}\"\n\
             public_base_url = \"{PUBLIC}\"\ntimeout_ms = 2000\n"
        ),
    )
    .unwrap();
    let o = tracedesk(dir.path(), &["migrate"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = tracedesk(
        dir.path(),
        &[
            "user",
            "add",
            "--username",
            "floor",
            "--name",
            "Floor Supervisor",
            "--role",
            "supervisor",
            "--jurisdiction",
            "root",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = tracedesk(
        dir.path(),
        &["token", "create", "--name", "faults", "--user", "floor"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let token = text(&o)
        .split_whitespace()
        .find(|w| w.starts_with("tdk_"))
        .unwrap_or_else(|| panic!("no token in {}", text(&o)))
        .to_string();
    (dir, token)
}

/// One SQL count from the data directory's SQLite file (the server may
/// be running: WAL readers do not block it).
async fn count(dir: &Path, sql: &str) -> i64 {
    let url = format!(
        "sqlite://{}",
        dir.join("tracedesk-data/tracedesk.db").display()
    );
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let n: i64 = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
    pool.close().await;
    n
}

#[test]
fn a_killed_dispatcher_sends_each_message_exactly_once() {
    const N: usize = 10_000;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (api, seen) = rt
        .block_on(tracedesk_twilio::fake::start(SID, Vec::new()))
        .unwrap();
    // A provider that takes 50 ms a message: with 32 sends in flight the
    // dispatch (about 600 a second) outlasts the queueing, so the kill
    // lands mid-pass, with claims taken and sends in flight.
    seen.lock().unwrap().delay = Duration::from_millis(50);
    let (dir, token) = twilio_dir(&api);
    let (mut child, url) = spawn_serve(dir.path());
    let http = reqwest::Client::new();
    let person = rt.block_on(async {
        let res = http
            .post(format!("{url}/api/v1/lab-results"))
            .bearer_auth(&token)
            .json(
                &serde_json::json!({"first_name": "Kai", "last_name": "Moreno",
                "dob": "1984-09-10", "phone": "(212) 555-0190",
                "specimen_date": chrono::Utc::now().date_naive().to_string(),
                "result": "positive", "accession": "KILL-1"}),
            )
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{}", res.status());
        let v: serde_json::Value = res.json().await.unwrap();
        v["person_id"].as_str().unwrap().to_string()
    });
    // Ten thousand distinct texts, queued by eight callers at once.
    let queued = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for w in 0..8 {
            let (http, url, token, person, queued) = (
                http.clone(),
                url.clone(),
                token.clone(),
                person.clone(),
                queued.clone(),
            );
            set.spawn(async move {
                for i in (w..N).step_by(8) {
                    let body = format!("Please call us back, reference {i}.");
                    let res = http
                        .post(format!("{url}/api/v1/persons/{person}/messages"))
                        .bearer_auth(&token)
                        .json(&serde_json::json!({ "body": body }))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(res.status(), 201);
                    queued.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        while let Some(r) = set.join_next().await {
            r.unwrap();
        }
    });
    assert_eq!(queued.load(Ordering::Relaxed), N);
    // Killed mid-dispatch: half sent, and sends in flight (claims taken,
    // not yet finished), never in the moment between two claims.
    let until = Instant::now() + Duration::from_secs(60);
    while Instant::now() < until {
        let s = seen.lock().unwrap();
        if s.accepted.len() >= N / 2 && s.unanswered > 0 {
            break;
        }
        drop(s);
        std::thread::sleep(Duration::from_millis(5));
    }
    signal(&child, "-KILL");
    child.wait().unwrap();
    let at_kill = seen.lock().unwrap().accepted.len();
    assert!(
        (1..N).contains(&at_kill),
        "the kill came mid-dispatch: {at_kill} sent"
    );

    // The restarted node takes over the dead one's claims once their lease
    // ends, asks the provider about them, and sends the rest.
    let (mut child, _) = spawn_serve(dir.path());
    let sent = "SELECT count(*) FROM messages WHERE direction = 'out' AND status = 'sent'";
    let until = Instant::now() + Duration::from_secs(120);
    while rt.block_on(count(dir.path(), sent)) < N as i64 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(200));
    }
    signal(&child, "-TERM");
    assert!(child.wait().unwrap().success());
    assert_eq!(
        rt.block_on(count(dir.path(), sent)),
        N as i64,
        "every message recorded sent"
    );
    let seen = seen.lock().unwrap();
    let mut bodies: HashMap<&str, usize> = HashMap::new();
    for (_, form) in &seen.accepted {
        if let Some((_, b)) = form.iter().find(|(k, _)| k == "Body") {
            *bodies.entry(b.as_str()).or_default() += 1;
        }
    }
    for i in 0..N {
        let body = format!("Please call us back, reference {i}.");
        assert_eq!(bodies.get(body.as_str()), Some(&1), "{body}");
    }
    assert_eq!(seen.accepted.len(), N, "nothing sent twice");
    assert!(
        seen.lookups > 0,
        "the dead node's claims were looked up, not resent"
    );
}

/// One signed inbound text, as Twilio posts it: (form, signature).
fn inbound(i: usize) -> (Vec<(String, String)>, String) {
    let sid = format!("SMflood{i:027}");
    let from = format!("+1718{}{:04}", 200 + i / 10_000, i % 10_000);
    let params: Vec<(String, String)> = [
        ("MessageSid", sid.as_str()),
        ("AccountSid", SID),
        ("From", from.as_str()),
        ("To", "+12125550100"),
        ("Body", "no symptoms"),
        ("NumMedia", "0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let hook = format!("{PUBLIC}/webhooks/twilio/sms");
    let sig = tracedesk_comms::signature::compute(TOKEN, &hook, &params);
    (params, sig)
}

#[test]
fn a_webhook_answered_200_is_stored_even_if_the_server_is_killed() {
    const N: usize = 3_000;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (api, _) = rt
        .block_on(tracedesk_twilio::fake::start(SID, Vec::new()))
        .unwrap();
    let (dir, _) = twilio_dir(&api);
    let (mut child, url) = spawn_serve(dir.path());
    let http = reqwest::Client::new();
    let acked = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let flood = {
        let (http, url, acked) = (http.clone(), url.clone(), acked.clone());
        rt.spawn(async move {
            let mut set = tokio::task::JoinSet::new();
            for w in 0..16 {
                let (http, url, acked) = (http.clone(), url.clone(), acked.clone());
                set.spawn(async move {
                    for i in (w..N).step_by(16) {
                        let (params, sig) = inbound(i);
                        let res = http
                            .post(format!("{url}/webhooks/twilio/sms"))
                            .header("X-Twilio-Signature", sig)
                            .form(&params)
                            .send()
                            .await;
                        match res {
                            Ok(r) if r.status() == 200 => {
                                acked.lock().unwrap().push(params[0].1.clone())
                            }
                            Ok(r) => panic!("{}: {}", params[0].1, r.status()),
                            // The server died under it: no answer, no promise.
                            Err(_) => return,
                        }
                    }
                });
            }
            while set.join_next().await.is_some() {}
        })
    };
    let until = Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < N / 3 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
    signal(&child, "-KILL");
    child.wait().unwrap();
    rt.block_on(flood).unwrap();
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= N / 3 && acked.len() < N,
        "killed mid-flood: {} answered",
        acked.len()
    );
    // After a restart (the audit journal absorbed), every answered text is
    // there.
    let (mut child, url) = spawn_serve(dir.path());
    // Ready (its signal handler set) before it is asked to stop.
    let o = tracedesk(dir.path(), &["healthcheck", "--url", &url]);
    assert!(o.status.success(), "{}", text(&o));
    signal(&child, "-TERM");
    assert!(child.wait().unwrap().success());
    let stored: std::collections::HashSet<String> = rt.block_on(async {
        let url = format!(
            "sqlite://{}",
            dir.path().join("tracedesk-data/tracedesk.db").display()
        );
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let sids: Vec<String> = sqlx::query_scalar(
            "SELECT provider_sid FROM messages WHERE direction = 'in' AND provider_sid IS NOT NULL",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        pool.close().await;
        sids.into_iter().collect()
    });
    let lost: Vec<_> = acked.iter().filter(|s| !stored.contains(*s)).collect();
    assert!(
        lost.is_empty(),
        "{} answered 200 but not stored: {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
}
