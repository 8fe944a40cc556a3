//! The role × route matrix: every PHI route for every role (and a tracer on
//! someone else's task), IDOR attempts, denials audited, and break-glass.

use crate::common::Harness;
use chrono::Duration;
use reqwest::Method;
use serde_json::{Value, json};
use tracedesk_casework::AuthPolicy;
use tracedesk_identity::Role;
use tracedesk_store::audit::Action;
use uuid::Uuid;

/// A case in `ny-kings` whose task `tracer` holds, and callers around it
/// (also the FHIR tests' world).
pub(crate) struct World {
    pub(crate) h: Harness,
    pub(crate) tracer: (Uuid, String),
    pub(crate) other_tracer: (Uuid, String),
    pub(crate) sup: (Uuid, String),
    pub(crate) sup_nj: (Uuid, String),
    pub(crate) analyst: (Uuid, String),
    pub(crate) admin: (Uuid, String),
    pub(crate) feed: (Uuid, String),
    pub(crate) case: String,
    pub(crate) person: String,
    pub(crate) task: String,
}

fn lab(acc: &str, jurisdiction: &str) -> Value {
    json!({"first_name": "Adaeze", "last_name": "Okonkwo", "dob": "1980-03-04",
           "phone": "+1 718 555 0199", "specimen_date": "2026-11-20", "result": "positive",
           "accession": acc, "jurisdiction": jurisdiction})
}

pub(crate) async fn world() -> World {
    let h = crate::common::spawn(AuthPolicy::default()).await;
    let tracer = h.user("tracer-a", Role::Tracer, "ny-kings").await;
    let other_tracer = h.user("tracer-b", Role::Tracer, "ny-kings").await;
    let sup = h.user("sup-kings", Role::Supervisor, "ny-kings").await;
    let sup_nj = h.user("sup-nj", Role::Supervisor, "nj").await;
    let analyst = h.user("analyst", Role::Analyst, "ny").await;
    let admin = h.user("admin", Role::Admin, "root").await;
    let feed = h.user("elr-feed", Role::Integration, "ny").await;
    let team = h.cw.staff().add_team("Kings A", "ny-kings").await.unwrap();
    for u in [tracer.0, other_tracer.0, sup.0] {
        h.store.set_team_member(team.id, u, true).await.unwrap();
    }
    let (s, out) = h
        .call(
            &feed.1,
            Method::POST,
            "/api/v1/lab-results",
            Some(lab("K-1", "ny-kings")),
        )
        .await;
    assert_eq!(s, 201, "{out}");
    let case = out["case_id"].as_str().unwrap().to_string();
    let person = out["person_id"].as_str().unwrap().to_string();
    let task = h.store.tasks_for_case(case.parse().unwrap()).await.unwrap()[0]
        .id
        .to_string();
    let (s, out) = h
        .call(
            &sup.1,
            Method::POST,
            &format!("/api/v1/tasks/{task}/assign"),
            Some(json!({"user_id": tracer.0})),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    World {
        h,
        tracer,
        other_tracer,
        sup,
        sup_nj,
        analyst,
        admin,
        feed,
        case,
        person,
        task,
    }
}

/// How a list answer is judged: allowed and showing the record, allowed
/// but filtered, or refused.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Want {
    Ok,
    Created,
    Shown,
    Hidden,
    Denied,
}

