//! The JSON API over real HTTP: a server on port 0 over SQLite in a temp dir.

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use tracedesk_store::Store;

struct TestApp {
    base: String,
    token: String,
    http: reqwest::Client,
    store: Arc<dyn Store>,
    h: crate::common::Harness,
}

/// A supervisor over every jurisdiction calls the API with a token.
async fn spawn_app() -> TestApp {
    let h = crate::common::spawn(tracedesk_casework::AuthPolicy::default()).await;
    let (_, token) = h
        .user("sup", tracedesk_identity::Role::Supervisor, "root")
        .await;
    TestApp {
        base: h.base.clone(),
        token,
        http: reqwest::Client::new(),
        store: h.store.clone(),
        h,
    }
}

impl TestApp {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.h.call(&self.token, method, path, body).await
    }
    /// Records a positive result (a new person and case) and gives the answer.
    async fn positive(&self, first: &str, dob: &str, acc: &str) -> Value {
        let (s, out) = self.post("/api/v1/lab-results", lab(first, dob, acc)).await;
        assert_eq!(s, 201, "{out}");
        out
    }
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }
    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }
    async fn raw_post(&self, path: &str, body: &'static str, ctype: &str) -> (StatusCode, Value) {
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", ctype)
            .body(body)
            .send()
            .await
            .unwrap();
        let s = res.status();
        (s, res.json().await.unwrap())
    }
}

fn lab(first: &str, dob: &str, acc: &str) -> Value {
    json!({"first_name": first, "last_name": "Okafor", "dob": dob, "phone": "+1 646 555 0142",
           "specimen_date": "2026-11-20", "result": "positive", "accession": acc})
}

