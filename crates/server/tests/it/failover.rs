//! Two nodes on one PostgreSQL database: one leads routing, the other
//! forwards to it (streams too); killing the leader hands the lead over
//! within seconds, and the offer it made is answered on the new leader.
//!
//! Needs `TRACEDESK_TEST_DATABASE_URL`; without it the test says SKIPPED
//! (and fails under `TRACEDESK_REQUIRE_POSTGRES=1`, as in CI).

use reqwest::Method;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracedesk_casework::{Casework, NewUser, Settings};
use tracedesk_identity::Role;
use tracedesk_store::Store;
use tracedesk_store_postgres::PostgresStore;
use tracedesk_vault::Vault;

struct Node {
    base: String,
    cw: Casework,
    running: Option<tracedesk_server::assembly::Running>,
}

async fn node(url: &str, key: &std::path::Path) -> Node {
    let store: Arc<dyn Store> = Arc::new(PostgresStore::connect(url).await.unwrap());
    store.migrate().await.unwrap();
    let (vault, _) = Vault::open_or_create(key).unwrap();
    let cw = Casework::new(store, Arc::new(vault), Settings::default());
    let (base, running) = crate::common::listen_with(
        cw.clone(),
        Default::default(),
        Some((
            tracedesk_routing::Workspace::public_health(),
            Arc::new(|| chrono::Utc::now().timestamp_millis()),
        )),
    )
    .await;
    Node {
        base,
        cw,
        running: Some(running),
    }
}

