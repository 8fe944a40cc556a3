//! Calls through Twilio (issue 14, item 5), against the local fake of its
//! REST API and with signed voice webhooks as Twilio would send them: a
//! notification call's exact request (no personal data but the number
//! called), the TwiML said to a person and to an answering machine in
//! their language, call statuses, and click-to-call — the tracer's phone
//! rung first, the person dialled with the program's number, recording
//! only when configured and then announced; callers without the task
//! refused.

use crate::twilio::{Desk, SID, TOKEN, desk_with};
use reqwest::Method;
use serde_json::json;
use tracedesk_identity::Role;
use uuid::Uuid;

async fn spanish_person(d: &Desk, phone: &str, accession: &str) -> (Uuid, Uuid) {
    let today = chrono::Utc::now().date_naive();
    let (st, out) =
        d.h.call(
            &d.ny,
            Method::POST,
            "/api/v1/lab-results",
            Some(
                json!({"first_name": "Lucía", "last_name": "Gómez", "dob": "1984-05-06",
                "phone": phone, "language": "es",
                "specimen_date": (today - chrono::Days::new(1)).to_string(),
                "result": "positive", "jurisdiction": "ny", "accession": accession}),
            ),
        )
        .await;
    assert!(st.is_success(), "{out}");
    (
        out["person_id"].as_str().unwrap().parse().unwrap(),
        out["case_id"].as_str().unwrap().parse().unwrap(),
    )
}

fn field(form: &[(String, String)], k: &str) -> Vec<String> {
    form.iter()
        .filter(|(n, _)| n == k)
        .map(|(_, v)| v.clone())
        .collect()
}

#[tokio::test]
async fn a_notification_call_says_its_script_to_a_person_or_a_machine() {
    let d = desk_with(Vec::new(), Default::default()).await;
    let (person, _) = spanish_person(&d, "(212) 555-0181", "CALL-1").await;
    let (st, m) =
        d.h.call(
            &d.ny,
            Method::POST,
            &format!("/api/v1/persons/{person}/messages"),
            Some(json!({"channel": "voice", "template": "contact_notification"})),
        )
        .await;
    assert_eq!(st.as_u16(), 201, "{m}");
    assert_eq!(m["channel"], "voice");
    assert!(
        m["body"].as_str().unwrap().starts_with("Hola. Le llama"),
        "{m}"
    );
    let id = m["id"].as_str().unwrap().to_string();
    d.until(person, &id, "sent").await;
    let (sid, form) = d.fake.lock().unwrap().placed[0].clone();
    assert!(sid.starts_with("CA"));
    assert_eq!(field(&form, "To"), ["+12125550181"]);
    assert_eq!(field(&form, "From"), ["+12125550100"]);
    assert_eq!(
        field(&form, "Url"),
        [format!("{}/webhooks/twilio/voice?m={id}", d.h.base)]
    );
    assert_eq!(
        field(&form, "StatusCallback"),
        [format!("{}/webhooks/twilio/voice/status", d.h.base)]
    );
    assert_eq!(
        field(&form, "StatusCallbackEvent"),
        ["initiated", "ringing", "answered", "completed"]
    );
    assert_eq!(field(&form, "MachineDetection"), ["DetectMessageEnd"]);
    // The script is fetched when the call is answered, never sent ahead.
    assert!(field(&form, "Body").is_empty() && field(&form, "Twiml").is_empty());

    let path = format!("/webhooks/twilio/voice?m={id}");
    for answered_by in ["human", "machine_end_beep"] {
        let (st, twiml) = d
            .hook(
                &path,
                &[
                    ("CallSid", &sid),
                    ("AccountSid", SID),
                    ("AnsweredBy", answered_by),
                ],
                Some(TOKEN),
            )
            .await;
        assert_eq!(st, 200, "{twiml}");
        assert!(
            twiml.contains(
                "<Say voice=\"Google.es-US-Standard-A\" language=\"es-US\">Hola. Le llama"
            ),
            "{twiml}"
        );
        assert!(twiml.ends_with("<Hangup/></Response>"), "{twiml}");
    }
    // Unsigned or forged: refused.
    let (st, _) = d
        .hook(&path, &[("CallSid", &sid), ("AccountSid", SID)], None)
        .await;
    assert_eq!(st, 403);
    let (st, _) = d
        .hook(
            &path,
            &[("CallSid", &sid), ("AccountSid", SID)],
            Some("wrong-token"),
        )
        .await;
    assert_eq!(st, 403);
    // A call tracedesk does not know is hung up on; a bad id is named.
    let (st, twiml) = d
        .hook(
            &format!("/webhooks/twilio/voice?m={}", Uuid::now_v7()),
            &[("CallSid", "CAother"), ("AccountSid", SID)],
            Some(TOKEN),
        )
        .await;
    assert_eq!((st, twiml.contains("<Hangup/>")), (200, true));
    let (st, _) = d
        .hook(
            "/webhooks/twilio/voice?m=nope",
            &[("CallSid", "CAx"), ("AccountSid", SID)],
            Some(TOKEN),
        )
        .await;
    assert_eq!(st, 422);
    // A gather on a call that asks nothing stores nothing and hangs up.
    let (st, twiml) = d
        .hook(
            &format!("/webhooks/twilio/voice/gather?m={id}"),
            &[("CallSid", &sid), ("AccountSid", SID), ("Digits", "1")],
            Some(TOKEN),
        )
        .await;
    assert_eq!((st, twiml.contains("<Hangup/>")), (200, true));
    assert_eq!(d.thread(person).await.len(), 1);

    // Statuses: in progress changes nothing; completed delivers.
    for status in ["ringing", "in-progress", "completed"] {
        let (st, _) = d
            .hook(
                "/webhooks/twilio/voice/status",
                &[
                    ("CallSid", &sid),
                    ("CallStatus", status),
                    ("AccountSid", SID),
                ],
                Some(TOKEN),
            )
            .await;
        assert_eq!(st, 200);
    }
    d.until(person, &id, "delivered").await;
}