/// `/metrics` as anyone sees it (no token).
async fn metrics_text(base: &str) -> String {
    reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn health_metrics_and_openapi_need_no_token() {
    let app = spawn_app().await;
    for (path, want) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let r = reqwest::get(format!("{}{path}", app.base)).await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.text().await.unwrap(), want);
    }
    let doc: Value = reqwest::get(format!("{}/api/v1/openapi.json", app.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for p in [
        "/api/v1/lab-results",
        "/api/v1/cases",
        "/api/v1/cases/{id}",
        "/api/v1/cases/{id}/contacts",
        "/api/v1/contacts",
        "/api/v1/persons/{id}",
        "/api/v1/auth/login",
        "/api/v1/line-list",
        "/api/v1/break-glass",
        "/api/v1/tasks/{id}/assign",
    ] {
        assert!(doc["paths"][p].is_object(), "{p} documented");
    }
    app.post("/api/v1/lab-results", lab("Grace", "1985-05-05", "M-1"))
        .await;
    let m = metrics_text(&app.base).await;
    assert!(m.contains("route=\"/api/v1/lab-results\""));
    assert!(!m.contains("Grace"));
    // Counts of records are not for anyone who asks.
    assert!(!m.contains("tracedesk_records"), "{m}");
    assert!(!m.contains("tracedesk_lab_results_recorded_total"), "{m}");
    let m = app
        .http
        .get(format!("{}/metrics", app.base))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(m.contains("tracedesk_lab_results_recorded_total 1"), "{m}");
    assert!(m.contains("tracedesk_records{kind=\"cases\"} 1"), "{m}");
    // Made-up methods are one label, never their own text.
    for n in 0..50 {
        let method = reqwest::Method::from_bytes(format!("MARIALOPEZ{n}").as_bytes()).unwrap();
        app.http
            .request(method, format!("{}/healthz", app.base))
            .send()
            .await
            .unwrap();
    }
    let m = metrics_text(&app.base).await;
    assert!(!m.contains("MARIALOPEZ"), "{m}");
    assert!(m.contains("method=\"other\""), "{m}");
}

#[tokio::test]
async fn tokens_are_required_and_revocable() {
    let app = spawn_app().await;
    let r = app
        .http
        .get(format!("{}/api/v1/cases", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = app
        .http
        .get(format!("{}/api/v1/cases", app.base))
        .bearer_auth("tdk_wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(app.get("/api/v1/cases").await.0, 200);
    app.store.revoke_token("sup").await.unwrap();
    // Tokens are re-checked at most every CallerCache::TTL.
    tokio::time::sleep(
        tracedesk_server::auth::CallerCache::TTL + std::time::Duration::from_millis(100),
    )
    .await;
    assert_eq!(app.get("/api/v1/cases").await.0, 401);
}

#[tokio::test]
async fn lab_intake_case_contact_flow() {
    let app = spawn_app().await;
    let one = app.positive("Grace", "1985-05-05", "F-1").await;
    assert_eq!(one["case_created"], true);
    let case_id = one["case_id"].as_str().unwrap().to_string();
    let person_id = one["person_id"].as_str().unwrap().to_string();
    let (s, dup) = app
        .post("/api/v1/lab-results", lab("Grace", "1985-05-05", "F-1"))
        .await;
    assert_eq!(
        (s, dup["status"].as_str()),
        (StatusCode::OK, Some("duplicate"))
    );

    let (s, c) = app.get(&format!("/api/v1/cases/{case_id}")).await;
    assert_eq!(s, 200);
    assert_eq!(c["case"]["infectious_start"], "2026-11-18");
    let (s, patched) = app
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/cases/{case_id}"),
            Some(json!({"onset_date": "2026-11-15", "status": "interviewing"})),
        )
        .await;
    assert_eq!(s, 200, "{patched}");
    assert_eq!(patched["infectious_start"], "2026-11-13");
    assert_eq!(patched["isolation_end"], "2026-11-25");
    let (s, e) = app
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/cases/{case_id}"),
            Some(json!({"status": "new"})),
        )
        .await;
    assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "illegal_transition"));

    let (s, contact) = app
        .post(
            &format!("/api/v1/cases/{case_id}/contacts"),
            json!({
            "first_name": "Samuel", "last_name": "Baptiste", "phone": "718-555-0123",
            "exposure_dates": ["2026-11-14", "2026-11-01"], "setting": "household"}),
        )
        .await;
    assert_eq!(s, 201, "{contact}");
    assert_eq!(contact["quarantine_end"], "2026-11-28");
    assert_eq!(contact["warnings"].as_array().unwrap().len(), 1);
    assert_eq!(contact["warnings"][0]["code"], "before_infectious_period");
    let (_, list) = app
        .get(&format!("/api/v1/contacts?case_id={case_id}"))
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["status"], "named");

    let (s, p) = app.get(&format!("/api/v1/persons/{person_id}")).await;
    assert_eq!(s, 200);
    assert_eq!(p["person"]["first_name"], "Grace");
    assert_eq!(p["lab_results"][0]["accession"], "F-1");
    let (_, found) = app
        .post(
            "/api/v1/persons/search",
            json!({"first_name": "grace", "last_name": "OKAFOR", "dob": "1985-05-05"}),
        )
        .await;
    assert_eq!(found["items"][0]["id"], person_id.as_str());
    let (_, found) = app
        .post("/api/v1/persons/search", json!({"phone": "(718) 555-0123"}))
        .await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);

    // Every read and write of this person's data is in their disclosure
    // record, by route and token, and holds no PHI.
    let pid: uuid::Uuid = person_id.parse().unwrap();
    let record = app.store.audit_for_person(pid).await.unwrap();
    let routes: Vec<&str> = record.iter().map(|e| e.draft.detail.as_str()).collect();
    for route in [
        "POST /api/v1/lab-results",
        "GET /api/v1/cases/{id}",
        "PATCH /api/v1/cases/{id}",
        "GET /api/v1/persons/{id}",
        "POST /api/v1/persons/search",
    ] {
        assert!(routes.contains(&route), "{route} not audited: {routes:?}");
    }
    assert!(record.iter().all(|e| e.draft.actor.starts_with("user:")));
    let all = app.store.audit_entries(0, 1000).await.unwrap();
    let text = format!("{all:?}");
    for phi in ["Grace", "Okafor", "555-0123", "1985-05-05"] {
        assert!(!text.contains(phi), "audit log holds {phi}");
    }
}