async fn until_leads(n: &Node, within: Duration) -> Duration {
    let start = Instant::now();
    while n.cw.dispatch().is_none() {
        assert!(start.elapsed() < within, "{} did not take the lead", n.base);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    start.elapsed()
}

async fn call(
    base: &str,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_lead_passes_on_when_the_leader_dies() {
    let Some(server) = tracedesk_store_postgres::testing::test_server("routing failover") else {
        return;
    };
    let (url, _) = tracedesk_store_postgres::testing::scratch_database(&server, "td_failover")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("master.key");
    let mut a = node(&url, &key).await;
    until_leads(&a, Duration::from_secs(10)).await;
    let b = node(&url, &key).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(b.cw.dispatch().is_none(), "only one node leads");

    let user = |name: &str, role| {
        let cw = a.cw.clone();
        let name = name.to_string();
        async move {
            let (v, _) = cw
                .staff()
                .add_user(NewUser::new(&name, &format!("{name} Person"), role, "root"))
                .await
                .unwrap();
            (v.id, cw.staff().create_token(&name, v.id).await.unwrap())
        }
    };
    let (_, sup) = user("sup", Role::Supervisor).await;
    let (tracer, token) = user("tracer", Role::Tracer).await;

    // Everything goes through the follower, which forwards to the leader.
    let (st, body) = call(
        &b.base,
        &sup,
        Method::POST,
        "/api/v1/routing/workers",
        Some(json!({"user_id": tracer, "attributes": {"skills": ["contact_notification"]}})),
    )
    .await;
    assert_eq!(st, 201, "{body}");
    let (st, _) = call(
        &b.base,
        &token,
        Method::POST,
        &format!("/api/v1/routing/workers/{tracer}/activity"),
        Some(json!({"activity": "Available"})),
    )
    .await;
    assert_eq!(st, 200);
    let (st, body) = call(
        &b.base,
        &sup,
        Method::POST,
        "/api/v1/routing/tasks",
        Some(json!({"attributes": {"type": "contact_notification"}, "channel": "voice"})),
    )
    .await;
    assert_eq!(st, 201, "{body}");
    let offer = body["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["decision"] == "offered")
        .cloned()
        .expect("offered through the follower");
    let reservation = offer["reservation"].as_u64().unwrap();
    // A worker's stream through the follower starts with the standing offer.
    let mut stream = reqwest::Client::new()
        .get(format!("{}/api/v1/routing/workers/{tracer}/events", b.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let chunk = tokio::time::timeout(Duration::from_secs(5), stream.chunk())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&chunk);
    assert!(
        text.contains("event: offered") && text.contains(&format!("\"reservation\":{reservation}")),
        "{text}"
    );

    // The leader dies.
    a.running.take();
    let took = until_leads(&b, Duration::from_secs(15)).await;
    eprintln!("the lead passed on in {took:?}");

    // The offer made by the dead leader stands on the new one, once.
    let (st, tasks) = call(&b.base, &sup, Method::GET, "/api/v1/routing/tasks", None).await;
    assert_eq!(st, 200);
    let items = tasks["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{tasks}");
    assert_eq!(items[0]["state"], "reserved");
    assert_eq!(items[0]["offered_to"], json!([tracer]));
    let (st, body) = call(
        &b.base,
        &token,
        Method::POST,
        &format!("/api/v1/routing/reservations/{reservation}/accept"),
        None,
    )
    .await;
    assert_eq!(st, 200, "{body}");
    let task = offer["task"].as_str().unwrap();
    let (st, _) = call(
        &b.base,
        &token,
        Method::POST,
        &format!("/api/v1/routing/tasks/{task}/complete"),
        None,
    )
    .await;
    assert_eq!(st, 200);
}

/// Two nodes dispatch one outbox on PostgreSQL at once, each through its
/// own Twilio carrier to the same provider (a local server speaking
/// Twilio's protocol): every message reaches the provider exactly once,
/// and both nodes did part of the work.
#[tokio::test]
async fn two_nodes_dispatch_one_outbox_without_sending_twice() {
    const N: usize = 2_000;
    const SID: &str = "AC2c0de5000000000000000000000000ff";
    let Some(server) = tracedesk_store_postgres::testing::test_server("two-node dispatch") else {
        return;
    };
    let (url, _) = tracedesk_store_postgres::testing::scratch_database(&server, "td_two_nodes")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (api, seen) = tracedesk_twilio::fake::start(SID, Vec::new())
        .await
        .unwrap();
    // A provider that answers in a millisecond: the nodes' passes overlap.
    seen.lock().unwrap().delay = Duration::from_millis(1);
    let mut nodes = Vec::new();
    for _ in 0..2 {
        let store: Arc<dyn Store> = Arc::new(PostgresStore::connect(&url).await.unwrap());
        store.migrate().await.unwrap();
        let (vault, _) = Vault::open_or_create(&dir.path().join("master.key")).unwrap();
        nodes.push(Casework::new(store, Arc::new(vault), Settings::default()));
    }
    let out = nodes[0]
        .cases()
        .ingest_lab_results(&[tracedesk_casework::LabResultInput {
            first_name: Some("Noa".into()),
            last_name: Some("Levi".into()),
            dob: Some("1979-12-11".into()),
            phone: Some("(212) 555-0161".into()),
            specimen_date: Some(chrono::Utc::now().date_naive().to_string()),
            result: Some("positive".into()),
            accession: Some("TWO-NODES-1".into()),
            ..Default::default()
        }])
        .await;
    let person = nodes[0]
        .cases()
        .person_ref(out[0].person_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    for i in 0..N {
        let input = tracedesk_casework::messaging::SendInput {
            body: Some(format!("Please call us, reference {i}.")),
            ..Default::default()
        };
        nodes[0]
            .messages()
            .send(&person, "root", &input)
            .await
            .unwrap();
    }
    let mut passes = tokio::task::JoinSet::new();
    for (k, cw) in nodes.into_iter().enumerate() {
        let twilio = tracedesk_twilio::Twilio::new(tracedesk_twilio::TwilioConfig {
            account_sid: SID.into(),
            auth_token: "two-node-token".into(),
            api_base_url: api.clone(),
            public_base_url: "https://tracedesk.example.org".into(),
            messaging_service_sid: None,
            timeout: Duration::from_secs(10),
        })
        .unwrap();
        passes.spawn(async move {
            let mut claimed = 0;
            loop {
                let s = cw
                    .messages()
                    .dispatch_once(
                        &twilio,
                        &format!("node-{k}"),
                        100,
                        chrono::Duration::seconds(60),
                        None,
                    )
                    .await
                    .unwrap();
                if s.claimed == 0 {
                    return claimed;
                }
                claimed += s.claimed;
            }
        });
    }
    let mut shares = Vec::new();
    while let Some(r) = passes.join_next().await {
        shares.push(r.unwrap());
    }
    assert_eq!(shares.iter().sum::<usize>(), N, "{shares:?}");
    assert!(
        shares.iter().all(|&n| n > 0),
        "both nodes dispatched: {shares:?}"
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.accepted.len(), N, "nothing sent twice");
    for i in 0..N {
        assert_eq!(
            seen.with_body(&format!("Please call us, reference {i}.")),
            1
        );
    }
}
