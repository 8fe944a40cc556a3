//! Routing and assignment keep to jurisdictions: a supervisor of one county
//! can neither see, steer nor hand out another's tasks, nor direct its
//! staff; hand assignment follows routing's rule (security issue, items 2
//! and 5).

use crate::common::Harness;
use reqwest::Method;
use serde_json::{Value, json};
use tracedesk_identity::Role;
use uuid::Uuid;

struct Counties {
    h: Harness,
    bk_sup: String,
    bk_tracer: (Uuid, String),
    nj_sup: String,
    nj_tracer: (Uuid, String),
    bk_admin: Uuid,
    /// New Jersey's case interview, routed and waiting.
    nj_task: Uuid,
    nj_person: Uuid,
}

async fn counties() -> Counties {
    let h = crate::common::spawn_routing().await;
    let (_, bk_sup) = h.user("bk-sup", Role::Supervisor, "ny-kings").await;
    let bk_tracer = h.user("bk-tracer", Role::Tracer, "ny-kings").await;
    let (bk_admin, _) = h.user("bk-admin", Role::Admin, "ny-kings").await;
    let (_, nj_sup) = h.user("nj-sup", Role::Supervisor, "nj").await;
    let nj_tracer = h.user("nj-tracer", Role::Tracer, "nj").await;
    let (st, out) = h
        .call(
            &nj_sup,
            Method::POST,
            "/api/v1/lab-results",
            Some(
                json!({"first_name": "Nadia", "last_name": "Petrova", "dob": "1975-05-06",
                "specimen_date": "2026-11-20", "result": "positive", "accession": "NJ-1",
                "jurisdiction": "nj"}),
            ),
        )
        .await;
    assert_eq!(st, 201, "{out}");
    let case: Uuid = out["case_id"].as_str().unwrap().parse().unwrap();
    let nj_person: Uuid = out["person_id"].as_str().unwrap().parse().unwrap();
    let nj_task = h.store.tasks_for_case(case).await.unwrap()[0].id;
    let c = Counties {
        h,
        bk_sup,
        bk_tracer,
        nj_sup,
        nj_tracer,
        bk_admin,
        nj_task,
        nj_person,
    };
    for _ in 0..100 {
        if listed(&c, &c.nj_sup).await.contains(&nj_task) {
            return c;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the feed never routed New Jersey's case interview");
}

async fn listed(c: &Counties, token: &str) -> Vec<Uuid> {
    let (st, body) =
        c.h.call(token, Method::GET, "/api/v1/routing/tasks", None)
            .await;
    assert_eq!(st, 200, "{body}");
    ids(&body)
}

/// The ids of a list page's items.
fn ids(page: &Value) -> Vec<Uuid> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().parse().unwrap())
        .collect()
}

async fn worker(c: &Counties, token: &str, user: Uuid) -> (u16, Value) {
    let (st, body) =
        c.h.call(
            token,
            Method::POST,
            "/api/v1/routing/workers",
            Some(json!({"user_id": user, "attributes": {
                "skills": ["case_investigation"], "languages": ["en"]}})),
        )
        .await;
    (st.as_u16(), body)
}

