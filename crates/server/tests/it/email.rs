//! Email over SMTP (issue 14, item 2): a message queued over the API to a
//! person's email is dispatched to a local SMTP server over STARTTLS with
//! authentication, written from the text's template in their language
//! with the program as its subject; a transient refusal is retried and the
//! email arrives once; a permanent one fails the message with its code.

use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;
use tracedesk_identity::Role;
use tracedesk_smtp::fake::{self, Fault, Mode};

async fn until(
    h: &crate::common::Harness,
    token: &str,
    person: &str,
    id: &str,
    status: &str,
) -> Value {
    for _ in 0..200 {
        let (_, t) = h
            .call(
                token,
                Method::GET,
                &format!("/api/v1/persons/{person}/messages"),
                None,
            )
            .await;
        if let Some(m) = t["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            && m["status"] == status
        {
            return m.clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("message {id} never reached {status}");
}

#[tokio::test]
async fn an_email_goes_over_starttls_once_through_a_transient_fault() {
    let f = fake::start(
        Mode::StartTls,
        Some(("tracedesk".into(), "mail-pass".into())),
    )
    .await
    .unwrap();
    let h = crate::common::spawn_smtp(&f).await;
    let (_, sup) = h.user("ny-sup", Role::Supervisor, "ny").await;
    let today = chrono::Utc::now().date_naive();
    let (st, out) = h
        .call(
            &sup,
            Method::POST,
            "/api/v1/lab-results",
            Some(
                json!({"first_name": "Lucía", "last_name": "Gómez", "dob": "1984-05-06",
                "email": "lucia.gomez@example.com", "language": "es",
                "specimen_date": (today - chrono::Days::new(1)).to_string(),
                "result": "positive", "jurisdiction": "ny", "accession": "MAIL-1"}),
            ),
        )
        .await;
    assert!(st.as_u16() == 200 || st.as_u16() == 201, "{out}");
    let person = out["person_id"].as_str().unwrap().to_string();
    // The first attempt meets a 451; the dispatcher tries again.
    f.seen.fail_next([Fault::Reply(451)]);
    let (st, m) = h
        .call(
            &sup,
            Method::POST,
            &format!("/api/v1/persons/{person}/messages"),
            Some(json!({"channel": "email", "template": "case_outreach"})),
        )
        .await;
    assert_eq!(st.as_u16(), 201, "{m}");
    let id = m["id"].as_str().unwrap().to_string();
    let sent = until(&h, &sup, &person, &id, "sent").await;
    assert_eq!(sent["channel"], "email");
    assert!(sent["attempts"].as_i64().unwrap() >= 2, "{sent}");
    let mails = f.seen.mails();
    assert_eq!(mails.len(), 1, "delivered once");
    assert_eq!(f.seen.faulted.lock().unwrap().len(), 1);
    let mail = &mails[0];
    assert!(mail.tls && mail.user.as_deref() == Some("tracedesk"));
    assert_eq!(mail.to, vec!["lucia.gomez@example.com".to_string()]);
    assert!(mail.data.contains("Subject: Test & Trace"), "{}", mail.data);
    assert!(
        mail.data
            .contains(&format!("{}@health.example.org>", id.replace('-', ""))),
        "the Message-ID is the message's: {}",
        mail.data
    );
    // The disclosure is recorded as to the SMTP carrier.
    let log = h.store.audit_entries(0, 10_000).await.unwrap();
    assert!(
        log.iter().any(|e| e.draft.detail == "to the smtp carrier"
            && e.draft.object_id.map(|o| o.to_string()) == Some(id.clone())),
        "no disclosure entry"
    );

    // A permanent refusal fails the message, with the code and no text.
    f.seen.fail_next([Fault::Reply(550)]);
    let (_, m) = h
        .call(
            &sup,
            Method::POST,
            &format!("/api/v1/persons/{person}/messages"),
            Some(json!({"channel": "email", "body": "Por favor llámenos hoy."})),
        )
        .await;
    let failed = until(&h, &sup, &person, m["id"].as_str().unwrap(), "failed").await;
    assert_eq!(failed["error_code"], "smtp 550", "{failed}");
    // A text still goes to the sandbox: a person without a phone is told so.
    let (st, e) = h
        .call(
            &sup,
            Method::POST,
            &format!("/api/v1/persons/{person}/messages"),
            Some(json!({"template": "case_outreach"})),
        )
        .await;
    assert_eq!(st.as_u16(), 422, "{e}");
}
