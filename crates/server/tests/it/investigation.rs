//! Case investigation over the API (issue 13): the contact lifecycle,
//! data quality at naming and intake, conversion and chains, households,
//! notes and attempts, the investigator's access, and the person view —
//! each with a caller who must be refused.

use crate::common::Harness;
use chrono::{Days, NaiveDate};
use reqwest::Method;
use serde_json::{Value, json};
use tracedesk_identity::Role;
use uuid::Uuid;

struct Desk {
    h: Harness,
    /// A New York supervisor and a New Jersey one (a sibling jurisdiction).
    ny: String,
    nj: String,
}

async fn desk() -> Desk {
    let h = crate::common::spawn(Default::default()).await;
    let (_, ny) = h.user("ny-sup", Role::Supervisor, "ny").await;
    let (_, nj) = h.user("nj-sup", Role::Supervisor, "nj").await;
    Desk { h, ny, nj }
}

fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

fn ago(days: u64) -> String {
    (today() - Days::new(days)).to_string()
}

fn id(v: &Value) -> Uuid {
    v.as_str()
        .unwrap_or_else(|| panic!("not an id: {v}"))
        .parse()
        .unwrap()
}

impl Desk {
    async fn call(&self, token: &str, m: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let (st, v) = self.h.call(token, m, path, body).await;
        (st.as_u16(), v)
    }

    async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        self.call(token, Method::GET, path, None).await
    }

    /// Records a lab result as the New York supervisor; its outcome.
    async fn lab(&self, body: Value) -> Value {
        let (st, out) = self
            .call(&self.ny, Method::POST, "/api/v1/lab-results", Some(body))
            .await;
        assert!(st == 201 || st == 200, "{st}: {out}");
        out
    }

    /// A positive for a new person in New York; (case, person).
    async fn case(&self, first: &str, last: &str, acc: &str) -> (Uuid, Uuid) {
        let out = self
            .lab(
                json!({"first_name": first, "last_name": last, "dob": "1980-01-02",
                "specimen_date": ago(3), "result": "positive", "accession": acc,
                "jurisdiction": "ny"}),
            )
            .await;
        (id(&out["case_id"]), id(&out["person_id"]))
    }

    async fn name(&self, case: Uuid, body: Value) -> (u16, Value) {
        self.call(
            &self.ny,
            Method::POST,
            &format!("/api/v1/cases/{case}/contacts"),
            Some(body),
        )
        .await
    }

    async fn patch_contact(&self, token: &str, exposure: Uuid, body: Value) -> (u16, Value) {
        self.call(
            token,
            Method::PATCH,
            &format!("/api/v1/contacts/{exposure}"),
            Some(body),
        )
        .await
    }

    /// Case A (Ana) names Rui with `setting`; Rui tests positive: (A, the
    /// naming's answer, Rui's new case).
    async fn chain(&self, tag: &str, setting: &str) -> (Uuid, Value, Uuid) {
        let (a, _) = self.case("Ana", "Lima", &format!("{tag}-1")).await;
        let (_, named) = self
            .name(
                a,
                json!({"first_name": "Rui", "last_name": "Costa", "dob": "1990-05-06",
                       "exposure_dates": [ago(5)], "setting": setting}),
            )
            .await;
        let out = self
            .lab(
                json!({"first_name": "Rui", "last_name": "Costa", "dob": "1990-05-06",
                "specimen_date": ago(1), "result": "positive", "accession": format!("{tag}-2"),
                "jurisdiction": "ny"}),
            )
            .await;
        assert_eq!(out["case_created"], true, "{out}");
        (a, named, id(&out["case_id"]))
    }

    async fn contact(&self, exposure: Uuid) -> tracedesk_store::ExposureRow {
        self.h.store.get_exposure(exposure).await.unwrap().unwrap()
    }
}

/// Every legal step of the contact lifecycle is taken and every illegal
/// one refused (409, nothing changed); the statuses case work sets itself
/// cannot be set by hand; a bad patch changes nothing; monitoring ends by
/// itself when quarantine is over.
#[tokio::test]
async fn contact_lifecycle_legal_and_refused() {
    let d = desk().await;
    let (case, _) = d.case("Ana", "Lima", "L-1").await;
    let (st, named) = d
        .name(
            case,
            json!({"first_name": "Rui", "last_name": "Costa", "phone": "+12125550101",
                   "exposure_dates": [ago(2)], "setting": "workplace"}),
        )
        .await;
    assert_eq!(st, 201, "{named}");
    assert_eq!(named["resolution"], "named");
    let e = id(&named["exposure_id"]);
    for (to, want) in [
        ("monitoring", 409),
        ("completed", 409),
        ("notified", 200),
        ("named", 409),
        ("monitoring", 200),
        ("symptomatic", 200),
        ("referred_for_testing", 200),
        ("monitoring", 200),
        ("completed", 200),
        ("monitoring", 409),
        ("lost", 409),
    ] {
        let before = d.contact(e).await.status;
        let (st, body) = d.patch_contact(&d.ny, e, json!({ "status": to })).await;
        assert_eq!(st, want, "{before} -> {to}: {body}");
        if want != 200 {
            assert_eq!(
                d.contact(e).await.status,
                before,
                "a refused step changes nothing"
            );
            assert!(body["error"]["message"].as_str().unwrap().contains(&before));
        }
    }
    for by_hand in ["converted", "already_a_case", "bogus"] {
        let (st, body) = d
            .patch_contact(&d.ny, e, json!({ "status": by_hand }))
            .await;
        assert_eq!(st, 422, "{by_hand}: {body}");
        assert_eq!(body["error"]["field"], "status");
    }
    // Closed: its dates are final.
    let (st, _) = d
        .patch_contact(&d.ny, e, json!({ "exposure_dates": [ago(1)] }))
        .await;
    assert_eq!(st, 409);

    // Other ways out: unreachable → lost; named → transferred.
    for path in [&["unreachable", "lost"][..], &["transferred"][..]] {
        let (_, n) = d
            .name(
                case,
                json!({"first_name": "Eva", "last_name": format!("Path{}", path.len()),
                       "dob": "1985-01-01", "exposure_dates": [ago(2)]}),
            )
            .await;
        let e = id(&n["exposure_id"]);
        for to in path {
            let (st, body) = d.patch_contact(&d.ny, e, json!({ "status": to })).await;
            assert_eq!(st, 200, "{to}: {body}");
        }
        assert!(
            d.h.store
                .tasks_for_case(case)
                .await
                .unwrap()
                .iter()
                .filter(|t| t.exposure_id == Some(e))
                .all(|t| t.status == "canceled"),
            "a closed record's notification task ends"
        );
    }

    // A bad patch is refused whole: nothing of it is written.
    let (_, n) = d
        .name(
            case,
            json!({"first_name": "Ivo", "last_name": "Bad", "dob": "1985-01-01", "exposure_dates": [ago(3)]}),
        )
        .await;
    let e = id(&n["exposure_id"]);
    let was = d.contact(e).await;
    let (st, body) = d
        .patch_contact(
            &d.ny,
            e,
            json!({"status": "notified", "exposure_dates": ["2026-13-40"], "note": "x"}),
        )
        .await;
    assert_eq!(st, 422, "{body}");
    assert_eq!(body["error"]["field"], "exposure_dates[0]");
    assert_eq!(d.contact(e).await, was);
    let (_, notes) = d.get(&d.ny, &format!("/api/v1/contacts/{e}/notes")).await;
    assert_eq!(notes["items"].as_array().unwrap().len(), 0);
    // A sibling jurisdiction's supervisor cannot touch it.
    let (st, _) = d
        .patch_contact(&d.nj, e, json!({"status": "notified"}))
        .await;
    assert_eq!(st, 403);
    assert_eq!(d.contact(e).await, was);

    // Monitoring ends by itself once quarantine is over (the hourly job).
    let (st, _) = d
        .patch_contact(&d.ny, e, json!({"status": "notified"}))
        .await;
    assert_eq!(st, 200);
    let (st, _) = d
        .patch_contact(&d.ny, e, json!({"status": "monitoring"}))
        .await;
    assert_eq!(st, 200);
    assert!(d.h.cw.cases().end_monitoring().await.unwrap().is_empty());
    d.h.advance(chrono::Duration::days(15));
    let ended = d.h.cw.cases().end_monitoring().await.unwrap();
    assert!(ended.contains(&e), "{ended:?}");
    assert_eq!(d.contact(e).await.status, "completed");
}

