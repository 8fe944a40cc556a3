//! The Twilio carrier and webhooks against a local server that speaks
//! Twilio's REST protocol: the exact request (form fields, Basic auth), the
//! signature on every webhook (forged, missing and foreign ones refused
//! with nothing stored), duplicate deliveries stored once, and faults — 429,
//! 5xx and a timeout after the message was accepted — ending in exactly one
//! message at the provider.

use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;
use tracedesk_identity::Role;
use tracedesk_twilio::fake::{Fault, Shared};
use uuid::Uuid;

pub(crate) const SID: &str = "AC0123456789abcdef0123456789abcdef";
pub(crate) const TOKEN: &str = "test-auth-token-1234";

pub(crate) struct Desk {
    pub h: crate::common::Harness,
    pub ny: String,
    pub fake: Shared,
}

async fn desk(faults: Vec<Fault>) -> Desk {
    desk_with(faults, Default::default()).await
}

pub(crate) async fn desk_with(faults: Vec<Fault>, settings: tracedesk_casework::Settings) -> Desk {
    let (api, fake) = tracedesk_twilio::fake::start(SID, faults).await.unwrap();
    let h = crate::common::spawn_twilio_with(SID, TOKEN, &api, settings).await;
    let (_, ny) = h.user("ny-sup", Role::Supervisor, "ny").await;
    Desk { h, ny, fake }
}

impl Desk {
    pub(crate) async fn person(&self, phone: &str) -> Uuid {
        let today = chrono::Utc::now().date_naive();
        let (st, out) = self
            .h
            .call(
                &self.ny,
                Method::POST,
                "/api/v1/lab-results",
                Some(json!({"first_name": "Mei", "last_name": "Chen", "dob": "1975-05-06",
                    "phone": phone, "specimen_date": (today - chrono::Days::new(1)).to_string(),
                    "result": "positive", "jurisdiction": "ny",
                    "accession": format!("T-{}", phone.replace(|c: char| !c.is_ascii_digit(), ""))})),
            )
            .await;
        assert!(st.is_success(), "{st}: {out}");
        out["person_id"].as_str().unwrap().parse().unwrap()
    }

    async fn send(&self, person: Uuid) -> (u16, Value) {
        let (st, v) = self
            .h
            .call(
                &self.ny,
                Method::POST,
                &format!("/api/v1/persons/{person}/messages"),
                Some(json!({"template": "case_outreach"})),
            )
            .await;
        (st.as_u16(), v)
    }

    pub(crate) async fn thread(&self, person: Uuid) -> Vec<Value> {
        let (_, v) = self
            .h
            .call(
                &self.ny,
                Method::GET,
                &format!("/api/v1/persons/{person}/messages"),
                None,
            )
            .await;
        v["items"].as_array().cloned().unwrap_or_default()
    }

