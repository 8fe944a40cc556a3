//! Input the security review found accepted (security issue, item 12), and
//! the cookie name under TLS (item 14), over HTTP.

use crate::common::Harness;
use reqwest::Method;
use serde_json::{Value, json};
use tracedesk_casework::AuthPolicy;
use tracedesk_identity::Role;

fn lab(accession: &str) -> Value {
    json!({"first_name": "Ines", "last_name": "Moreau", "dob": "1984-04-04",
        "phone": "212-555-0147", "specimen_date": "2026-11-20", "result": "positive",
        "accession": accession})
}

async fn post_lab(h: &Harness, token: &str, body: Value) -> (reqwest::StatusCode, Value) {
    h.call(token, Method::POST, "/api/v1/lab-results", Some(body))
        .await
}

async fn name_contact(
    h: &Harness,
    token: &str,
    case: &str,
    body: Value,
) -> (reqwest::StatusCode, Value) {
    let path = format!("/api/v1/cases/{case}/contacts");
    h.call(token, Method::POST, &path, Some(body)).await
}

#[tokio::test]
async fn implausible_input_is_refused_with_the_field_named() {
    let h = crate::common::spawn(AuthPolicy::default()).await;
    let (_, sup) = h.user("sup", Role::Supervisor, "root").await;
    let tries: Vec<(&str, &str, Value)> = vec![
        ("phone", "a letter O for a zero", json!("212-555-O147")),
        ("phone", "an extension", json!("212-555-0147 ext. 12")),
        ("specimen_date", "year 1", json!("0001-01-01")),
        (
            "last_name",
            "a right-to-left override",
            json!("\u{202E}uaerom"),
        ),
        ("first_name", "a zero-width space", json!("In\u{200B}es")),
    ];
    for (n, (field, what, value)) in tries.into_iter().enumerate() {
        let mut body = lab(&format!("H-{n}"));
        body[field] = value;
        let (st, out) = post_lab(&h, &sup, body).await;
        assert_eq!(st, 422, "{what}: {out}");
        assert_eq!(out["error"]["field"], field, "{what}: {out}");
    }
    assert_eq!(
        h.store.counts().await.unwrap().lab_results,
        0,
        "none stored"
    );

    // A closed case takes no new contacts.
    let (st, out) = post_lab(&h, &sup, lab("H-ok")).await;
    assert_eq!(st, 201, "{out}");
    let case = out["case_id"].as_str().unwrap().to_string();
    let (st, out) = h
        .call(
            &sup,
            Method::PATCH,
            &format!("/api/v1/cases/{case}"),
            Some(json!({"status": "closed"})),
        )
        .await;
    assert_eq!(st, 200, "{out}");
    let (st, out) = name_contact(
        &h,
        &sup,
        &case,
        json!({"first_name": "Theo", "last_name": "Moreau", "phone": "212-555-0148",
                "exposure_dates": ["2026-11-18"], "setting": "household"}),
    )
    .await;
    assert_eq!(st, 409, "{out}");
    assert_eq!(h.store.counts().await.unwrap().exposures, 0);
    // Exposure dates are held to the same bounds.
    let (st, out) = post_lab(&h, &sup, lab("H-ok2")).await;
    assert_eq!(st, 201, "{out}");
    let (st, out) = post_lab(
        &h,
        &sup,
        json!({"first_name": "Odile", "last_name": "Brun", "dob": "1970-07-07",
                "specimen_date": "2026-11-21", "result": "positive", "accession": "H-ok3"}),
    )
    .await;
    assert_eq!(st, 201, "{out}");
    let open = out["case_id"].as_str().unwrap().to_string();
    let (st, out) = name_contact(
        &h,
        &sup,
        &open,
        json!({"first_name": "Theo", "last_name": "Brun", "phone": "212-555-0149",
                "exposure_dates": ["0001-01-01"], "setting": "household"}),
    )
    .await;
    assert_eq!(st, 422, "{out}");
    assert_eq!(out["error"]["field"], "exposure_dates[0]", "{out}");
}

/// A contact record moves along its lifecycle by its legal steps only, in
/// its own jurisdiction only (security issue, item 9: closed contact
/// records are what retention purges).
#[tokio::test]
async fn contact_records_close_by_legal_steps_in_their_jurisdiction() {
    let h = crate::common::spawn(AuthPolicy::default()).await;
    let (_, sup) = h.user("sup-ny", Role::Supervisor, "ny").await;
    let (_, other) = h.user("sup-nj", Role::Supervisor, "nj").await;
    let mut body = lab("C-1");
    body["jurisdiction"] = json!("ny");
    let (st, out) = post_lab(&h, &sup, body).await;
    assert_eq!(st, 201, "{out}");
    let case = out["case_id"].as_str().unwrap().to_string();
    let (st, out) = name_contact(
        &h,
        &sup,
        &case,
        json!({"first_name": "Lea", "last_name": "Moreau", "phone": "212-555-0150",
                "exposure_dates": ["2026-11-18"], "setting": "household"}),
    )
    .await;
    assert_eq!(st, 201, "{out}");
    let contact = out["exposure_id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/contacts/{contact}");
    let step = async |token: &str, status: &str| {
        h.call(
            token,
            Method::PATCH,
            &path,
            Some(json!({ "status": status })),
        )
        .await
    };
    let (st, _) = step(&other, "notified").await;
    assert_eq!(st, 403, "another jurisdiction's contact");
    let (st, out) = step(&sup, "completed").await;
    assert_eq!(st, 409, "named cannot jump to completed: {out}");
    let (st, out) = step(&sup, "done").await;
    assert_eq!(
        (st.as_u16(), out["error"]["field"].as_str()),
        (422, Some("status"))
    );
    for s in ["notified", "monitoring", "completed"] {
        let (st, out) = step(&sup, s).await;
        assert_eq!(st, 200, "{s}: {out}");
        assert_eq!(out["status"], s);
    }
    let (st, _) = step(&sup, "monitoring").await;
    assert_eq!(st, 409, "completed is final");
    let (st, _) = h
        .call(
            &sup,
            Method::PATCH,
            "/api/v1/contacts/01900000-0000-7000-8000-000000000000",
            Some(json!({"status": "notified"})),
        )
        .await;
    assert_eq!(st, 403, "unknown ids answer like forbidden ones");
    // The notification task ended with the record.
    let exposure: uuid::Uuid = contact.parse().unwrap();
    let tasks = h.store.tasks_for_case(case.parse().unwrap()).await.unwrap();
    let t = tasks
        .iter()
        .find(|t| t.exposure_id == Some(exposure))
        .unwrap();
    assert_eq!(t.status, "canceled");
}