/// A case cannot name its own person; the same contact named twice on one
/// case is one record with the dates united and one task; naming an open
/// case records the case-to-case exposure with no quarantine and no task.
#[tokio::test]
async fn naming_refuses_self_merges_repeats_and_links_cases() {
    let d = desk().await;
    let (case, _) = d.case("Ana", "Lima", "S-1").await;
    let before = d.h.store.counts().await.unwrap();
    let (st, body) = d
        .name(
            case,
            json!({"first_name": "Ana", "last_name": "Lima", "dob": "1980-01-02",
                   "exposure_dates": [ago(1)]}),
        )
        .await;
    assert_eq!(st, 422, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("own contact")
    );
    let after = d.h.store.counts().await.unwrap();
    assert_eq!(
        (after.exposures, after.tasks, after.persons),
        (before.exposures, before.tasks, before.persons),
        "nothing written"
    );

    let rui = |date: String| {
        json!({"first_name": "Rui", "last_name": "Costa", "phone": "212-555-0102",
               "exposure_dates": [date], "setting": "workplace"})
    };
    let (st, first) = d.name(case, rui(ago(4))).await;
    assert_eq!(st, 201, "{first}");
    let (st, again) = d.name(case, rui(ago(1))).await;
    assert_eq!(st, 201, "{again}");
    assert_eq!(again["resolution"], "merged");
    assert_eq!(again["exposure_id"], first["exposure_id"]);
    assert!(again["task_id"].is_null());
    assert_eq!(again["first_exposure"], ago(4));
    assert_eq!(again["last_exposure"], ago(1));
    let e = d.contact(id(&first["exposure_id"])).await;
    assert_eq!(
        (e.first_exposure.to_string(), e.last_exposure.to_string()),
        (ago(4), ago(1))
    );
    assert_eq!(e.quarantine_end, today() - Days::new(1) + Days::new(14));
    let tasks = d.h.store.tasks_for_case(case).await.unwrap();
    assert_eq!(
        tasks.iter().filter(|t| t.exposure_id == Some(e.id)).count(),
        1,
        "one notification task"
    );

    // An open case named as a contact.
    let (other_case, _) = d.case("Bea", "Sousa", "S-2").await;
    let (st, linked) = d
        .name(
            case,
            json!({"first_name": "Bea", "last_name": "Sousa", "dob": "1980-01-02",
                   "exposure_dates": [ago(2)]}),
        )
        .await;
    assert_eq!(st, 201, "{linked}");
    assert_eq!(linked["resolution"], "already_a_case");
    assert_eq!(linked["contact_case_id"], other_case.to_string());
    assert!(linked["task_id"].is_null());
    assert_eq!(linked["quarantine_end"], ago(2), "no quarantine");
    let row = d.contact(id(&linked["exposure_id"])).await;
    assert_eq!(row.status, "already_a_case");
    assert_eq!(row.contact_case_id, Some(other_case));
}