#[tokio::test]
async fn an_unanswered_call_is_undelivered_with_its_status() {
    let d = desk_with(Vec::new(), Default::default()).await;
    let (person, _) = spanish_person(&d, "(212) 555-0182", "CALL-2").await;
    let (_, m) =
        d.h.call(
            &d.ny,
            Method::POST,
            &format!("/api/v1/persons/{person}/messages"),
            Some(json!({"channel": "voice", "template": "contact_notification"})),
        )
        .await;
    let id = m["id"].as_str().unwrap().to_string();
    d.until(person, &id, "sent").await;
    let sid = d.fake.lock().unwrap().placed[0].0.clone();
    d.hook(
        "/webhooks/twilio/voice/status",
        &[
            ("CallSid", &sid),
            ("CallStatus", "no-answer"),
            ("AccountSid", SID),
        ],
        Some(TOKEN),
    )
    .await;
    let m = d.until(person, &id, "undelivered").await;
    assert_eq!(m["error_code"], "no-answer");
}

/// Click-to-call with recording on: the tracer's phone is rung (no
/// machine detection), then the person is dialled from the program's
/// number; the person hears the recording notice before being connected,
/// and the tracer before being put through.
#[tokio::test]
async fn click_to_call_rings_the_tracer_then_dials_the_person_from_the_program() {
    let mut settings = tracedesk_casework::Settings::default();
    settings.messaging.record_calls = true;
    let d = desk_with(Vec::new(), settings).await;
    let (person, case) = spanish_person(&d, "(212) 555-0183", "CALL-3").await;
    let (tracer_id, tracer) = d.h.user("ny-caller", Role::Tracer, "ny").await;
    let task = d.h.cw.cases().tasks_for_case(case).await.unwrap()[0].id;
    let calls = format!("/api/v1/tasks/{task}/calls");
    let body = json!({"phone": "(917) 555-0199"});
    // Not yet the tracer's task: refused; nor a sibling's supervisor's.
    let (st, _) =
        d.h.call(&tracer, Method::POST, &calls, Some(body.clone()))
            .await;
    assert_eq!(st.as_u16(), 403);
    let (_, nj) = d.h.user("nj-sup", Role::Supervisor, "nj").await;
    let (st, _) =
        d.h.call(&nj, Method::POST, &calls, Some(body.clone()))
            .await;
    assert_eq!(st.as_u16(), 403);
    let (_, analyst) = d.h.user("ny-analyst", Role::Analyst, "ny").await;
    let (st, _) =
        d.h.call(&analyst, Method::POST, &calls, Some(body.clone()))
            .await;
    assert_eq!(st.as_u16(), 403);
    d.h.cw
        .cases()
        .assign_task(task, Some(tracer_id))
        .await
        .unwrap();
    let (st, e) =
        d.h.call(
            &tracer,
            Method::POST,
            &calls,
            Some(json!({"phone": "call me"})),
        )
        .await;
    assert_eq!(st.as_u16(), 422, "{e}");
    assert_eq!(e["error"]["field"], "phone");
    let (st, m) = d.h.call(&tracer, Method::POST, &calls, Some(body)).await;
    assert_eq!(st.as_u16(), 201, "{m}");
    assert!(
        !m.to_string().contains("555-0183") && !m.to_string().contains("5550183"),
        "the call's view shows no number: {m}"
    );
    let id = m["id"].as_str().unwrap().to_string();
    d.until(person, &id, "sent").await;
    let (sid, form) = d.fake.lock().unwrap().placed[0].clone();
    assert_eq!(
        field(&form, "To"),
        ["+19175550199"],
        "the tracer is rung first"
    );
    assert!(field(&form, "MachineDetection").is_empty());
    assert!(
        !form.iter().any(|(_, v)| v.contains("5550183")),
        "the person's number is not in the request: {form:?}"
    );
    let (st, twiml) = d
        .hook(
            &format!("/webhooks/twilio/voice?m={id}"),
            &[("CallSid", &sid), ("AccountSid", SID)],
            Some(TOKEN),
        )
        .await;
    assert_eq!(st, 200, "{twiml}");
    assert!(
        twiml.contains("This call is recorded."),
        "told to the tracer: {twiml}"
    );
    assert!(
        twiml.contains(&format!(
            "<Dial callerId=\"+12125550100\" record=\"record-from-answer-dual\"><Number url=\"{}/webhooks/twilio/voice/announce?m={id}\" method=\"POST\">+12125550183</Number></Dial>",
            d.h.base
        )),
        "{twiml}"
    );
    assert!(
        !twiml.contains("9175550199"),
        "the tracer's number is never shown"
    );
    let (st, notice) = d
        .hook(
            &format!("/webhooks/twilio/voice/announce?m={id}"),
            &[("CallSid", "CAchild"), ("AccountSid", SID)],
            Some(TOKEN),
        )
        .await;
    assert_eq!(st, 200);
    assert!(notice.contains("This call is recorded."), "{notice}");
    // The call is an attempt on the task.
    let (_, attempts) =
        d.h.call(
            &tracer,
            Method::GET,
            &format!("/api/v1/tasks/{task}/attempts"),
            None,
        )
        .await;
    assert_eq!(attempts["items"][0]["channel"], "phone", "{attempts}");
    assert_eq!(attempts["items"][0]["message_id"], id.as_str());
}

/// Without `record_calls`, the bridge neither records nor announces.
#[tokio::test]
async fn click_to_call_records_only_when_configured() {
    let d = desk_with(Vec::new(), Default::default()).await;
    let (person, case) = spanish_person(&d, "(212) 555-0184", "CALL-4").await;
    let task = d.h.cw.cases().tasks_for_case(case).await.unwrap()[0].id;
    let (st, m) =
        d.h.call(
            &d.ny,
            Method::POST,
            &format!("/api/v1/tasks/{task}/calls"),
            Some(json!({"phone": "+19175550198"})),
        )
        .await;
    assert_eq!(st.as_u16(), 201, "{m}");
    let id = m["id"].as_str().unwrap().to_string();
    d.until(person, &id, "sent").await;
    let sid = d.fake.lock().unwrap().placed[0].0.clone();
    let (_, twiml) = d
        .hook(
            &format!("/webhooks/twilio/voice?m={id}"),
            &[("CallSid", &sid), ("AccountSid", SID)],
            Some(TOKEN),
        )
        .await;
    assert!(
        twiml.contains("<Dial callerId=\"+12125550100\"><Number>+12125550184</Number></Dial>"),
        "{twiml}"
    );
    assert!(!twiml.contains("record"), "{twiml}");
}