#[tokio::test]
async fn pages_of_cases() {
    let app = spawn_app().await;
    let batch: Vec<Value> = (0..12)
        .map(|i| {
            lab(
                &format!("Ana{}", "x".repeat(i + 1)),
                "1990-01-01",
                &format!("P-{i}"),
            )
        })
        .collect();
    let (s, r) = app.post("/api/v1/lab-results", Value::Array(batch)).await;
    assert_eq!(s, 200);
    assert_eq!(r["recorded"], 12);
    let mut ids = std::collections::HashSet::new();
    let mut path = "/api/v1/cases?limit=5".to_string();
    loop {
        let (s, page) = app.get(&path).await;
        assert_eq!(s, 200);
        for c in page["items"].as_array().unwrap() {
            assert!(ids.insert(c["id"].as_str().unwrap().to_string()));
        }
        match page["next"].as_str() {
            Some(n) => path = format!("/api/v1/cases?limit=5&cursor={n}"),
            None => break,
        }
    }
    assert_eq!(ids.len(), 12);
    let (s, e) = app.get("/api/v1/cases?limit=0").await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("limit"))
    );
    let (s, e) = app.get("/api/v1/cases?colour=red").await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "invalid_query"));
    // Says which parameters the route takes, never repeats the one sent.
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(!msg.contains("colour"), "{msg}");
    assert!(msg.contains("`status`"), "{msg}");
}

#[tokio::test]
async fn bad_input_gets_specific_errors_and_loses_nothing() {
    let app = spawn_app().await;
    let (s, e) = app
        .raw_post(
            "/api/v1/lab-results",
            "{\"first_name\": ",
            "application/json",
        )
        .await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "malformed_json"));
    assert!(e["error"]["message"].as_str().unwrap().contains("line 1"));
    let (s, e) = app
        .raw_post("/api/v1/lab-results", "{}", "text/plain")
        .await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
    );

    // A wrong type names the field, not the value.
    let mut wrong = lab("Grace", "1985-05-05", "B-1");
    wrong["phone"] = json!(6465550142u64);
    let (s, e) = app.post("/api/v1/lab-results", wrong).await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("phone"))
    );
    assert!(!e.to_string().contains("6465550142"), "{e}");
    let mut unknown = lab("Grace", "1985-05-05", "B-2");
    unknown["gps"] = json!("40.7,-74.0");
    let (s, e) = app.post("/api/v1/lab-results", unknown).await;
    assert_eq!(s, 422);
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(msg.contains("a field it does not take"), "{msg}");
    assert!(msg.contains("`first_name`"), "names what it takes: {msg}");
    // A key named like an identifier never comes back, as a field, a query
    // parameter or a map key.
    let mut keyed = lab("Grace", "1985-05-05", "B-2a");
    keyed["ssn_123_45_6789"] = json!(1);
    let (s, e) = app.post("/api/v1/lab-results", keyed).await;
    assert_eq!(s, 422);
    assert!(!e.to_string().contains("6789"), "{e}");
    let (s, e) = app.get("/api/v1/cases?Maria_Lopez_1980=1").await;
    assert_eq!(s, 400);
    assert!(!e.to_string().contains("Maria"), "{e}");

    let mut bad_phone = lab("Omar", "1970-01-01", "B-3");
    bad_phone["phone"] = json!("555-SECRET");
    let (s, e) = app.post("/api/v1/lab-results", bad_phone).await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("phone"))
    );
    assert!(!e.to_string().contains("SECRET"));

    // One batch: a wrong type, an invalid phone, a future DOB, two good rows.
    let mut bad_type = lab("Ana", "1980-01-01", "B-4");
    bad_type["result"] = json!(true);
    let mut bad_phone = lab("Luis", "1981-01-01", "B-5");
    bad_phone["phone"] = json!("12");
    let future = lab("Mei", "2999-01-01", "B-6");
    let (s, r) = app
        .post(
            "/api/v1/lab-results",
            json!([
                bad_type,
                lab("Wei", "1975-02-02", "B-7"),
                bad_phone,
                future,
                lab("Sofia", "1999-09-09", "B-8")
            ]),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        (r["recorded"].as_u64(), r["rejected"].as_u64()),
        (Some(2), Some(3))
    );
    let res = r["results"].as_array().unwrap();
    assert_eq!(res[0]["error"]["field"], "result");
    assert_eq!(res[1]["status"], "recorded");
    assert_eq!(res[2]["error"]["field"], "phone");
    assert_eq!(res[3]["error"]["message"], "dob: is in the future");
    assert_eq!(res[4]["status"], "recorded");
    assert_eq!(
        app.store.counts().await.unwrap().cases,
        2,
        "nothing valid is lost"
    );

    let (s, e) = app.get("/api/v1/cases/not-a-uuid").await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "invalid_id"));
    let (s, e) = app
        .get("/api/v1/cases/01900000-0000-7000-8000-000000000000")
        .await;
    // An unknown id is answered like one the caller may not open.
    assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, _) = app
        .post("/api/v1/cases/01900000-0000-7000-8000-000000000000/contacts", json!({"first_name": "A", "last_name": "B", "phone": "+12125550100", "exposure_dates": ["2026-11-01"]}))
        .await;
    assert_eq!(s, 403);
    let big = "x".repeat(70 * 1024);
    let (s, e) = app
        .post("/api/v1/lab-results", json!({ "first_name": big }))
        .await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large")
    );
    let (s, e) = app.post("/api/v1/lab-results", json!([])).await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::UNPROCESSABLE_ENTITY, "batch_size")
    );
    let (s, e) = app.get("/api/v1/nowhere").await;
    assert_eq!((s, code(&e)), (StatusCode::NOT_FOUND, "not_found"));
    // Every error is JSON, a wrong method's too.
    let (s, e) = app.get("/api/v1/lab-results").await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
}