/// (what, method, path, body — `null` for a fresh lab — and the expectation per caller).
type Row = (&'static str, Method, String, Option<Value>, [Want; 7]);

fn holds(v: &Value, id: &str) -> bool {
    v.to_string().contains(id)
}

#[tokio::test]
async fn every_phi_route_for_every_role() {
    let w = world().await;
    let (c, p, t) = (w.case.clone(), w.person.clone(), w.task.clone());
    use Want::*;
    // Callers in column order.
    let callers = [
        ("tracer on own task", &w.tracer.1),
        ("tracer on another's task", &w.other_tracer.1),
        ("supervisor in jurisdiction", &w.sup.1),
        ("supervisor elsewhere", &w.sup_nj.1),
        ("analyst", &w.analyst.1),
        ("admin", &w.admin.1),
        ("integration", &w.feed.1),
    ];
    let mut acc = 0;
    let rows: Vec<Row> = vec![
        (
            "submit lab",
            Method::POST,
            "/api/v1/lab-results".into(),
            Some(Value::Null),
            [Denied, Denied, Created, Denied, Denied, Denied, Created],
        ),
        (
            "list cases",
            Method::GET,
            "/api/v1/cases".into(),
            None,
            [Shown, Hidden, Shown, Hidden, Denied, Denied, Denied],
        ),
        (
            "read case",
            Method::GET,
            format!("/api/v1/cases/{c}"),
            None,
            [Ok, Denied, Ok, Denied, Denied, Denied, Denied],
        ),
        (
            "patch case",
            Method::PATCH,
            format!("/api/v1/cases/{c}"),
            Some(json!({"status": "interviewing"})),
            [Ok, Denied, Ok, Denied, Denied, Denied, Denied],
        ),
        (
            "name contact",
            Method::POST,
            format!("/api/v1/cases/{c}/contacts"),
            Some(
                json!({"first_name": "Bo", "last_name": "Lind", "phone": "+1 718 555 0123", "exposure_dates": ["2026-11-19"]}),
            ),
            [Created, Denied, Created, Denied, Denied, Denied, Denied],
        ),
        (
            "list contacts",
            Method::GET,
            format!("/api/v1/contacts?case_id={c}"),
            None,
            [Shown, Hidden, Shown, Hidden, Denied, Denied, Denied],
        ),
        (
            "search persons",
            Method::POST,
            "/api/v1/persons/search".into(),
            Some(json!({"phone": "+1 718 555 0199"})),
            [Shown, Hidden, Shown, Hidden, Denied, Denied, Denied],
        ),
        (
            "read person",
            Method::GET,
            format!("/api/v1/persons/{p}"),
            None,
            [Ok, Denied, Ok, Denied, Denied, Denied, Denied],
        ),
        (
            "line list",
            Method::GET,
            "/api/v1/line-list".into(),
            None,
            [Denied, Denied, Shown, Hidden, Shown, Denied, Denied],
        ),
        (
            "assign task",
            Method::POST,
            format!("/api/v1/tasks/{t}/assign"),
            Some(json!({"user_id": w.tracer.0})),
            [Denied, Denied, Ok, Denied, Denied, Denied, Denied],
        ),
        (
            "review break-glass",
            Method::GET,
            "/api/v1/break-glass".into(),
            None,
            [Denied, Denied, Ok, Ok, Denied, Denied, Denied],
        ),
    ];
    for (what, method, path, body, wants) in rows {
        for ((who, token), want) in callers.iter().zip(wants) {
            let body = body.as_ref().map(|b| {
                if b.is_null() {
                    acc += 1;
                    lab(&format!("M-{acc}"), "ny-kings")
                } else {
                    b.clone()
                }
            });
            let (s, v) = w.h.call(token, method.clone(), &path, body).await;
            let shown = holds(&v, &c) || holds(&v, &p);
            let ok = match want {
                Ok => s == 200,
                Created => s == 201,
                Shown => s == 200 && shown,
                Hidden => s == 200 && !shown,
                Denied => s == 403 && v["error"]["code"] == "forbidden",
            };
            assert!(ok, "{what} as {who}: wanted {want:?}, got {s} {v}");
            if s == 403 {
                let text = v.to_string();
                for phi in ["Adaeze", "Okonkwo", "5550199", "1980-03-04"] {
                    assert!(!text.contains(phi), "denial body leaks PHI: {text}");
                }
            }
        }
    }
}

#[tokio::test]
async fn idor_attempts_are_denied_and_audited() {
    let w = world().await;
    let h = &w.h;
    let before = h.store.audit_entries(0, 10_000).await.unwrap().len();
    // Another tracer swaps in a case id and a person id that are not theirs.
    let b = &w.other_tracer.1;
    assert_eq!(
        h.call(b, Method::GET, &format!("/api/v1/cases/{}", w.case), None)
            .await
            .0,
        403
    );
    assert_eq!(
        h.call(
            b,
            Method::GET,
            &format!("/api/v1/persons/{}", w.person),
            None
        )
        .await
        .0,
        403
    );
    // A supervisor elsewhere reassigns a task of another jurisdiction to themselves.
    let (s, _) = h
        .call(
            &w.sup_nj.1,
            Method::POST,
            &format!("/api/v1/tasks/{}/assign", w.task),
            Some(json!({"user_id": w.sup_nj.0})),
        )
        .await;
    assert_eq!(s, 403);
    // A feed writes into a jurisdiction outside its own through the body.
    let (s, _) = h
        .call(
            &w.feed.1,
            Method::POST,
            "/api/v1/lab-results",
            Some(lab("X-9", "nj")),
        )
        .await;
    assert_eq!(s, 403);
    let log = h.store.audit_entries(0, 10_000).await.unwrap();
    let denied: Vec<_> = log[before..]
        .iter()
        .filter(|e| e.draft.action == Action::Denied)
        .collect();
    assert_eq!(denied.len(), 4, "{denied:?}");
    assert_eq!(denied[0].draft.actor, format!("user:{}", w.other_tracer.0));
    assert_eq!(denied[0].draft.object_id.unwrap().to_string(), w.case);
    assert_eq!(denied[1].draft.object_id.unwrap().to_string(), w.person);
    assert_eq!(denied[2].draft.object_id.unwrap().to_string(), w.task);
    // Refusals of a case, a person or a task name whose record it was, so
    // they are part of that person's disclosure record.
    for d in &denied[..3] {
        assert_eq!(
            d.draft.person_id.map(|p| p.to_string()),
            Some(w.person.clone()),
            "{d:?}"
        );
    }
    // The task was not reassigned, and nothing from the refused batch was stored.
    let task = h
        .store
        .get_task(w.task.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(task.assignee_id, Some(w.tracer.0));
    assert_eq!(h.store.counts().await.unwrap().lab_results, 1);
}

#[tokio::test]
async fn break_glass_opens_one_hour_flagged_and_shown_to_the_supervisor() {
    let w = world().await;
    let h = &w.h;
    let b = &w.other_tracer.1;
    let path = format!("/api/v1/persons/{}", w.person);
    assert_eq!(h.call(b, Method::GET, &path, None).await.0, 403);
    let (s, v) = h
        .call(
            b,
            Method::POST,
            "/api/v1/break-glass",
            Some(json!({"person_id": w.person, "reason": "short"})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (reqwest::StatusCode::UNPROCESSABLE_ENTITY, Some("reason"))
    );
    let reason = "caller on the line says they are the case's carer";
    let (s, v) = h
        .call(
            b,
            Method::POST,
            "/api/v1/break-glass",
            Some(json!({"person_id": w.person, "reason": reason})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = h.call(b, Method::GET, &path, None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["person"]["first_name"], "Adaeze");
    // Flagged in the audit log, with the grant recorded.
    let log = h
        .store
        .audit_for_person(w.person.parse().unwrap())
        .await
        .unwrap();
    assert!(log.iter().any(|e| e.draft.action == Action::BreakGlass));
    assert!(log.iter().any(|e| e.draft.action == Action::PhiRead && e.draft.detail.ends_with("(break-glass)")));
    assert!(
        log.iter().all(|e| !e.draft.detail.contains("carer")),
        "the reason stays sealed"
    );
    // The tracer's supervisor sees it, with the reason; a supervisor of another team does not.
    let (_, review) = h
        .call(&w.sup.1, Method::GET, "/api/v1/break-glass", None)
        .await;
    assert_eq!(review["items"][0]["reason"], reason);
    assert_eq!(review["items"][0]["user_id"], w.other_tracer.0.to_string());
    // Reading the reasons is itself a read of that person's record.
    let log = h.store.audit_entries(0, 10_000).await.unwrap();
    assert!(
        log.iter().any(|e| e.draft.action == Action::PhiRead
            && e.draft.detail == "GET /api/v1/break-glass"
            && e.draft.person_id.map(|p| p.to_string()) == Some(w.person.clone())),
        "the review is audited"
    );
    let (_, other) = h
        .call(&w.sup_nj.1, Method::GET, "/api/v1/break-glass", None)
        .await;
    assert_eq!(other["items"].as_array().unwrap().len(), 0);
    // An hour later the glass is whole again.
    h.advance(Duration::minutes(61));
    assert_eq!(h.call(b, Method::GET, &path, None).await.0, 403);
    // Integrations cannot break the glass at all.
    let (s, _) = h
        .call(
            &w.feed.1,
            Method::POST,
            "/api/v1/break-glass",
            Some(json!({"person_id": w.person, "reason": reason})),
        )
        .await;
    assert_eq!(s, 403);
    let _ = (&w.analyst, &w.admin);
}

#[tokio::test]
async fn line_list_is_de_identified() {
    let w = world().await;
    let (s, v) =
        w.h.call(&w.analyst.1, Method::GET, "/api/v1/line-list", None)
            .await;
    assert_eq!(s, 200);
    let row = &v["items"][0];
    assert_eq!(row["case_id"], w.case);
    assert_eq!(row["age_band"], "40-49");
    assert_eq!(row["jurisdiction"], "ny-kings");
    let text = v.to_string();
    for phi in ["Adaeze", "Okonkwo", "5550199", "1980-03-04", &w.person] {
        assert!(!text.contains(phi), "line list leaks {phi}: {text}");
    }
}

#[tokio::test]
async fn an_analyst_with_a_phi_grant_reads_records_in_their_jurisdiction() {
    let w = world().await;
    let h = &w.h;
    let path = format!("/api/v1/cases/{}", w.case);
    assert_eq!(h.call(&w.analyst.1, Method::GET, &path, None).await.0, 403);
    h.cw.staff().set_phi_grant("analyst", true).await.unwrap();
    // A token's caller is re-read after at most CallerCache::TTL.
    tokio::time::sleep(
        tracedesk_server::auth::CallerCache::TTL + std::time::Duration::from_millis(100),
    )
    .await;
    let (s, v) = h.call(&w.analyst.1, Method::GET, &path, None).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = h
        .call(&w.analyst.1, Method::GET, "/api/v1/cases", None)
        .await;
    assert_eq!(s, 200);
    assert!(holds(&v, &w.case));
    // Outside their jurisdiction (ny) nothing opens.
    let other = json!({"first_name": "Ilse", "last_name": "Brandt", "dob": "1975-07-08",
        "specimen_date": "2026-11-20", "result": "positive", "accession": "NJ-1", "jurisdiction": "nj"});
    let (_, nj) = h
        .call(
            &w.sup_nj.1,
            Method::POST,
            "/api/v1/lab-results",
            Some(other),
        )
        .await;
    let nj_case = nj["case_id"].as_str().unwrap();
    let (s, _) = h
        .call(
            &w.analyst.1,
            Method::GET,
            &format!("/api/v1/cases/{nj_case}"),
            None,
        )
        .await;
    assert_eq!(s, 403);
    // Integrations cannot be granted.
    assert!(h.cw.staff().set_phi_grant("elr-feed", true).await.is_err());
}

/// The route table refuses a role before any handler runs, and the refusal
/// is audited under the route's own name: a tracer on the supervisors'
/// routing statistics, an analyst on the case list, a tracer submitting
/// lab results.
#[tokio::test]
async fn a_role_short_of_a_route_is_refused_by_the_table_and_audited() {
    let h = crate::common::spawn_routing().await;
    let (_, tracer) = h.user("table-tracer", Role::Tracer, "ny").await;
    let (_, analyst) = h.user("table-analyst", Role::Analyst, "ny").await;
    for (token, method, path, route) in [
        (
            &tracer,
            Method::GET,
            "/api/v1/routing/stats",
            "GET /api/v1/routing/stats",
        ),
        (&analyst, Method::GET, "/api/v1/cases", "GET /api/v1/cases"),
        (
            &tracer,
            Method::POST,
            "/api/v1/lab-results",
            "POST /api/v1/lab-results",
        ),
    ] {
        let body = (method == Method::POST).then(|| json!({}));
        let (status, _) = h.call(token, method, path, body).await;
        assert_eq!(status, 403, "{route}");
        let log = h.store.audit_entries(0, 10_000).await.unwrap();
        assert!(
            log.iter().any(|e| e.draft.action == Action::Denied
                && e.draft.object == "route"
                && e.draft.detail == route),
            "{route}: the refusal is audited"
        );
    }
}