#[tokio::test]
async fn a_supervisor_cannot_see_or_steer_another_jurisdictions_tasks() {
    let c = counties().await;
    let t = c.nj_task;
    assert!(
        !listed(&c, &c.bk_sup).await.contains(&t),
        "listed to Brooklyn"
    );
    let (bk_tracer, bk_token) = &c.bk_tracer;
    assert_eq!(worker(&c, &c.bk_sup, *bk_tracer).await.0, 201);
    let tries: Vec<(&str, Method, String, Option<Value>)> = vec![
        (
            "re-point its attributes at Brooklyn",
            Method::PATCH,
            format!("/api/v1/routing/tasks/{t}"),
            Some(json!({"attributes": {"jurisdiction": "ny-kings",
                "jurisdictions": ["ny-kings", "ny", "root"], "type": "case_interview"}})),
        ),
        (
            "cancel it",
            Method::POST,
            format!("/api/v1/routing/tasks/{t}/cancel"),
            Some(json!({})),
        ),
        (
            "wrap it",
            Method::POST,
            format!("/api/v1/routing/tasks/{t}/wrap"),
            None,
        ),
        (
            "complete it",
            Method::POST,
            format!("/api/v1/routing/tasks/{t}/complete"),
            None,
        ),
    ];
    for (what, method, path, body) in tries {
        let (st, out) = c.h.call(&c.bk_sup, method, &path, body).await;
        assert_eq!(st, 404, "{what}: {out}");
        assert_eq!(out["error"]["code"], "not_found", "{what}: {out}");
    }
    // Still New Jersey's, and the Brooklyn tracer, available, is never
    // offered it nor can open the person.
    let (st, out) =
        c.h.call(
            bk_token,
            Method::POST,
            &format!("/api/v1/routing/workers/{bk_tracer}/activity"),
            Some(json!({"activity": "Available"})),
        )
        .await;
    assert_eq!(st, 200, "{out}");
    assert!(listed(&c, &c.nj_sup).await.contains(&t));
    let (st, _) =
        c.h.call(
            bk_token,
            Method::GET,
            &format!("/api/v1/persons/{}", c.nj_person),
            None,
        )
        .await;
    assert_eq!(st, 403);
    // Its own supervisor's update cannot move it out of New Jersey either.
    let (st, out) =
        c.h.call(
            &c.nj_sup,
            Method::PATCH,
            &format!("/api/v1/routing/tasks/{t}"),
            Some(json!({"attributes": {"jurisdiction": "ny-kings", "languages": ["en"]}})),
        )
        .await;
    assert_eq!(st, 200, "{out}");
    assert!(!listed(&c, &c.bk_sup).await.contains(&t));
    // A bad query is a JSON error that does not repeat what was sent.
    let (st, out) =
        c.h.call(
            &c.bk_sup,
            Method::GET,
            "/api/v1/routing/stats?Maria_Lopez=1",
            None,
        )
        .await;
    assert_eq!(st, 400, "{out}");
    assert_eq!(out["error"]["code"], "invalid_query", "{out}");
    assert!(!out.to_string().contains("Maria"), "{out}");
    // Denials are audited with the id asked for.
    let log = c.h.store.audit_entries(0, 10_000).await.unwrap();
    assert!(
        log.iter()
            .any(|e| e.draft.action == tracedesk_store::audit::Action::Denied
                && e.draft.object_id == Some(t))
    );
}

#[tokio::test]
async fn a_supervisor_directs_only_their_own_staff() {
    let c = counties().await;
    let (nj_tracer, nj_token) = &c.nj_tracer;
    // Another jurisdiction's tracer, an admin of their own county: refused.
    assert_eq!(worker(&c, &c.bk_sup, *nj_tracer).await.0, 404);
    assert_eq!(worker(&c, &c.bk_sup, c.bk_admin).await.0, 404);
    assert_eq!(worker(&c, &c.nj_sup, *nj_tracer).await.0, 201);
    for (method, path, body) in [
        (
            Method::PATCH,
            format!("/api/v1/routing/workers/{nj_tracer}"),
            Some(json!({"attributes": {"skills": ["clinical"]}})),
        ),
        (
            Method::POST,
            format!("/api/v1/routing/workers/{nj_tracer}/activity"),
            Some(json!({"activity": "Available"})),
        ),
        (
            Method::GET,
            format!("/api/v1/routing/workers/{nj_tracer}/events"),
            None,
        ),
    ] {
        let (st, out) = c.h.call(&c.bk_sup, method, &path, body).await;
        assert_eq!(st, 404, "{path}: {out}");
    }
    // The tracer themself still may.
    let (st, _) =
        c.h.call(
            nj_token,
            Method::POST,
            &format!("/api/v1/routing/workers/{nj_tracer}/activity"),
            Some(json!({"activity": "Available"})),
        )
        .await;
    assert_eq!(st, 200);
}

#[tokio::test]
async fn hand_assignment_keeps_to_the_tasks_jurisdiction() {
    let c = counties().await;
    let path = format!("/api/v1/tasks/{}/assign", c.nj_task);
    let (bk_tracer, bk_token) = &c.bk_tracer;
    let (st, out) =
        c.h.call(
            &c.nj_sup,
            Method::POST,
            &path,
            Some(json!({"user_id": bk_tracer})),
        )
        .await;
    assert_eq!(st, 422, "{out}");
    assert_eq!(out["error"]["field"], "user_id");
    let (st, _) =
        c.h.call(
            bk_token,
            Method::GET,
            &format!("/api/v1/persons/{}", c.nj_person),
            None,
        )
        .await;
    assert_eq!(st, 403, "the person stays closed to Brooklyn");
    let (st, out) =
        c.h.call(
            &c.nj_sup,
            Method::POST,
            &path,
            Some(json!({"user_id": c.nj_tracer.0})),
        )
        .await;
    assert_eq!(st, 200, "{out}");
    let (st, _) =
        c.h.call(
            &c.nj_tracer.1,
            Method::GET,
            &format!("/api/v1/persons/{}", c.nj_person),
            None,
        )
        .await;
    assert_eq!(st, 200);
}