/// A positive for someone under follow-up converts their contact record,
/// links the new case to the naming one, ends the notification task and
/// routes an interview; the chain shows the link, only to those who may
/// see both cases.
#[tokio::test]
async fn a_positive_converts_the_contact_and_links_the_chain() {
    let d = desk().await;
    let (a, named, b) = d.chain("C", "household").await;
    let e = id(&named["exposure_id"]);
    let notify = id(&named["task_id"]);
    let row = d.contact(e).await;
    assert_eq!(row.status, "converted");
    assert_eq!(row.contact_case_id, Some(b));
    let task = d.h.store.get_task(notify).await.unwrap().unwrap();
    assert_eq!(task.status, "canceled", "the notification is pointless now");
    let interview = d.h.store.tasks_for_case(b).await.unwrap();
    assert!(
        interview
            .iter()
            .any(|t| t.kind == "case_interview" && t.status == "pending"),
        "{interview:?}"
    );

    let (st, g) = d.get(&d.ny, &format!("/api/v1/cases/{b}/chain")).await;
    assert_eq!(st, 200, "{g}");
    let nodes: Vec<Uuid> = g["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| id(&n["id"]))
        .collect();
    assert_eq!(nodes.len(), 2, "{g}");
    assert!(nodes.contains(&a) && nodes.contains(&b));
    assert_eq!(g["edges"][0]["from"], a.to_string());
    assert_eq!(g["edges"][0]["to"], b.to_string());
    assert_eq!(g["hidden"], 0);
    let (st, _) = d.get(&d.nj, &format!("/api/v1/cases/{b}/chain")).await;
    assert_eq!(st, 403, "a sibling jurisdiction sees no chain");

    // A third case, New Jersey's, converted from a New York contact: New
    // York's chain counts it hidden and shows no edge to it.
    let (_, named) = d
        .name(
            b,
            json!({"first_name": "Zoe", "last_name": "Adler", "dob": "1970-07-08",
                   "exposure_dates": [ago(1)]}),
        )
        .await;
    let (st, out) = d
        .call(
            &d.nj,
            Method::POST,
            "/api/v1/lab-results",
            Some(
                json!({"first_name": "Zoe", "last_name": "Adler", "dob": "1970-07-08",
                "specimen_date": ago(0), "result": "positive", "accession": "NJ-9",
                "jurisdiction": "nj"}),
            ),
        )
        .await;
    assert_eq!(st, 201, "{out}");
    assert_eq!(
        d.contact(id(&named["exposure_id"])).await.status,
        "converted"
    );
    let (_, g) = d.get(&d.ny, &format!("/api/v1/cases/{a}/chain")).await;
    assert_eq!(g["nodes"].as_array().unwrap().len(), 2, "{g}");
    assert_eq!(g["edges"].as_array().unwrap().len(), 1, "{g}");
    assert_eq!(g["hidden"], 1);
    let (st, body) = d
        .get(&d.ny, &format!("/api/v1/cases/{a}/chain?depth=0"))
        .await;
    assert_eq!(st, 422, "{body}");
}

/// A household contact whose exposure goes on quarantines until 14 days
/// after the case's isolation ends, and the end moves when isolation does
/// (symptom-based: a late fever-free day, severe illness).
#[tokio::test]
async fn household_quarantine_follows_isolation() {
    let d = desk().await;
    let (case, _) = d.case("Ana", "Lima", "H-1").await;
    let (st, bad) = d
        .name(
            case,
            json!({"first_name": "Rui", "last_name": "Lima", "dob": "1985-01-01", "exposure_dates": [ago(1)],
                   "setting": "workplace", "ongoing_exposure": true}),
        )
        .await;
    assert_eq!(st, 422, "{bad}");
    let (st, named) = d
        .name(
            case,
            json!({"first_name": "Rui", "last_name": "Lima", "dob": "1985-01-01", "exposure_dates": [ago(1)],
                   "setting": "household", "ongoing_exposure": true}),
        )
        .await;
    assert_eq!(st, 201, "{named}");
    let e = id(&named["exposure_id"]);
    let iso = |c: &Value| {
        NaiveDate::parse_from_str(c["isolation_end"].as_str().unwrap(), "%Y-%m-%d").unwrap()
    };
    let (_, c) = d.get(&d.ny, &format!("/api/v1/cases/{case}")).await;
    let end = iso(&c["case"]);
    assert_eq!(d.contact(e).await.quarantine_end, end + Days::new(14));

    let patch = |body: Value| {
        let d = &d;
        async move {
            let (st, c) = d
                .call(
                    &d.ny,
                    Method::PATCH,
                    &format!("/api/v1/cases/{case}"),
                    Some(body),
                )
                .await;
            assert_eq!(st, 200, "{c}");
            c
        }
    };
    let c =
        patch(json!({"onset_date": ago(4), "fever_free_since": ago(0), "improving": false})).await;
    assert_eq!(iso(&c), today() - Days::new(4) + Days::new(10));
    let holds: Vec<&str> = c["release_holds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["code"].as_str().unwrap())
        .collect();
    assert_eq!(holds, ["too_soon", "fever_too_recent", "not_improving"]);
    assert_eq!(d.contact(e).await.quarantine_end, iso(&c) + Days::new(14));
    let c = patch(json!({"severe": true})).await;
    assert_eq!(iso(&c), today() - Days::new(4) + Days::new(20));
    assert_eq!(
        d.contact(e).await.quarantine_end,
        iso(&c) + Days::new(14),
        "quarantine moved with isolation"
    );
    let (st, body) = d
        .call(
            &d.ny,
            Method::PATCH,
            &format!("/api/v1/cases/{case}"),
            Some(json!({"fever_free_since": ago(10)})),
        )
        .await;
    assert_eq!(st, 422, "fever-free before onset: {body}");
    // Ending the ongoing exposure: quarantine runs from the last exposure.
    let (st, v) = d
        .patch_contact(&d.ny, e, json!({"ongoing_exposure": false}))
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        v["quarantine_end"],
        (today() - Days::new(1) + Days::new(14)).to_string()
    );
}

/// Notes are added, never overwritten, each with its author; outreach
/// attempts are recorded on a task and listed; the investigator keeps the
/// case after the interview and loses it on reassignment; a sibling
/// jurisdiction and a tracer without the case are refused.
#[tokio::test]
async fn notes_attempts_and_the_investigators_access() {
    let d = desk().await;
    let (t1, t1_token) = d.h.user("tracer-1", Role::Tracer, "ny").await;
    let (t2, t2_token) = d.h.user("tracer-2", Role::Tracer, "ny").await;
    let (nj_tracer, _) = d.h.user("tracer-nj", Role::Tracer, "nj").await;
    let (case, _) = d.case("Ana", "Lima", "N-1").await;
    let interview = d.h.store.tasks_for_case(case).await.unwrap()[0].clone();
    let (st, body) = d
        .call(
            &d.ny,
            Method::POST,
            &format!("/api/v1/tasks/{}/assign", interview.id),
            Some(json!({"user_id": t1})),
        )
        .await;
    assert_eq!(st, 200, "{body}");
    let (st, named) = d
        .call(
            &t1_token,
            Method::POST,
            &format!("/api/v1/cases/{case}/contacts"),
            Some(
                json!({"first_name": "Rui", "last_name": "Costa", "dob": "1985-01-01",
                        "exposure_dates": [ago(1)], "notes": "met at lunch"}),
            ),
        )
        .await;
    assert_eq!(st, 201, "{named}");
    let e = id(&named["exposure_id"]);

    // Notes: added, never overwritten, with their authors.
    for text in ["first call", "second call"] {
        let (st, body) = d
            .call(
                &t1_token,
                Method::PATCH,
                &format!("/api/v1/cases/{case}"),
                Some(json!({"status": "interviewing", "notes": text})),
            )
            .await;
        assert_eq!(st, 200, "{body}");
    }
    let (st, body) = d
        .call(
            &d.ny,
            Method::POST,
            &format!("/api/v1/cases/{case}/notes"),
            Some(json!({"text": "reviewed"})),
        )
        .await;
    assert_eq!(st, 201, "{body}");
    let (_, notes) = d
        .get(&t1_token, &format!("/api/v1/cases/{case}/notes"))
        .await;
    let texts: Vec<&str> = notes["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["first call", "second call", "reviewed"]);
    assert_eq!(notes["items"][0]["author_id"], t1.to_string());
    let (_, cnotes) = d
        .get(&t1_token, &format!("/api/v1/contacts/{e}/notes"))
        .await;
    assert_eq!(cnotes["items"][0]["text"], "met at lunch");
    let (st, body) = d
        .call(
            &d.ny,
            Method::POST,
            &format!("/api/v1/cases/{case}/notes"),
            Some(json!({"text": ""})),
        )
        .await;
    assert_eq!(st, 422, "{body}");

    // Attempts on the interview task.
    let path = format!("/api/v1/tasks/{}/attempts", interview.id);
    let (st, body) = d
        .call(
            &t1_token,
            Method::POST,
            &path,
            Some(json!({"channel": "phone", "outcome": "no_answer"})),
        )
        .await;
    assert_eq!(st, 201, "{body}");
    let (st, body) = d
        .call(&t1_token, Method::POST, &path,
            Some(json!({"channel": "phone", "outcome": "call_back", "callback_at": "2030-01-01T15:00:00Z"})))
        .await;
    assert_eq!(st, 201, "{body}");
    for bad in [
        json!({"channel": "pigeon", "outcome": "reached"}),
        json!({"channel": "sms", "outcome": "call_back"}),
        json!({"channel": "sms", "outcome": "reached", "callback_at": "2030-01-01T15:00:00Z"}),
    ] {
        let (st, body) = d.call(&t1_token, Method::POST, &path, Some(bad)).await;
        assert_eq!(st, 422, "{body}");
    }
    let (st, list) = d.get(&t1_token, &path).await;
    assert_eq!(st, 200, "{list}");
    let outcomes: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["no_answer", "call_back"]);
    assert_eq!(list["items"][1]["author_id"], t1.to_string());
    let (st, _) = d.get(&t2_token, &path).await;
    assert_eq!(st, 403, "a tracer without the task");
    let (st, _) = d
        .call(
            &d.nj,
            Method::POST,
            &path,
            Some(json!({"channel": "sms", "outcome": "reached"})),
        )
        .await;
    assert_eq!(st, 403, "a sibling jurisdiction");

    // The interview done (routing's progress, as the leader writes it once
    // it has followed the hand assignment and the tracer completes), the
    // investigator keeps the case and the contact it named while it is open.
    for status in ["assigned", "completed"] {
        d.h.store
            .append_routing_events(
                &[],
                &[tracedesk_store::TaskProgress {
                    id: interview.id,
                    status,
                    assignee: Some(t1),
                }],
            )
            .await
            .unwrap();
    }
    assert_eq!(
        d.h.store
            .get_task(interview.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        "completed"
    );
    let get = |token: String, path: String| {
        let d = &d;
        async move { d.get(&token, &path).await.0 }
    };
    assert_eq!(
        get(t1_token.clone(), format!("/api/v1/cases/{case}")).await,
        200
    );
    let (_, mine) = d.get(&t1_token, "/api/v1/contacts").await;
    assert!(
        mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["exposure_id"] == e.to_string())
    );
    assert_eq!(
        get(t2_token.clone(), format!("/api/v1/cases/{case}")).await,
        403
    );

    // Reassigned: the old investigator is out, the new one in.
    let inv = format!("/api/v1/cases/{case}/investigator");
    let (st, _) = d
        .call(&t1_token, Method::PUT, &inv, Some(json!({"user_id": t2})))
        .await;
    assert_eq!(st, 403, "a tracer cannot hand out cases");
    let (st, _) = d
        .call(&d.nj, Method::PUT, &inv, Some(json!({"user_id": t2})))
        .await;
    assert_eq!(st, 403, "nor a sibling jurisdiction's supervisor");
    let (st, body) = d
        .call(
            &d.ny,
            Method::PUT,
            &inv,
            Some(json!({"user_id": nj_tracer})),
        )
        .await;
    assert_eq!(st, 422, "a tracer of another jurisdiction: {body}");
    let (st, body) = d
        .call(&d.ny, Method::PUT, &inv, Some(json!({"user_id": t2})))
        .await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["investigator_id"], t2.to_string());
    // The hold itself is not handed out like routed work.
    let hold =
        d.h.store
            .tasks_for_case(case)
            .await
            .unwrap()
            .into_iter()
            .find(|t| t.kind == "investigation" && t.status == "assigned")
            .unwrap();
    let (st, body) = d
        .call(
            &d.ny,
            Method::POST,
            &format!("/api/v1/tasks/{}/assign", hold.id),
            Some(json!({"user_id": t1})),
        )
        .await;
    assert_eq!(st, 409, "{body}");
    assert_eq!(
        get(t1_token.clone(), format!("/api/v1/cases/{case}")).await,
        403
    );
    assert_eq!(
        get(t2_token.clone(), format!("/api/v1/cases/{case}")).await,
        200
    );
    assert_eq!(
        get(t2_token.clone(), format!("/api/v1/contacts/{e}/notes")).await,
        200
    );
    assert_eq!(
        get(t1_token.clone(), format!("/api/v1/contacts/{e}/notes")).await,
        403
    );
    // Closed: nobody investigates it any more.
    let (st, _) = d
        .call(
            &d.ny,
            Method::PATCH,
            &format!("/api/v1/cases/{case}"),
            Some(json!({"status": "closed"})),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(
        get(t2_token.clone(), format!("/api/v1/cases/{case}")).await,
        403
    );
    let (st, _) = d
        .call(&d.ny, Method::PUT, &inv, Some(json!({"user_id": t1})))
        .await;
    assert_eq!(st, 409);
}

/// Matching keeps new facts: a new phone on a match is added (and finds
/// the person), a missing date of birth is filled in; accessions are one
/// per lab, trimmed, case-insensitive; a duplicate that disagrees is a
/// conflict kept for review; the reinfection window decides the case.
#[tokio::test]
async fn matching_keeps_facts_and_accessions_and_reinfection() {
    let d = desk().await;
    let first = d
        .lab(
            json!({"first_name": "Ana", "last_name": "Lima", "dob": "1980-01-02",
            "phone": "+12125550111", "specimen_date": ago(120), "result": "positive",
            "accession": "acc-1", "lab": "North Lab", "jurisdiction": "ny"}),
        )
        .await;
    let person = id(&first["person_id"]);
    let case = id(&first["case_id"]);
    let search = |phone: &'static str| {
        let d = &d;
        async move {
            let (st, found) = d
                .call(
                    &d.ny,
                    Method::POST,
                    "/api/v1/persons/search",
                    Some(json!({"phone": phone})),
                )
                .await;
            assert_eq!(st, 200, "{found}");
            found["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| id(&p["id"]))
                .collect::<Vec<_>>()
        }
    };
    assert!(search("+12125550122").await.is_empty());
    // The same person with a new phone, 45 days later: the same infection.
    let second = d
        .lab(
            json!({"first_name": "Ana", "last_name": "Lima", "dob": "1980-01-02",
            "phone": "+12125550122", "specimen_date": ago(75), "result": "positive",
            "accession": "acc-2", "lab": "North Lab", "jurisdiction": "ny"}),
        )
        .await;
    assert_eq!(second["person_id"], person.to_string());
    assert_eq!(
        second["case_id"],
        case.to_string(),
        "within 90 days: the same case"
    );
    assert!(second.get("case_created").is_none_or(|v| v == false));
    assert_eq!(
        search("+12125550122").await,
        [person],
        "the new phone finds them"
    );
    assert_eq!(
        search("+12125550111").await,
        [person],
        "and the old one still does"
    );
    let (_, p) = d.get(&d.ny, &format!("/api/v1/persons/{person}")).await;
    assert_eq!(p["person"]["phone"], "+12125550111");
    let hist: Vec<&str> = p["identity_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["value"].as_str().unwrap())
        .collect();
    assert_eq!(hist, ["+12125550122"], "{p}");
    assert_eq!(p["cases"].as_array().unwrap().len(), 1);
    let (st, np) = d.get(&d.nj, &format!("/api/v1/persons/{person}")).await;
    assert_eq!(st, 403, "{np}");
    let (st, none) = d
        .get(&d.nj, &format!("/api/v1/cases?person_id={person}"))
        .await;
    assert_eq!(st, 200);
    assert!(
        none["items"].as_array().unwrap().is_empty(),
        "scoped: {none}"
    );
    let (_, mine) = d
        .get(&d.ny, &format!("/api/v1/cases?person_id={person}"))
        .await;
    assert_eq!(mine["items"][0]["id"], case.to_string());

    // Closed, then a positive 100 days after the first: a new infection.
    let (st, _) = d
        .call(
            &d.ny,
            Method::PATCH,
            &format!("/api/v1/cases/{case}"),
            Some(json!({"status": "closed"})),
        )
        .await;
    assert_eq!(st, 200);
    let late = d
        .lab(
            json!({"first_name": "Ana", "last_name": "Lima", "dob": "1980-01-02",
            "specimen_date": ago(20), "result": "positive", "accession": "acc-3",
            "lab": "North Lab", "jurisdiction": "ny"}),
        )
        .await;
    assert_eq!(late["case_created"], true, "{late}");
    assert_ne!(late["case_id"], case.to_string());

    // Accessions: trimmed, any case, per lab.
    let dup = d
        .lab(
            json!({"first_name": "Ana", "last_name": "Lima", "dob": "1980-01-02",
            "specimen_date": ago(120), "result": "positive", "accession": "  ACC-1 ",
            "lab": "north  lab", "jurisdiction": "ny"}),
        )
        .await;
    assert_eq!(dup["status"], "duplicate", "{dup}");
    let other_lab = d
        .lab(
            json!({"first_name": "Ana", "last_name": "Lima", "dob": "1980-01-02",
            "specimen_date": ago(120), "result": "positive", "accession": "ACC-1",
            "lab": "South Lab", "jurisdiction": "ny"}),
        )
        .await;
    assert_eq!(
        other_lab["status"], "recorded",
        "another lab's accession: {other_lab}"
    );
    // The same accession with another result, or for another person: a
    // conflict (409), kept for review, no value echoed.
    for body in [
        json!({"first_name": "Ana", "last_name": "Lima", "dob": "1980-01-02",
            "specimen_date": ago(120), "result": "negative", "accession": "acc-1",
            "lab": "North Lab", "jurisdiction": "ny"}),
        json!({"first_name": "Zed", "last_name": "Other", "dob": "1999-09-09",
            "specimen_date": ago(120), "result": "positive", "accession": "ACC-1",
            "lab": "North Lab", "jurisdiction": "ny"}),
    ] {
        let (st, conflict) = d
            .call(&d.ny, Method::POST, "/api/v1/lab-results", Some(body))
            .await;
        assert_eq!(st, 409, "{conflict}");
        assert_eq!(conflict["error"]["field"], "accession");
        assert!(
            !conflict.to_string().contains("negative"),
            "no value echoed"
        );
    }
    let kept =
        d.h.store
            .entries(
                tracedesk_store::EntryOwner::Person(person),
                Some("accession_conflict"),
            )
            .await
            .unwrap();
    assert_eq!(kept.len(), 2, "both conflicts are kept");

    // A contact known by phone only; their later result fills in the
    // date of birth.
    let (c2, _) = d.case("Bea", "Sousa", "F-1").await;
    let (_, named) = d
        .name(
            c2,
            json!({"first_name": "Caio", "last_name": "Reis", "phone": "+12125550133",
                       "exposure_dates": [ago(2)]}),
        )
        .await;
    let caio = id(&named["contact_person_id"]);
    let out = d
        .lab(
            json!({"first_name": "Caio", "last_name": "Reis", "phone": "+12125550133",
            "dob": "1991-02-03", "specimen_date": ago(1), "result": "negative",
            "accession": "F-2", "jurisdiction": "ny"}),
        )
        .await;
    assert_eq!(out["person_id"], caio.to_string());
    let (_, p) = d.get(&d.ny, &format!("/api/v1/persons/{caio}")).await;
    assert_eq!(p["person"]["dob"], "1991-02-03", "{p}");
    assert_eq!(p["exposures"].as_array().unwrap().len(), 1);
    assert_eq!(p["lab_results"].as_array().unwrap().len(), 1);
}

/// A household over the API: recorded on the case, shown with the case's
/// entitlement, refused to a sibling jurisdiction; contacts of contacts are
/// refused while `contact_depth` is 1.
#[tokio::test]
async fn households_and_contacts_of_contacts_over_the_api() {
    let d = desk().await;
    let (case, person) = d.case("Ana", "Lima", "HH-1").await;
    let (_, named) = d
        .name(
            case,
            json!({"first_name": "Rui", "last_name": "Lima", "dob": "1985-01-01",
                   "exposure_dates": [ago(1)]}),
        )
        .await;
    let e = id(&named["exposure_id"]);
    let path = format!("/api/v1/cases/{case}/household");
    let (st, _) = d.get(&d.ny, &path).await;
    assert_eq!(st, 404, "none yet");
    let body = json!({"address": "1 Shared St", "contact_ids": [e], "ongoing_exposure": true});
    let (st, _) = d.call(&d.nj, Method::PUT, &path, Some(body.clone())).await;
    assert_eq!(st, 403);
    let (st, h) = d.call(&d.ny, Method::PUT, &path, Some(body)).await;
    assert_eq!(st, 200, "{h}");
    assert_eq!(h["members"].as_array().unwrap().len(), 2);
    let (st, h) = d.get(&d.ny, &path).await;
    assert_eq!(st, 200, "{h}");
    assert_eq!(h["address"], "1 Shared St");
    let (st, _) = d.get(&d.nj, &path).await;
    assert_eq!(st, 403);
    let row = d.contact(e).await;
    assert_eq!((row.setting.as_str(), row.ongoing), ("household", true));
    let (_, p) = d.get(&d.ny, &format!("/api/v1/persons/{person}")).await;
    assert_eq!(p["households"][0]["case_id"], case.to_string(), "{p}");

    let (st, body) = d
        .call(
            &d.ny,
            Method::POST,
            &format!("/api/v1/contacts/{e}/contacts"),
            Some(
                json!({"first_name": "Ivo", "last_name": "Nunes", "dob": "1992-01-01",
                        "exposure_dates": [ago(0)]}),
            ),
        )
        .await;
    assert_eq!(st, 409, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("contact_depth")
    );
}

/// Referrals for a test or for support make a task for the support queue;
/// they move along their lifecycle (an illegal step refused), and a settled
/// one ends its task; a sibling jurisdiction can neither see nor move them.
#[tokio::test]
async fn referrals_make_support_tasks() {
    let d = desk().await;
    let (case, _) = d.case("Ana", "Lima", "RF-1").await;
    let path = format!("/api/v1/cases/{case}/referrals");
    let (st, body) = d
        .call(&d.ny, Method::POST, &path, Some(json!({"kind": "rent"})))
        .await;
    assert_eq!(st, 422, "{body}");
    assert_eq!(body["error"]["field"], "kind");
    let (st, r) = d
        .call(
            &d.ny,
            Method::POST,
            &path,
            Some(json!({"kind": "food", "details": "two adults, one child"})),
        )
        .await;
    assert_eq!(st, 201, "{r}");
    assert_eq!(r["status"], "requested");
    let task =
        d.h.store
            .get_task(id(&r["task_id"]))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(
        (task.kind.as_str(), task.status.as_str()),
        ("support_request", "pending")
    );
    assert_eq!(task.case_id, Some(case));
    let (st, _) = d.get(&d.nj, &path).await;
    assert_eq!(st, 403);
    let rid = id(&r["id"]);
    let patch = |token: String, status: &'static str| {
        let d = &d;
        async move {
            d.call(
                &token,
                Method::PATCH,
                &format!("/api/v1/referrals/{rid}"),
                Some(json!({ "status": status })),
            )
            .await
        }
    };
    assert_eq!(patch(d.nj.clone(), "in_progress").await.0, 403);
    assert_eq!(patch(d.ny.clone(), "in_progress").await.0, 200);
    assert_eq!(patch(d.ny.clone(), "requested").await.0, 409);
    let (st, done) = patch(d.ny.clone(), "fulfilled").await;
    assert_eq!(st, 200, "{done}");
    let task = d.h.store.get_task(task.id).await.unwrap().unwrap();
    assert_eq!(task.status, "canceled", "a settled referral's task ends");
    let (_, list) = d.get(&d.ny, &path).await;
    assert_eq!(list["items"][0]["status"], "fulfilled");
    assert_eq!(list["items"][0]["details"], "two adults, one child");
    let (st, _) = d
        .call(
            &d.ny,
            Method::PATCH,
            &format!("/api/v1/referrals/{}", Uuid::now_v7()),
            Some(json!({"status": "fulfilled"})),
        )
        .await;
    assert_eq!(
        st, 403,
        "an unknown referral is refused like a forbidden one"
    );
}

/// Implausible dates are warned and kept on the record: a specimen before
/// birth (on the person), an onset long before the specimen (on the case),
/// an exposure outside the infectious period (on the contact record).
#[tokio::test]
async fn implausible_dates_are_kept_on_the_record() {
    let d = desk().await;
    let out = d
        .lab(
            json!({"first_name": "Baby", "last_name": "Early", "dob": ago(10),
            "specimen_date": ago(20), "result": "negative", "accession": "W-1",
            "jurisdiction": "ny"}),
        )
        .await;
    assert_eq!(out["warnings"][0]["code"], "specimen_before_birth", "{out}");
    let person = id(&out["person_id"]);
    let (_, p) = d.get(&d.ny, &format!("/api/v1/persons/{person}")).await;
    assert_eq!(p["warnings"][0]["code"], "specimen_before_birth", "{p}");
    let (_, p) = d.get(&d.nj, &format!("/api/v1/persons/{person}")).await;
    assert!(p.get("warnings").is_none(), "refused: {p}");

    let (case, _) = d.case("Ana", "Lima", "W-2").await;
    let (st, c) = d
        .call(
            &d.ny,
            Method::PATCH,
            &format!("/api/v1/cases/{case}"),
            Some(json!({"onset_date": ago(25)})),
        )
        .await;
    assert_eq!(st, 200, "{c}");
    let (_, c) = d.get(&d.ny, &format!("/api/v1/cases/{case}")).await;
    assert_eq!(
        c["warnings"][0]["code"], "onset_long_before_specimen",
        "{c}"
    );
    let (_, named) = d
        .name(
            case,
            json!({"first_name": "Rui", "last_name": "Costa", "dob": "1985-01-01",
                   "exposure_dates": [ago(60)]}),
        )
        .await;
    assert_eq!(
        named["warnings"][0]["code"], "before_infectious_period",
        "{named}"
    );
    let e = id(&named["exposure_id"]);
    let (st, w) = d
        .get(&d.ny, &format!("/api/v1/contacts/{e}/warnings"))
        .await;
    assert_eq!(st, 200, "{w}");
    assert_eq!(w["items"][0]["code"], "before_infectious_period");
    let (st, _) = d
        .get(&d.nj, &format!("/api/v1/contacts/{e}/warnings"))
        .await;
    assert_eq!(st, 403);
}

/// A case transferred to another jurisdiction goes with its contacts: the
/// receiving supervisors see them, the sending ones and their tracer no
/// longer do, and unfinished tasks are made anew, pending, there.
#[tokio::test]
async fn a_transferred_case_changes_hands() {
    let d = desk().await;
    let (t1, t1_token) = d.h.user("tracer-ny", Role::Tracer, "ny").await;
    let (case, person) = d.case("Ana", "Lima", "T-1").await;
    let interview = d.h.store.tasks_for_case(case).await.unwrap()[0].id;
    let (st, _) = d
        .call(
            &d.ny,
            Method::POST,
            &format!("/api/v1/tasks/{interview}/assign"),
            Some(json!({"user_id": t1})),
        )
        .await;
    assert_eq!(st, 200);
    let (_, named) = d
        .name(
            case,
            json!({"first_name": "Rui", "last_name": "Costa", "dob": "1985-01-01",
                   "exposure_dates": [ago(1)]}),
        )
        .await;
    let e = id(&named["exposure_id"]);
    let path = format!("/api/v1/cases/{case}/transfer");
    let (st, _) = d
        .call(
            &d.nj,
            Method::POST,
            &path,
            Some(json!({"jurisdiction": "nj"})),
        )
        .await;
    assert_eq!(
        st, 403,
        "the receiving side cannot take a case it cannot see"
    );
    let (st, _) = d
        .call(
            &t1_token,
            Method::POST,
            &path,
            Some(json!({"jurisdiction": "nj"})),
        )
        .await;
    assert_eq!(st, 403, "a tracer cannot transfer");
    for bad in ["nowhere", "ny"] {
        let (st, body) = d
            .call(
                &d.ny,
                Method::POST,
                &path,
                Some(json!({"jurisdiction": bad})),
            )
            .await;
        assert_eq!(st, 422, "{bad}: {body}");
    }
    let (st, t) = d
        .call(
            &d.ny,
            Method::POST,
            &path,
            Some(json!({"jurisdiction": "nj"})),
        )
        .await;
    assert_eq!(st, 200, "{t}");
    assert_eq!(
        (t["from"].as_str(), t["to"].as_str()),
        (Some("ny"), Some("nj"))
    );
    assert_eq!(t["contacts"], 1);
    let get = |token: String, path: String| {
        let d = &d;
        async move { d.get(&token, &path).await }
    };
    let (st, _) = get(d.ny.clone(), format!("/api/v1/cases/{case}")).await;
    assert_eq!(st, 403, "the sending supervisor no longer sees it");
    let (st, _) = get(t1_token.clone(), format!("/api/v1/cases/{case}")).await;
    assert_eq!(st, 403, "nor the tracer who held it");
    let (st, c) = get(d.nj.clone(), format!("/api/v1/cases/{case}")).await;
    assert_eq!(st, 200, "{c}");
    assert_eq!(c["contacts"][0]["exposure_id"], e.to_string());
    let shown = id(&c["case"]["person_id"]);
    assert_ne!(shown, person, "New Jersey knows the person by its own id");
    let (st, p) = get(d.nj.clone(), format!("/api/v1/persons/{shown}")).await;
    assert_eq!(st, 200, "{p}");
    assert_eq!(p["person"]["first_name"], "Ana");
    let tasks = d.h.store.tasks_for_case(case).await.unwrap();
    let old = tasks.iter().find(|t| t.id == interview).unwrap();
    assert_eq!(old.status, "canceled");
    assert!(
        tasks
            .iter()
            .any(|t| t.kind == "case_interview" && t.status == "pending" && t.jurisdiction == "nj"),
        "{tasks:?}"
    );
    let log = d.h.store.audit_entries(0, 10_000).await.unwrap();
    assert!(
        log.iter().any(|a| a.draft.object_id == Some(case)
            && a.draft.detail.contains("/transfer")
            && a.draft.action == tracedesk_store::audit::Action::PermissionChange),
        "the transfer is audited"
    );
}

/// A cluster records an event with its date range; members attach only
/// when the caller may see them and they are of the cluster's
/// jurisdiction; the graph shows only what the caller may see.
#[tokio::test]
async fn clusters_gather_cases_and_contacts() {
    let d = desk().await;
    let (a, named, b) = d.chain("CL", "event").await;
    let e = id(&named["exposure_id"]);
    let (st, bad) = d
        .call(
            &d.ny,
            Method::POST,
            "/api/v1/clusters",
            Some(json!({"name": "Wedding", "setting": "party", "starts": ago(3), "ends": ago(5)})),
        )
        .await;
    assert_eq!(st, 422, "{bad}");
    let (st, _) = d
        .call(
            &d.nj,
            Method::POST,
            "/api/v1/clusters",
            Some(
                json!({"name": "Wedding", "setting": "event", "starts": ago(5),
                        "ends": ago(4), "jurisdiction": "ny"}),
            ),
        )
        .await;
    assert_eq!(st, 403, "not into another jurisdiction");
    let (st, c) = d
        .call(
            &d.ny,
            Method::POST,
            "/api/v1/clusters",
            Some(
                json!({"name": "The Lima wedding", "setting": "event", "starts": ago(5),
                        "ends": ago(4)}),
            ),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    let cl = id(&c["id"]);
    let members = format!("/api/v1/clusters/{cl}/members");
    for body in [
        json!({"case_id": a}),
        json!({"case_id": b}),
        json!({"exposure_id": e}),
    ] {
        let (st, out) = d.call(&d.ny, Method::POST, &members, Some(body)).await;
        assert_eq!(st, 200, "{out}");
    }
    let (st, _) = d
        .call(&d.nj, Method::POST, &members, Some(json!({"case_id": a})))
        .await;
    assert_eq!(st, 403, "a sibling jurisdiction cannot touch the cluster");
    let (st, body) = d
        .call(
            &d.ny,
            Method::POST,
            &members,
            Some(json!({"case_id": a, "exposure_id": e})),
        )
        .await;
    assert_eq!(st, 422, "{body}");
    // A New Jersey case the New York supervisor cannot see is refused.
    let (st, nj_case) = d
        .call(
            &d.nj,
            Method::POST,
            "/api/v1/lab-results",
            Some(
                json!({"first_name": "Zoe", "last_name": "Adler", "dob": "1970-07-08",
                "specimen_date": ago(1), "result": "positive", "accession": "CL-NJ",
                "jurisdiction": "nj"}),
            ),
        )
        .await;
    assert_eq!(st, 201);
    let (st, _) = d
        .call(
            &d.ny,
            Method::POST,
            &members,
            Some(json!({"case_id": nj_case["case_id"]})),
        )
        .await;
    assert_eq!(st, 403);

    let (st, g) = d.get(&d.ny, &format!("/api/v1/clusters/{cl}")).await;
    assert_eq!(st, 200, "{g}");
    assert_eq!(g["cluster"]["name"], "The Lima wedding");
    assert_eq!(g["nodes"].as_array().unwrap().len(), 3);
    let kinds: Vec<&str> = g["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"named") && kinds.contains(&"transmission"),
        "{g}"
    );
    let (st, _) = d.get(&d.nj, &format!("/api/v1/clusters/{cl}")).await;
    assert_eq!(st, 403);
    let (_, list) = d.get(&d.ny, "/api/v1/clusters").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (_, list) = d.get(&d.nj, "/api/v1/clusters").await;
    assert!(list["items"].as_array().unwrap().is_empty());
}

/// The structured interview: answers are validated against the
/// questionnaire version (a bad save changes nothing), sealed, kept on
/// every save, and their facts reach the case (onset, severity, and so the
/// isolation end).
#[tokio::test]
async fn interviews_follow_their_questionnaire() {
    let d = desk().await;
    let (_, list) = d.get(&d.ny, "/api/v1/questionnaires").await;
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["covid19_case_interview", "contact_notification"]);
    let (st, def) = d
        .get(&d.ny, "/api/v1/questionnaires/covid19_case_interview")
        .await;
    assert_eq!(st, 200);
    assert_eq!(
        def["sections"][1]["questions"][1]["show_if"]["question"],
        "symptomatic"
    );
    let (case, _) = d.case("Ana", "Lima", "Q-1").await;
    let path = format!("/api/v1/cases/{case}/interview");
    let (st, _) = d.get(&d.ny, &path).await;
    assert_eq!(st, 404);
    let answers = |symptomatic: Value| {
        json!({"questionnaire": "covid19_case_interview", "version": 1, "answers": {
            "identity_confirmed": true, "symptomatic": symptomatic,
            "symptoms": [{"symptom": "cough", "onset": ago(6)}, {"symptom": "fever", "onset": ago(8)}],
            "hospitalized": true, "icu": true, "congregate_setting": "none",
            "contacts_elicited": true}})
    };
    let (st, body) = d
        .call(&d.ny, Method::PUT, &path, Some(answers(json!("yes"))))
        .await;
    assert_eq!(st, 422, "{body}");
    assert_eq!(body["error"]["field"], "answers.symptomatic");
    let (st, _) = d.get(&d.ny, &path).await;
    assert_eq!(st, 404, "a refused save keeps nothing");
    let (st, body) = d
        .call(
            &d.ny,
            Method::PUT,
            &path,
            Some(json!({"questionnaire": "covid19_case_interview", "version": 7, "answers": {}})),
        )
        .await;
    assert_eq!(
        (st, body["error"]["field"].as_str()),
        (422, Some("version"))
    );
    let (st, _) = d
        .call(&d.nj, Method::PUT, &path, Some(answers(json!(true))))
        .await;
    assert_eq!(st, 403);
    let (st, saved) = d
        .call(&d.ny, Method::PUT, &path, Some(answers(json!(true))))
        .await;
    assert_eq!(st, 200, "{saved}");
    assert_eq!(saved["earlier_saves"], 0);
    let (_, c) = d.get(&d.ny, &format!("/api/v1/cases/{case}")).await;
    assert_eq!(c["case"]["onset_date"], ago(8), "the earliest onset");
    assert_eq!(c["case"]["severe"], true, "intensive care");
    assert_eq!(
        c["case"]["isolation_end"],
        (today() - Days::new(8) + Days::new(20)).to_string()
    );
    let (st, again) = d
        .call(&d.ny, Method::PUT, &path, Some(answers(json!(true))))
        .await;
    assert_eq!(st, 200);
    assert_eq!(again["earlier_saves"], 1, "every save is kept");

    let (_, named) = d
        .name(
            case,
            json!({"first_name": "Rui", "last_name": "Costa", "dob": "1985-01-01",
                   "exposure_dates": [ago(1)]}),
        )
        .await;
    let cpath = format!(
        "/api/v1/contacts/{}/interview",
        named["exposure_id"].as_str().unwrap()
    );
    let (st, body) = d
        .call(&d.ny, Method::PUT, &cpath, Some(answers(json!(true))))
        .await;
    assert_eq!(st, 422, "a case interview is not for a contact: {body}");
    let (st, body) = d
        .call(
            &d.ny,
            Method::PUT,
            &cpath,
            Some(
                json!({"questionnaire": "contact_notification", "version": 1, "answers": {
                "identity_confirmed": true, "informed_of_exposure": true,
                "quarantine_explained": true, "symptomatic_now": false}}),
            ),
        )
        .await;
    assert_eq!(st, 200, "{body}");
}

/// Every move of the contact lifecycle a tracer can make, over the API:
/// for each pair of statuses, a fresh contact is brought to the first by
/// legal steps, then asked to move to the second — 200 exactly when the
/// domain allows it, 409 otherwise, and a refused move changes nothing.
#[tokio::test]
async fn every_contact_transition_legal_and_refused() {
    use tracedesk_domain::ContactStatus as S;
    let by_hand: Vec<S> = S::ALL
        .iter()
        .copied()
        .filter(|s| !matches!(s, S::Converted | S::AlreadyACase))
        .collect();
    // The shortest legal path from `named` to each status.
    let mut path: std::collections::HashMap<S, Vec<S>> =
        std::collections::HashMap::from([(S::Named, Vec::new())]);
    let mut frontier = vec![S::Named];
    while let Some(at) = frontier.pop() {
        for &to in &by_hand {
            if at.can_become(to) && !path.contains_key(&to) {
                let mut p = path[&at].clone();
                p.push(to);
                path.insert(to, p);
                frontier.insert(0, to);
            }
        }
    }
    assert_eq!(
        path.len(),
        by_hand.len(),
        "every status is reachable by hand"
    );
    let d = desk().await;
    let (case, _) = d.case("Ana", "Lima", "EV-1").await;
    let mut tried = 0;
    for (i, &from) in by_hand.iter().enumerate() {
        for (j, &to) in by_hand.iter().enumerate() {
            if from == to {
                continue;
            }
            let (st, named) = d
                .name(
                    case,
                    json!({"first_name": "Eva", "last_name": format!("Move{i}x{j}"),
                           "dob": "1985-01-01", "exposure_dates": [ago(2)]}),
                )
                .await;
            assert_eq!(st, 201, "{named}");
            let e = id(&named["exposure_id"]);
            for step in &path[&from] {
                let (st, body) = d
                    .patch_contact(&d.ny, e, json!({ "status": step.as_str() }))
                    .await;
                assert_eq!(st, 200, "to {step} on the way to {from}: {body}");
            }
            let (st, body) = d
                .patch_contact(&d.ny, e, json!({ "status": to.as_str() }))
                .await;
            let want = if from.can_become(to) { 200 } else { 409 };
            assert_eq!(st, want, "{from} -> {to}: {body}");
            let now = d.contact(e).await.status;
            let expect = if want == 200 { to } else { from };
            assert_eq!(now, expect.as_str(), "{from} -> {to}");
            tried += 1;
        }
    }
    assert_eq!(tried, by_hand.len() * (by_hand.len() - 1));
}
