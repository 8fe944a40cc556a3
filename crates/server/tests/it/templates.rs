//! Operators' message templates over the API (issue 14, item 4): an
//! administrator over the root edits a text in one language, the lint and
//! the opt-out rule refuse bad bodies by field, the next message is written
//! from the edit, and deleting the edit brings the built-in back. Everyone
//! narrower is refused.

use crate::common::Harness;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;
use tracedesk_identity::Role;
use tracedesk_store::audit::Action;

async fn call(
    h: &Harness,
    token: &str,
    m: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let (st, v) = h.call(token, m, path, body).await;
    (st.as_u16(), v)
}

const ES: &str = "/api/v1/templates/case_outreach/sms/es";

#[tokio::test]
async fn an_admin_edits_a_template_and_the_next_text_uses_it() {
    let h = crate::common::spawn(Default::default()).await;
    let (_, admin) = h.user("root-admin", Role::Admin, "root").await;
    let (_, sup) = h.user("ny-sup", Role::Supervisor, "ny").await;

    let (st, list) = call(&h, &admin, Method::GET, "/api/v1/templates", None).await;
    assert_eq!(st, 200, "{list}");
    let items = list["items"].as_array().unwrap();
    let es = items
        .iter()
        .find(|t| t["name"] == "case_outreach" && t["language"] == "es")
        .unwrap();
    assert_eq!(es["source"], "builtin");
    assert_eq!(es["encoding"], "ucs2", "á is not in GSM-7: {es}");
    let en = items
        .iter()
        .find(|t| t["name"] == "case_outreach" && t["language"] == "en")
        .unwrap();
    assert_eq!(en["encoding"], "gsm7");
    assert_eq!(en["segments"], 1);
    // Every built-in name ships in all six languages.
    assert!(items.iter().filter(|t| t["name"] == "checkin").count() >= 6);

    // Bad bodies, each named by field and reason; nothing saved.
    for (body, why) in [
        (
            json!({"body": "{program}: su resultado es positivo"}),
            "diagnosis",
        ),
        (
            json!({"body": "{program}: llámenos al {telefono}"}),
            "unknown variable",
        ),
        (json!({"body": "   "}), "empty"),
    ] {
        let (st, e) = call(&h, &admin, Method::PUT, ES, Some(body)).await;
        assert_eq!(st, 422, "{why}: {e}");
        assert_eq!(e["error"]["field"], "body", "{why}: {e}");
    }
    let (st, e) = call(
        &h,
        &admin,
        Method::PUT,
        "/api/v1/templates/contact_notification/sms/es",
        Some(json!({"body": "{program}: llámenos al {callback}."})),
    )
    .await;
    assert_eq!(st, 422, "an opt-out line may not be dropped: {e}");
    let (st, _) = call(
        &h,
        &admin,
        Method::PUT,
        "/api/v1/templates/no_such/sms/es",
        Some(json!({"body": "hola"})),
    )
    .await;
    assert_eq!(st, 404);
    let (st, e) = call(
        &h,
        &admin,
        Method::PUT,
        "/api/v1/templates/case_outreach/sms/fr",
        Some(json!({"body": "bonjour"})),
    )
    .await;
    assert_eq!(st, 422);
    assert_eq!(e["error"]["field"], "language");
    let (st, _) = call(&h, &admin, Method::GET, ES, None).await;
    assert_eq!(st, 200);

    // Narrower callers are refused: a jurisdiction's admin, a root
    // supervisor, a jurisdiction's supervisor.
    let (_, ny_admin) = h.user("ny-admin", Role::Admin, "ny").await;
    let (_, root_sup) = h.user("root-sup", Role::Supervisor, "root").await;
    let (_, tracer) = h.user("root-tracer", Role::Tracer, "root").await;
    let (_, analyst) = h.user("root-analyst", Role::Analyst, "root").await;
    for token in [&ny_admin, &root_sup, &sup, &tracer, &analyst] {
        let (st, _) = call(&h, token, Method::GET, "/api/v1/templates", None).await;
        assert_eq!(st, 403);
        let (st, _) = call(
            &h,
            token,
            Method::PUT,
            ES,
            Some(json!({"body": "{program}: llame al {callback} ñ"})),
        )
        .await;
        assert_eq!(st, 403);
    }

    let edited = "{program}: por favor llame hoy al {callback}. ¡Gracias, José!";
    let (st, t) = call(&h, &admin, Method::PUT, ES, Some(json!({ "body": edited }))).await;
    assert_eq!(st, 200, "{t}");
    assert_eq!(t["source"], "edited");
    assert_eq!(t["body"], edited);
    assert!(t["builtin"].as_str().unwrap().contains("{callback}"));
    assert_eq!(t["encoding"], "gsm7", "¡ and é are GSM-7: {t}");

    // The edit is audited as a configuration change.
    let mut audited = false;
    for _ in 0..40 {
        let log = h.store.audit_entries(0, 10_000).await.unwrap();
        if log.iter().any(|e| e.draft.action == Action::Configuration) {
            audited = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(audited);

    // The next Spanish text is written from the edit.
    let today = chrono::Utc::now().date_naive();
    let (st, out) = call(
        &h,
        &sup,
        Method::POST,
        "/api/v1/lab-results",
        Some(
            json!({"first_name": "Ana", "last_name": "Ruiz", "dob": "1990-03-04",
            "phone": "(212) 555-0161", "language": "es",
            "specimen_date": (today - chrono::Days::new(1)).to_string(),
            "result": "positive", "jurisdiction": "ny", "accession": "TPL-1"}),
        ),
    )
    .await;
    assert!(st == 200 || st == 201, "{out}");
    let person = out["person_id"].as_str().unwrap();
    let send = format!("/api/v1/persons/{person}/messages");
    let (st, m) = call(
        &h,
        &sup,
        Method::POST,
        &send,
        Some(json!({"template": "case_outreach"})),
    )
    .await;
    assert_eq!(st, 201, "{m}");
    assert!(
        m["body"].as_str().unwrap().contains("por favor llame hoy"),
        "{m}"
    );

    // Deleted: the built-in is back, and a second delete finds no edit.
    let (st, t) = call(&h, &admin, Method::DELETE, ES, None).await;
    assert_eq!(st, 200, "{t}");
    assert_eq!(t["source"], "builtin");
    let (st, _) = call(&h, &admin, Method::DELETE, ES, None).await;
    assert_eq!(st, 404);
    let (st, m) = call(
        &h,
        &sup,
        Method::POST,
        &send,
        Some(json!({"template": "case_outreach"})),
    )
    .await;
    assert_eq!(st, 201);
    assert!(
        !m["body"].as_str().unwrap().contains("por favor llame hoy"),
        "{m}"
    );
}