/// Matching links one person across jurisdictions, but never widens what a
/// caller sees: Brooklyn sees what Brooklyn submitted and holds, New
/// Jersey's facts stay New Jersey's, and the answers look the same whether
/// or not a match happened (security issue, item 3).
#[tokio::test]
async fn a_match_across_jurisdictions_reveals_nothing() {
    let c = counties().await;
    let post = async |token: &str, body: Value| {
        let (st, out) =
            c.h.call(token, Method::POST, "/api/v1/lab-results", Some(body))
                .await;
        assert_eq!(st, 201, "{out}");
        out
    };
    // New Jersey knows a second person in full, with a negative result.
    let nj_oksana = post(
        &c.nj_sup,
        json!({"first_name": "Oksana", "last_name": "Ivanova", "dob": "1968-08-09",
            "phone": "201-555-0123", "email": "oksana@example.org", "address": "1 Elm St",
            "specimen_date": "2026-11-19", "result": "negative", "accession": "NJ-2",
            "jurisdiction": "nj"}),
    )
    .await;
    let nj_oksana: Uuid = nj_oksana["person_id"].as_str().unwrap().parse().unwrap();

    // Brooklyn reports Nadia (known to New Jersey) and someone new.
    let lab = |first: &str, last: &str, dob: &str, acc: &str, result: &str| {
        json!({"first_name": first, "last_name": last, "dob": dob, "phone": "718-555-0188",
            "specimen_date": "2026-11-21", "result": result, "accession": acc,
            "jurisdiction": "ny-kings"})
    };
    let matched = post(
        &c.bk_sup,
        lab("Nadia", "Petrova", "1975-05-06", "BK-1", "positive"),
    )
    .await;
    let fresh = post(
        &c.bk_sup,
        lab("Priya", "Raman", "1991-01-02", "BK-2", "positive"),
    )
    .await;
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&matched), keys(&fresh), "{matched} vs {fresh}");
    for f in ["person_created", "case_created", "status"] {
        assert_eq!(matched[f], fresh[f], "{f}: {matched} vs {fresh}");
    }
    let shown: Uuid = matched["person_id"].as_str().unwrap().parse().unwrap();
    assert_ne!(shown, c.nj_person, "New Jersey's id is not given out");
    assert!(
        shown.get_timestamp().unwrap().to_unix().0 >= fresh_time(&fresh) - 5,
        "the id given is as new as a new person's"
    );
    // Brooklyn's own case, not New Jersey's.
    let bk_case = matched["case_id"].as_str().unwrap();
    let (st, case) =
        c.h.call(
            &c.bk_sup,
            Method::GET,
            &format!("/api/v1/cases/{bk_case}"),
            None,
        )
        .await;
    assert_eq!(st, 200, "{case}");
    assert_eq!(case["case"]["person_id"], shown.to_string());

    // What Brooklyn reads of Nadia: what Brooklyn sent, Brooklyn's result.
    let (st, p) =
        c.h.call(
            &c.bk_sup,
            Method::GET,
            &format!("/api/v1/persons/{shown}"),
            None,
        )
        .await;
    assert_eq!(st, 200, "{p}");
    assert_eq!(p["person"]["phone"], "+17185550188");
    let accessions: Vec<&str> = p["lab_results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["accession"].as_str().unwrap())
        .collect();
    assert_eq!(accessions, ["BK-1"], "{p}");
    // New Jersey's record and case stay closed to Brooklyn.
    for path in [
        format!("/api/v1/persons/{}", c.nj_person),
        format!(
            "/api/v1/cases/{}",
            c.h.store
                .get_task(c.nj_task)
                .await
                .unwrap()
                .unwrap()
                .case_id
                .unwrap()
        ),
    ] {
        let (st, _) = c.h.call(&c.bk_sup, Method::GET, &path, None).await;
        assert_eq!(st, 403, "{path}");
    }
    // New Jersey sees its own, not Brooklyn's phone or result.
    let (st, p) =
        c.h.call(
            &c.nj_sup,
            Method::GET,
            &format!("/api/v1/persons/{}", c.nj_person),
            None,
        )
        .await;
    assert_eq!(st, 200, "{p}");
    assert_ne!(p["person"]["phone"], "+17185550188");
    assert!(!p.to_string().contains("BK-1"), "{p}");

    // A negative result for someone New Jersey knows answers like one for
    // a stranger: no existence check.
    let known = post(
        &c.bk_sup,
        lab("Oksana", "Ivanova", "1968-08-09", "BK-3", "negative"),
    )
    .await;
    let stranger = post(
        &c.bk_sup,
        lab("Tomas", "Novak", "1980-09-10", "BK-4", "negative"),
    )
    .await;
    assert_eq!(keys(&known), keys(&stranger));
    assert_eq!(known["person_created"], stranger["person_created"]);
    assert_ne!(known["person_id"], nj_oksana.to_string());

    // Naming her as a contact: Brooklyn's facts only.
    let (st, out) =
        c.h.call(
            &c.bk_sup,
            Method::POST,
            &format!("/api/v1/cases/{bk_case}/contacts"),
            Some(
                json!({"first_name": "Oksana", "last_name": "Ivanova", "dob": "1968-08-09",
                "phone": "347-555-0190", "exposure_dates": ["2026-11-18"], "setting": "household"}),
            ),
        )
        .await;
    assert_eq!(st, 201, "{out}");
    let contact = out["contact_person_id"].as_str().unwrap();
    assert_ne!(contact, nj_oksana.to_string());
    let (st, p) =
        c.h.call(
            &c.bk_sup,
            Method::GET,
            &format!("/api/v1/persons/{contact}"),
            None,
        )
        .await;
    assert_eq!(st, 200, "{p}");
    let text = p.to_string();
    assert!(
        !text.contains("oksana@example.org") && !text.contains("Elm"),
        "{p}"
    );
    assert!(!text.contains("NJ-2"), "{p}");
    // Still one person: New Jersey's record is the same row.
    let rows = c.h.store.counts().await.unwrap().persons;
    assert_eq!(rows, 4, "Nadia, Oksana, Priya, Tomas: one record each");
}

