//! Task routing over HTTP: offers, answers, timeouts, escalation, bad input,
//! and a restart that loses nothing.

use chrono::Duration;
use reqwest::Method;
use serde_json::{Value, json};
use tracedesk_identity::Role;

/// (reservation, task, worker) of the offers among a response's decisions.
fn offers(body: &Value) -> Vec<(u64, String, String)> {
    body["decisions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["decision"] == "offered")
        .map(|d| {
            (
                d["reservation"].as_u64().unwrap(),
                d["task"].as_str().unwrap().to_string(),
                d["worker"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// What is tried, how, where, with what, and the status and code expected.
type Case = (
    &'static str,
    Method,
    String,
    Option<Value>,
    u16,
    &'static str,
);

struct Team {
    h: crate::common::Harness,
    sup: String,
    tracers: Vec<(uuid::Uuid, String)>,
}

/// A supervisor and `n` English-speaking tracers, all workers, all available.
async fn team(n: usize) -> Team {
    team_with(n, tracedesk_routing::Workspace::public_health()).await
}

async fn team_with(n: usize, workspace: tracedesk_routing::Workspace) -> Team {
    let h = crate::common::spawn_routing_with(workspace).await;
    let (_, sup) = h.user("sup", Role::Supervisor, "ny").await;
    let mut tracers = Vec::new();
    for i in 0..n {
        let (id, token) = h.user(&format!("tracer{i}"), Role::Tracer, "ny").await;
        let (st, body) = h
            .call(
                &sup,
                Method::POST,
                "/api/v1/routing/workers",
                Some(json!({"user_id": id, "attributes": {
                    "skills": ["case_investigation", "contact_notification"],
                    "languages": ["en"]}})),
            )
            .await;
        assert_eq!(st, 201, "{body}");
        let (st, body) = h
            .call(
                &token,
                Method::POST,
                &format!("/api/v1/routing/workers/{id}/activity"),
                Some(json!({"activity": "Available"})),
            )
            .await;
        assert_eq!(st, 200, "{body}");
        tracers.push((id, token));
        // Distinct idle times: tracer0 has waited longest.
        h.advance(Duration::seconds(1));
    }
    Team { h, sup, tracers }
}

async fn task(t: &Team, attributes: Value) -> (String, Value) {
    let (st, body) =
        t.h.call(
            &t.sup,
            Method::POST,
            "/api/v1/routing/tasks",
            Some(json!({"attributes": attributes, "channel": "voice"})),
        )
        .await;
    assert_eq!(st, 201, "{body}");
    (body["task_id"].as_str().unwrap().to_string(), body)
}

#[tokio::test]
async fn offer_accept_wrap_complete() {
    let t = team(1).await;
    let (id, body) = task(&t, json!({"type": "contact_notification"})).await;
    let o = offers(&body);
    assert_eq!(o.len(), 1);
    assert_eq!(
        (o[0].1.as_str(), o[0].2.clone()),
        (id.as_str(), t.tracers[0].0.to_string())
    );
    let tracer = &t.tracers[0].1;
    let (st, body) =
        t.h.call(
            tracer,
            Method::POST,
            &format!("/api/v1/routing/reservations/{}/accept", o[0].0),
            None,
        )
        .await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["decisions"][0]["decision"], "accepted");
    for step in ["wrap", "complete"] {
        let (st, body) =
            t.h.call(
                tracer,
                Method::POST,
                &format!("/api/v1/routing/tasks/{id}/{step}"),
                None,
            )
            .await;
        assert_eq!(st, 200, "{step}: {body}");
    }
    let (st, stats) =
        t.h.call(&t.sup, Method::GET, "/api/v1/routing/stats", None)
            .await;
    assert_eq!(st, 200);
    assert_eq!(
        (stats["created"].as_u64(), stats["completed"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(stats["sla_met_percent"], 100.0);
}

#[tokio::test]
async fn reject_and_timeout_offer_again_and_escalate() {
    let t = team(2).await;
    let (_, body) = task(&t, json!({"type": "case_interview"})).await;
    let o = offers(&body);
    assert_eq!(o[0].2, t.tracers[0].0.to_string(), "longest idle first");
    let (st, body) =
        t.h.call(
            &t.tracers[0].1,
            Method::POST,
            &format!("/api/v1/routing/reservations/{}/reject", o[0].0),
            None,
        )
        .await;
    assert_eq!(st, 200, "{body}");
    let again = offers(&body);
    assert_eq!(
        again[0].2,
        t.tracers[1].0.to_string(),
        "offered to the other tracer"
    );

    // Tracer 1 does not answer: after 120 s the offer times out (they are
    // moved to Missed) and tracer 0's refusal has lapsed, so it goes back to them.
    t.h.advance(Duration::seconds(121));
    let d = t.h.cw.dispatch().unwrap().clone();
    let decisions = serde_json::to_value(d.tick().await).unwrap();
    let timed_out = decisions
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["decision"] == "timed_out");
    assert!(timed_out, "{decisions}");
    let missed =
        json!({"decision": "activity_changed", "worker": t.tracers[1].0, "activity": "Missed"});
    assert!(
        decisions.as_array().unwrap().contains(&missed),
        "{decisions}"
    );
    let o = offers(&json!({ "decisions": decisions }));
    assert_eq!(o[0].2, t.tracers[0].0.to_string());
    // Accepting the timed-out offer is refused.
    let (st, body) =
        t.h.call(
            &t.tracers[1].1,
            Method::POST,
            &format!("/api/v1/routing/reservations/{}/accept", again[0].0),
            None,
        )
        .await;
    assert_eq!(st, 409, "{body}");
    assert_eq!(body["error"]["code"], "illegal_transition");

    let (st, _) =
        t.h.call(
            &t.tracers[0].1,
            Method::POST,
            &format!("/api/v1/routing/reservations/{}/accept", o[0].0),
            None,
        )
        .await;
    assert_eq!(st, 200);

    // A Haitian Creole case: no tracer speaks it; after the first target's
    // hour it goes to the interpreter line.
    let (interp, itoken) = t.h.user("interp", Role::Tracer, "ny").await;
    t.h.call(
        &t.sup,
        Method::POST,
        "/api/v1/routing/workers",
        Some(json!({"user_id": interp, "attributes": {"skills": ["interpreter_line"]}})),
    )
    .await;
    t.h.call(
        &itoken,
        Method::POST,
        &format!("/api/v1/routing/workers/{interp}/activity"),
        Some(json!({"activity": "Available"})),
    )
    .await;
    let (ht, body) = task(&t, json!({"type": "case_interview", "language": "ht"})).await;
    assert!(offers(&body).is_empty());
    t.h.advance(Duration::seconds(3_601));
    let decisions = serde_json::to_value(d.tick().await).unwrap();
    let o = offers(&json!({ "decisions": decisions }));
    assert!(
        o.iter()
            .any(|(_, task, w)| *task == ht && *w == interp.to_string()),
        "{decisions}"
    );
}

#[tokio::test]
async fn bad_input_and_other_peoples_offers() {
    let t = team(2).await;
    let (id, body) = task(&t, json!({"type": "contact_notification"})).await;
    let r = offers(&body)[0].0;
    let cases: Vec<Case> = vec![
        (
            "someone else's offer",
            Method::POST,
            format!("/api/v1/routing/reservations/{r}/accept"),
            None,
            403,
            "forbidden",
        ),
        (
            "no such offer",
            Method::POST,
            "/api/v1/routing/reservations/999/accept".into(),
            None,
            404,
            "not_found",
        ),
        (
            "complete a task one does not hold",
            Method::POST,
            format!("/api/v1/routing/tasks/{id}/complete"),
            None,
            403,
            "forbidden",
        ),
        (
            "a tracer creating tasks",
            Method::POST,
            "/api/v1/routing/tasks".into(),
            Some(json!({"attributes": {}, "channel": "voice"})),
            403,
            "forbidden",
        ),
    ];
    for (what, method, path, body, status, code) in cases {
        let (st, b) = t.h.call(&t.tracers[1].1, method, &path, body).await;
        assert_eq!(st.as_u16(), status, "{what}: {b}");
        assert_eq!(b["error"]["code"], code, "{what}: {b}");
    }
    let sup_cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "unknown channel",
            json!({"attributes": {}, "channel": "fax"}),
            422,
            "channel",
        ),
        (
            "attributes not an object",
            json!({"attributes": [1], "channel": "voice"}),
            422,
            "attributes",
        ),
        (
            "an id chosen by the caller (ids are never reused)",
            json!({"id": id, "attributes": {}, "channel": "voice"}),
            422,
            "id",
        ),
    ];
    for (what, body, status, field) in sup_cases {
        let (st, b) =
            t.h.call(&t.sup, Method::POST, "/api/v1/routing/tasks", Some(body))
                .await;
        assert_eq!(st.as_u16(), status, "{what}: {b}");
        assert_eq!(b["error"]["field"], field, "{what}: {b}");
    }
    let (st, b) =
        t.h.call(
            &t.sup,
            Method::POST,
            &format!("/api/v1/routing/tasks/{id}/complete"),
            None,
        )
        .await;
    assert_eq!(
        (st.as_u16(), b["error"]["code"].clone()),
        (409, json!("illegal_transition")),
        "complete a reserved task"
    );
    let (st, b) =
        t.h.call(
            &t.tracers[0].1,
            Method::POST,
            &format!("/api/v1/routing/workers/{}/activity", t.tracers[0].0),
            Some(json!({"activity": "Lunch"})),
        )
        .await;
    assert_eq!(
        (st.as_u16(), b["error"]["field"].clone()),
        (422, json!("activity"))
    );
    // Nothing above changed the engine: the offer still stands for its worker.
    let (st, b) =
        t.h.call(
            &t.tracers[0].1,
            Method::POST,
            &format!("/api/v1/routing/reservations/{r}/accept"),
            None,
        )
        .await;
    assert_eq!(st, 200, "{b}");
}

#[tokio::test]
async fn a_restart_loses_no_task_and_no_offer() {
    let t = team(2).await;
    let (first, body) = task(&t, json!({"type": "contact_notification"})).await;
    let r = offers(&body)[0].0;
    let (second, _) = task(&t, json!({"type": "case_interview"})).await;
    let (waiting, _) = task(&t, json!({"type": "case_interview"})).await;
    let (_, before) =
        t.h.call(&t.sup, Method::GET, "/api/v1/routing/tasks", None)
            .await;

    let again = t.h.restart().await;
    let (st, after) = again
        .call(&t.sup, Method::GET, "/api/v1/routing/tasks", None)
        .await;
    assert_eq!(st, 200, "{after}");
    let mut a = before["items"].as_array().unwrap().clone();
    let mut b = after["items"].as_array().unwrap().clone();
    a.sort_by_key(|x| x["id"].to_string());
    b.sort_by_key(|x| x["id"].to_string());
    assert_eq!(a, b, "the same tasks, states and offers after the restart");
    let states: Vec<_> = b
        .iter()
        .map(|x| (x["id"].as_str().unwrap().to_string(), x["state"].clone()))
        .collect();
    assert!(states.contains(&(first.clone(), json!("reserved"))));
    assert!(states.contains(&(second, json!("reserved"))));
    assert!(states.contains(&(waiting, json!("pending"))));
    // The offer made before the restart is answered after it.
    let (st, body) = again
        .call(
            &t.tracers[0].1,
            Method::POST,
            &format!("/api/v1/routing/reservations/{r}/accept"),
            None,
        )
        .await;
    assert_eq!(st, 200, "{body}");
    let (st, _) = again
        .call(
            &t.tracers[0].1,
            Method::POST,
            &format!("/api/v1/routing/tasks/{first}/complete"),
            None,
        )
        .await;
    assert_eq!(st, 200);
    // Nothing in the routing log is readable without the key.
    let mut raw = std::fs::read(t.h.dir.path().join("t.db")).unwrap();
    raw.extend(std::fs::read(t.h.dir.path().join("t.db-wal")).unwrap_or_default());
    let logged: i64 = sqlx_count(&t.h).await;
    // 2 workers added and made available, 3 tasks, an accept, a completion.
    assert_eq!(logged, 9, "every event is in the log");
    for needle in [
        &b"case_interview"[..],
        b"contact_notification",
        b"languages",
    ] {
        let hit = raw.windows(needle.len()).any(|w| w == needle);
        assert!(!hit, "routing events are sealed in the database");
    }
}

async fn sqlx_count(h: &crate::common::Harness) -> i64 {
    h.store.routing_events(0, 10_000).await.unwrap().len() as i64
}

/// Reads server-sent events until one named `kind`; returns its id and data.
async fn next_event(res: &mut reqwest::Response, buf: &mut String, kind: &str) -> (u64, Value) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let field = |name: &str| {
                block.lines().find_map(|l| {
                    l.strip_prefix(&format!("{name}:"))
                        .map(|v| v.trim().to_string())
                })
            };
            if field("event").as_deref() == Some(kind) {
                let id = field("id").and_then(|v| v.parse().ok()).unwrap_or(0);
                let data = serde_json::from_str(&field("data").unwrap_or_default()).unwrap();
                return (id, data);
            }
        }
        let chunk = tokio::time::timeout_at(deadline, res.chunk())
            .await
            .expect("an event in time")
            .unwrap()
            .expect("the stream stays open");
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

async fn stream(t: &Team, token: &str, worker: uuid::Uuid, last: Option<u64>) -> reqwest::Response {
    let mut req =
        t.h.http
            .get(format!(
                "{}/api/v1/routing/workers/{worker}/events",
                t.h.base
            ))
            .bearer_auth(token);
    if let Some(n) = last {
        req = req.header("Last-Event-ID", n.to_string());
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    res
}

#[tokio::test]
async fn worker_stream_resumes_without_losing_an_offer() {
    let t = team(1).await;
    let (worker, token) = t.tracers[0].clone();
    let (other, other_token) = t.h.user("outsider", Role::Tracer, "ny").await;
    let (st, _) =
        t.h.call(
            &other_token,
            Method::GET,
            &format!("/api/v1/routing/workers/{worker}/events"),
            None,
        )
        .await;
    assert_eq!(st, 403, "{other} may not follow another worker's offers");

    let mut res = stream(&t, &token, worker, None).await;
    let mut buf = String::new();
    let (first, _) = task(&t, json!({"type": "contact_notification"})).await;
    let (seen, offer) = next_event(&mut res, &mut buf, "offered").await;
    assert_eq!(offer["task"], first);
    drop(res);

    // Disconnected: the next task waits, the first is done, and the next
    // offer is made while no one is listening.
    let (second, _) = task(&t, json!({"type": "contact_notification"})).await;
    let r = offer["reservation"].as_u64().unwrap();
    t.h.call(
        &token,
        Method::POST,
        &format!("/api/v1/routing/reservations/{r}/accept"),
        None,
    )
    .await;
    let (st, body) =
        t.h.call(
            &token,
            Method::POST,
            &format!("/api/v1/routing/tasks/{first}/complete"),
            None,
        )
        .await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(offers(&body)[0].1, second);

    // Back with Last-Event-ID: what was missed comes first.
    let mut res = stream(&t, &token, worker, Some(seen)).await;
    let mut buf = String::new();
    let (accepted_id, _) = next_event(&mut res, &mut buf, "accepted").await;
    let (resumed, offer) = next_event(&mut res, &mut buf, "offered").await;
    assert_eq!(offer["task"], second);
    assert!(seen < accepted_id && accepted_id < resumed);
    drop(res);

    // A first connection (or one from too long ago) starts with the standing offers.
    let mut res = stream(&t, &token, worker, None).await;
    let mut buf = String::new();
    let (_, standing) = next_event(&mut res, &mut buf, "offered").await;
    assert_eq!(standing["task"], second);
    assert_eq!(standing["reservation"], offer["reservation"]);
}

#[tokio::test]
async fn a_second_offer_is_rescinded_when_the_first_is_accepted() {
    let mut ws = tracedesk_routing::Workspace::public_health();
    ws.max_reservations = 2;
    let t = team_with(2, ws).await;
    let (_, body) = task(&t, json!({"type": "contact_notification"})).await;
    let o = offers(&body);
    assert_eq!(o.len(), 2, "offered to both at once: {body}");
    let (first, second) = (&o[0], &o[1]);
    let token = |worker: &str| {
        &t.tracers
            .iter()
            .find(|(id, _)| id.to_string() == worker)
            .unwrap()
            .1
    };
    let (st, body) =
        t.h.call(
            token(&second.2),
            Method::POST,
            &format!("/api/v1/routing/reservations/{}/accept", second.0),
            None,
        )
        .await;
    assert_eq!(st, 200, "{body}");
    let rescinded: Vec<_> = body["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["decision"] == "rescinded")
        .collect();
    assert_eq!(rescinded.len(), 1, "{body}");
    assert_eq!(rescinded[0]["reservation"], first.0);
    assert_eq!(rescinded[0]["worker"], first.2.as_str());
    // The rescinded offer can no longer be taken.
    let (st, body) =
        t.h.call(
            token(&first.2),
            Method::POST,
            &format!("/api/v1/routing/reservations/{}/accept", first.0),
            None,
        )
        .await;
    assert_eq!(st, 409, "{body}");
    assert_eq!(body["error"]["code"], "illegal_transition", "{body}");
}

/// Polls the supervisor's task list until `pred` holds for some task.
async fn wait_for_task(t: &Team, pred: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..100 {
        let (st, body) =
            t.h.call(&t.sup, Method::GET, "/api/v1/routing/tasks", None)
                .await;
        assert_eq!(st, 200, "{body}");
        if let Some(found) = body["items"].as_array().unwrap().iter().find(|x| pred(x)) {
            return found.clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no such routing task appeared");
}

#[tokio::test]
async fn lab_results_become_routed_case_interviews() {
    let t = team(1).await;
    let (tracer_id, tracer) = &t.tracers[0];
    let (_, feed) = t.h.user("elr-feed", Role::Integration, "ny").await;
    let activity = async |name: &'static str| {
        let (st, body) =
            t.h.call(
                tracer,
                Method::POST,
                &format!("/api/v1/routing/workers/{tracer_id}/activity"),
                Some(json!({ "activity": name })),
            )
            .await;
        assert_eq!(st, 200, "{body}");
    };
    activity("Break").await;
    // A New Jersey tracer, free all along, is never offered New York's case.
    let (nj_id, nj) = t.h.user("tracer-nj", Role::Tracer, "nj").await;
    let (_, nj_sup) = t.h.user("sup-nj", Role::Supervisor, "nj").await;
    for (route, body) in [
        (
            "/api/v1/routing/workers".to_string(),
            json!({"user_id": nj_id, "attributes": {"skills": ["case_investigation"],
                   "languages": ["en"], "jurisdiction": "ny"}}),
        ),
        (
            format!("/api/v1/routing/workers/{nj_id}/activity"),
            json!({"activity": "Available"}),
        ),
    ] {
        let token = if route.ends_with("activity") {
            &nj
        } else {
            &nj_sup
        };
        let (st, out) = t.h.call(token, Method::POST, &route, Some(body)).await;
        assert!(st == 200 || st == 201, "{out}");
    }
    let (st, out) =
        t.h.call(
            &feed,
            Method::POST,
            "/api/v1/lab-results",
            Some(
                json!({"first_name": "Adaeze", "last_name": "Okonkwo", "dob": "1980-03-04",
                "specimen_date": "2026-11-20", "result": "positive", "language": "en-GB",
                "accession": "R-1", "jurisdiction": "ny"}),
            ),
        )
        .await;
    assert_eq!(st, 201, "{out}");
    let case = out["case_id"].as_str().unwrap().to_string();
    let person: uuid::Uuid = out["person_id"].as_str().unwrap().parse().unwrap();
    let task =
        t.h.store
            .tasks_for_case(case.parse().unwrap())
            .await
            .unwrap()[0]
            .clone();

    // The feed routes it without being asked; it waits for a case investigator.
    let routed = wait_for_task(&t, |x| x["id"] == task.id.to_string()).await;
    assert_eq!(routed["queue"], "case_investigation", "{routed}");
    assert_eq!(routed["state"], "pending", "{routed}");
    let stored = t.h.store.get_task(task.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.status.as_str(), stored.assignee_id),
        ("pending", None)
    );
    // Not theirs yet: the tracer cannot open the case.
    let (st, _) =
        t.h.call(tracer, Method::GET, &format!("/api/v1/cases/{case}"), None)
            .await;
    assert_eq!(st, 403);

    // Back from the break: offered to the tracer, not to the New Jersey
    // tracer who has waited longer (claiming New York in their attributes
    // changed nothing: the server sets a worker's jurisdiction).
    activity("Available").await;
    let routed = wait_for_task(&t, |x| x["id"] == task.id.to_string()).await;
    assert_eq!(routed["offered_to"][0], tracer_id.to_string(), "{routed}");
    assert!(
        t.h.cw
            .dispatch()
            .unwrap()
            .read(|e| e.pending_offers(nj_id).is_empty() && !e.could_take(nj_id, task.id))
            .await
    );
    let stored = t.h.store.get_task(task.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.status.as_str(), stored.assignee_id),
        ("reserved", Some(*tracer_id))
    );
    let r =
        t.h.cw
            .dispatch()
            .unwrap()
            .read(|e| e.pending_offers(*tracer_id))
            .await[0]
            .0;
    let (st, body) =
        t.h.call(
            tracer,
            Method::POST,
            &format!("/api/v1/routing/reservations/{r}/accept"),
            None,
        )
        .await;
    assert_eq!(st, 200, "{body}");
    // Accepted: the case is theirs to open, and the task list agrees.
    let (st, body) =
        t.h.call(tracer, Method::GET, &format!("/api/v1/cases/{case}"), None)
            .await;
    assert_eq!(st, 200, "{body}");
    let stored = t.h.store.get_task(task.id).await.unwrap().unwrap();
    assert_eq!(stored.status, "assigned");

    // Each routing step by a person is audited; the accept names the person.
    let log = t.h.store.audit_entries(0, 10_000).await.unwrap();
    let steps: Vec<_> = log
        .iter()
        .filter(|e| e.draft.action == tracedesk_store::audit::Action::Routing)
        .collect();
    let accept = steps
        .iter()
        .find(|e| e.draft.detail.ends_with("/accept"))
        .expect("the accept is audited");
    assert_eq!(accept.draft.actor, format!("user:{tracer_id}"));
    assert_eq!(accept.draft.object_id, Some(task.id));
    assert_eq!(accept.draft.person_id, Some(person));
    assert!(
        steps
            .iter()
            .any(|e| e.draft.detail == "POST /api/v1/routing/workers/{id}/activity"),
        "activity changes are audited"
    );

    // The supervisor gives the case to another tracer by hand: routing lets
    // go of the task, the first tracer's access ends, the other's begins.
    let (other_id, other) = t.h.user("tracer-ny-2", Role::Tracer, "ny").await;
    let assign = async |user: uuid::Uuid| {
        let (st, body) =
            t.h.call(
                &t.sup,
                Method::POST,
                &format!("/api/v1/tasks/{}/assign", task.id),
                Some(json!({ "user_id": user })),
            )
            .await;
        assert_eq!(st, 200, "{body}");
    };
    assign(other_id).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let dispatch = t.h.cw.dispatch().unwrap();
    while dispatch.read(|e| e.task_view(task.id).is_some()).await {
        assert!(std::time::Instant::now() < deadline, "routing let go");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let stored = t.h.store.get_task(task.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.status.as_str(), stored.assignee_id),
        ("assigned", Some(other_id))
    );
    let (st, _) =
        t.h.call(tracer, Method::GET, &format!("/api/v1/cases/{case}"), None)
            .await;
    assert_eq!(st, 403, "the first tracer's access ended");
    let (st, body) =
        t.h.call(&other, Method::GET, &format!("/api/v1/cases/{case}"), None)
            .await;
    assert_eq!(st, 200, "{body}");

    // Handed back to the first tracer, a routing worker: routing assigns it
    // to them as well (it takes their room), and they finish it through
    // routing like any task they accepted.
    assign(*tracer_id).await;
    let routed = wait_for_task(&t, |x| {
        x["id"] == task.id.to_string() && x["worker"] == tracer_id.to_string()
    })
    .await;
    assert_eq!(routed["state"], "assigned", "{routed}");
    let (st, _) =
        t.h.call(&other, Method::GET, &format!("/api/v1/cases/{case}"), None)
            .await;
    assert_eq!(st, 403, "the other tracer's access ended");
    let (st, body) =
        t.h.call(
            tracer,
            Method::POST,
            &format!("/api/v1/routing/tasks/{}/complete", task.id),
            None,
        )
        .await;
    assert_eq!(st, 200, "{body}");
    let stored = t.h.store.get_task(task.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.status.as_str(), stored.assignee_id),
        ("completed", Some(*tracer_id))
    );
    // The interview is done, the investigation is not: its investigator
    // keeps the case while it is open.
    let (st, body) =
        t.h.call(tracer, Method::GET, &format!("/api/v1/cases/{case}"), None)
            .await;
    assert_eq!(st, 200, "the investigator keeps the case: {body}");
    assert_eq!(body["case"]["investigator_id"], tracer_id.to_string());
    let (st, body) =
        t.h.call(
            &t.sup,
            Method::PATCH,
            &format!("/api/v1/cases/{case}"),
            Some(json!({"status": "closed"})),
        )
        .await;
    assert_eq!(st, 200, "{body}");
    let (st, _) =
        t.h.call(tracer, Method::GET, &format!("/api/v1/cases/{case}"), None)
            .await;
    assert_eq!(st, 403, "closed: the access ends");
}

#[tokio::test]
async fn changed_attributes_route_a_waiting_task_anew() {
    let t = team(1).await;
    let (id, body) = task(
        &t,
        json!({"type": "contact_notification", "language": "fr"}),
    )
    .await;
    assert!(offers(&body).is_empty(), "no French speaker: {body}");
    let patch = async |id: String, attributes: Value| {
        t.h.call(
            &t.sup,
            Method::PATCH,
            &format!("/api/v1/routing/tasks/{id}"),
            Some(json!({ "attributes": attributes })),
        )
        .await
    };
    let (st, body) = patch(
        id.clone(),
        json!({"type": "contact_notification", "language": "en"}),
    )
    .await;
    assert_eq!(st, 200, "{body}");
    let o = offers(&body);
    assert_eq!(o.len(), 1, "{body}");
    assert_eq!(
        (o[0].1.as_str(), o[0].2.clone()),
        (id.as_str(), t.tracers[0].0.to_string())
    );
    let (st, body) = patch(uuid::Uuid::now_v7().to_string(), json!({})).await;
    assert_eq!(st, 404, "{body}");
    let (st, _) =
        t.h.call(
            &t.tracers[0].1,
            Method::PATCH,
            &format!("/api/v1/routing/tasks/{id}"),
            Some(json!({ "attributes": {} })),
        )
        .await;
    assert_eq!(st, 403, "tracers do not edit tasks");
}

/// An idle live stream is kept open by keep-alive comments at the
/// configured interval (300 ms in the tests, 15 s by default), so proxies
/// and clients do not drop it between offers.
#[tokio::test]
async fn idle_streams_send_keep_alive_comments() {
    let t = team(1).await;
    let (id, token) = t.tracers[0].clone();
    let mut res = stream(&t, &token, id, None).await;
    let start = tokio::time::Instant::now();
    let mut text = String::new();
    while start.elapsed() < std::time::Duration::from_millis(1500) {
        match tokio::time::timeout(std::time::Duration::from_millis(500), res.chunk()).await {
            Ok(Ok(Some(chunk))) => text.push_str(&String::from_utf8_lossy(&chunk)),
            Ok(other) => panic!("the stream ended: {other:?}"),
            Err(_) => {}
        }
    }
    let comments = text.lines().filter(|l| l.starts_with(':')).count();
    assert!(
        comments >= 3,
        "{comments} keep-alive comments in 1.5 s: {text:?}"
    );
}