/// "No audit entry, no state change; no audit entry, no response": with the
/// audit log refusing writes, a write changes nothing and a read shows
/// nothing; both answer 500. Then, with the log back, they work.
#[tokio::test]
async fn without_its_audit_entry_nothing_is_changed_or_shown() {
    let app = spawn_app().await;
    let out = app.positive("Ines", "1979-04-04", "AUD-1").await;
    let case = out["case_id"].as_str().unwrap().to_string();
    let db = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        app.h.dir.path().join("t.db").display()
    ))
    .await
    .unwrap();
    sqlx::query(
        "CREATE TRIGGER audit_down BEFORE INSERT ON audit_log \
         BEGIN SELECT RAISE(ABORT, 'audit down'); END",
    )
    .execute(&db)
    .await
    .unwrap();
    let path = format!("/api/v1/cases/{case}");
    let (s, body) = app
        .call(
            reqwest::Method::PATCH,
            &path,
            Some(json!({"status": "interviewing"})),
        )
        .await;
    assert_eq!(s, 500, "{body}");
    let (s, body) = app
        .post(
            &format!("{path}/contacts"),
            json!({"first_name": "Ola", "last_name": "Berg", "phone": "+1 646 555 0177",
                   "exposure_dates": ["2026-11-19"]}),
        )
        .await;
    assert_eq!(s, 500, "{body}");
    let (s, body) = app.get(&path).await;
    assert_eq!(s, 500);
    assert!(!body.to_string().contains("Ines"), "{body}");
    let (s, body) = app.get("/api/v1/cases?limit=5").await;
    assert_eq!(s, 500);
    assert!(body.get("items").is_none(), "{body}");
    sqlx::query("DROP TRIGGER audit_down")
        .execute(&db)
        .await
        .unwrap();
    let (s, body) = app.get(&path).await;
    assert_eq!(s, 200);
    assert_eq!(
        body["case"]["status"], "new",
        "the refused write changed nothing"
    );
    assert_eq!(
        body["contacts"].as_array().map(Vec::len),
        Some(0),
        "no contact was named"
    );
}