fn fresh_time(v: &Value) -> u64 {
    let id: Uuid = v["person_id"].as_str().unwrap().parse().unwrap();
    id.get_timestamp().unwrap().to_unix().0
}

/// The routing task list pages by keyset, highest id first, and no page
/// shows another jurisdiction's task; `/api/v1/tasks` pages a tracer's own
/// tasks the same way and shows no one else's.
#[tokio::test]
async fn task_lists_page_within_the_callers_scope() {
    let c = counties().await;
    let mut made = Vec::new();
    for i in 0..5 {
        let (st, body) =
            c.h.call(
                &c.bk_sup,
                Method::POST,
                "/api/v1/routing/tasks",
                Some(json!({"channel": "voice",
                    "attributes": {"type": "contact_notification", "n": i}})),
            )
            .await;
        assert_eq!(st, 201, "{body}");
        made.push(body["task_id"].as_str().unwrap().parse::<Uuid>().unwrap());
    }
    made.sort_unstable_by(|a, b| b.cmp(a));
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/routing/tasks?limit=2&cursor={c}"),
            None => "/api/v1/routing/tasks?limit=2".into(),
        };
        let (st, body) = c.h.call(&c.bk_sup, Method::GET, &path, None).await;
        assert_eq!(st, 200, "{body}");
        let items = body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(
            items
                .iter()
                .map(|t| t["id"].as_str().unwrap().parse::<Uuid>().unwrap()),
        );
        match body["next"].as_str() {
            Some(n) => cursor = Some(n.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, made, "Brooklyn's tasks, newest first, each once");
    assert!(!seen.contains(&c.nj_task), "New Jersey's task on no page");

    // A tracer's own list: New Jersey's interview, assigned by hand to
    // their tracer, is on theirs and on no one else's.
    let (st, body) =
        c.h.call(
            &c.nj_sup,
            Method::POST,
            &format!("/api/v1/tasks/{}/assign", c.nj_task),
            Some(json!({"user_id": c.nj_tracer.0})),
        )
        .await;
    assert_eq!(st, 200, "{body}");
    let mine = |token: String| {
        let h = &c.h;
        async move {
            let (st, body) = h
                .call(&token, Method::GET, "/api/v1/tasks?limit=10", None)
                .await;
            assert_eq!(st, 200, "{body}");
            // The interview and the investigation its assignment made.
            let kinds: Vec<&str> = body["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|t| t["kind"].as_str())
                .collect();
            assert!(
                kinds
                    .iter()
                    .all(|k| *k == "case_interview" || *k == "investigation")
            );
            body["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|t| t["kind"] == "case_interview")
                .filter_map(|t| t["id"].as_str()?.parse().ok())
                .collect::<Vec<uuid::Uuid>>()
        }
    };
    assert_eq!(mine(c.nj_tracer.1.clone()).await, [c.nj_task]);
    assert!(mine(c.bk_tracer.1.clone()).await.is_empty());
    let (st, _) =
        c.h.call(
            &c.nj_tracer.1,
            Method::GET,
            "/api/v1/tasks?status=done",
            None,
        )
        .await;
    assert_eq!(st, 422, "an unknown status is refused");
}