    pub(crate) async fn until(&self, person: Uuid, id: &str, status: &str) -> Value {
        for _ in 0..200 {
            if let Some(m) = self
                .thread(person)
                .await
                .into_iter()
                .find(|m| m["id"] == id)
                && m["status"] == status
            {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "message {id} never reached {status}: {:?}",
            self.thread(person).await
        );
    }

    /// Posts a webhook form to `path`, signed with `token` (none: unsigned).
    pub(crate) async fn hook(
        &self,
        path: &str,
        params: &[(&str, &str)],
        token: Option<&str>,
    ) -> (u16, String) {
        let owned: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let url = format!("{}{path}", self.h.base);
        let mut req = self.h.http.post(&url).form(&owned);
        if let Some(t) = token {
            req = req.header(
                "X-Twilio-Signature",
                tracedesk_comms::signature::compute(t, &url, &owned),
            );
        }
        let r = req.send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

#[tokio::test]
async fn sends_the_exact_request_and_applies_signed_callbacks() {
    let d = desk(Vec::new()).await;
    let p = d.person("(212) 555-0146").await;
    let (st, m) = d.send(p).await;
    assert_eq!(st, 201, "{m}");
    let id = m["id"].as_str().unwrap().to_string();
    let sent = d.until(p, &id, "sent").await;
    assert_eq!(sent["attempts"], 1);
    let (sid, form) = {
        let f = d.fake.lock().unwrap();
        assert_eq!(f.accepted.len(), 1);
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{SID}:{TOKEN}"))
        );
        assert_eq!(f.auth, vec![expected]);
        f.accepted[0].clone()
    };
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(field("To").as_deref(), Some("+12125550146"));
    assert_eq!(field("From").as_deref(), Some("+12125550100"));
    assert_eq!(field("Body").as_deref(), m["body"].as_str());
    assert_eq!(
        field("StatusCallback"),
        Some(format!("{}/webhooks/twilio/status", d.h.base))
    );
    assert_eq!(form.len(), 4, "{form:?}");

    // A signed callback moves it on; a late `sent` does not move it back.
    let cb = |status: &'static str| {
        vec![
            ("MessageSid", sid.clone()),
            ("MessageStatus", status.to_string()),
            ("AccountSid", SID.to_string()),
        ]
    };
    for status in ["delivered", "sent"] {
        let params = cb(status);
        let refs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (st, _) = d.hook("/webhooks/twilio/status", &refs, Some(TOKEN)).await;
        assert_eq!(st, 200);
    }
    assert_eq!(d.until(p, &id, "delivered").await["status"], "delivered");
    // A callback for a message that is not ours is answered, and changes nothing.
    let (st, _) = d
        .hook(
            "/webhooks/twilio/status",
            &[
                ("MessageSid", "SMnotours"),
                ("MessageStatus", "failed"),
                ("AccountSid", SID),
            ],
            Some(TOKEN),
        )
        .await;
    assert_eq!(st, 200);
}

#[tokio::test]
async fn unsigned_forged_and_foreign_webhooks_are_refused_and_store_nothing() {
    let d = desk(Vec::new()).await;
    let p = d.person("(212) 555-0147").await;
    let sms = [
        ("MessageSid", "SMin0001"),
        ("From", "+12125550147"),
        ("To", "+12125550100"),
        ("Body", "hello"),
        ("AccountSid", SID),
    ];
    let (st, _) = d.hook("/webhooks/twilio/sms", &sms, None).await;
    assert_eq!(st, 403, "missing signature");
    let (st, _) = d
        .hook("/webhooks/twilio/sms", &sms, Some("not-the-token"))
        .await;
    assert_eq!(st, 403, "forged signature");
    let mut foreign = sms;
    foreign[4] = ("AccountSid", "AC_someone_else");
    let (st, _) = d.hook("/webhooks/twilio/sms", &foreign, Some(TOKEN)).await;
    assert_eq!(st, 403, "another account's message");
    assert!(d.thread(p).await.is_empty(), "nothing stored");

    // Wrong content type, a broken form, a missing field: specific 4xx.
    let url = format!("{}/webhooks/twilio/sms", d.h.base);
    let r =
        d.h.http
            .post(&url)
            .json(&json!({"From": "x"}))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status().as_u16(), 415);
    let r =
        d.h.http
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(&b"From=%FF%FE&To=1"[..])
            .send()
            .await
            .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let (st, body) = d.hook("/webhooks/twilio/sms", &sms[1..], Some(TOKEN)).await;
    assert_eq!(st, 422, "{body}");
    assert!(body.contains("MessageSid"), "{body}");
    assert!(d.thread(p).await.is_empty(), "nothing stored");
}

#[tokio::test]
async fn a_duplicate_delivery_is_stored_once_and_stop_opts_out() {
    let d = desk(Vec::new()).await;
    let p = d.person("(212) 555-0148").await;
    let sms = [
        ("MessageSid", "SMin0002"),
        ("From", "+12125550148"),
        ("To", "+12125550100"),
        ("Body", "Is this the health department?"),
        ("AccountSid", SID),
    ];
    for _ in 0..2 {
        let (st, body) = d.hook("/webhooks/twilio/sms", &sms, Some(TOKEN)).await;
        assert_eq!(st, 200);
        assert!(body.contains("<Response></Response>"), "{body}");
    }
    let inbound: Vec<_> = d
        .thread(p)
        .await
        .into_iter()
        .filter(|m| m["direction"] == "in")
        .collect();
    assert_eq!(inbound.len(), 1, "stored once");
    let stop = [
        ("MessageSid", "SMin0003"),
        ("From", "+12125550148"),
        ("To", "+12125550100"),
        ("Body", "Stop"),
        ("AccountSid", SID),
    ];
    assert_eq!(
        d.hook("/webhooks/twilio/sms", &stop, Some(TOKEN)).await.0,
        200
    );
    let (st, v) = d.send(p).await;
    assert_eq!(st, 409, "{v}");
}

#[tokio::test]
async fn faults_end_in_exactly_one_message_at_the_provider() {
    // Two 429s (retry at once), a 500 (retry after 2 s), then accepted.
    let d = desk(vec![Fault::TooMany, Fault::TooMany, Fault::Broken]).await;
    let p = d.person("(212) 555-0149").await;
    let (_, m) = d.send(p).await;
    let id = m["id"].as_str().unwrap().to_string();
    let sent = d.until(p, &id, "sent").await;
    assert_eq!(sent["attempts"], 4);
    let f = d.fake.lock().unwrap();
    assert_eq!((f.calls, f.accepted.len()), (4, 1));
}

#[tokio::test]
async fn an_answer_lost_to_a_timeout_is_looked_up_not_resent() {
    // Accepted, but answered after the client's 500 ms: the outcome is
    // unknown, and the message is found at the provider, not sent again.
    let d = desk(vec![Fault::Slow]).await;
    let p = d.person("(212) 555-0150").await;
    let (_, m) = d.send(p).await;
    let id = m["id"].as_str().unwrap().to_string();
    let sent = d.until(p, &id, "sent").await;
    assert_eq!(sent["attempts"], 2, "claimed again, as uncertain");
    let f = d.fake.lock().unwrap();
    assert_eq!(
        (f.calls, f.accepted.len()),
        (1, 1),
        "one send, then a look-up"
    );
}
