//! Daily monitoring over the API and the real scheduler (issue 14): a
//! contact moved to `monitoring` is checked on in their window, in their
//! language, at the sandbox phone; replies from that phone are understood
//! (well, symptoms, not understood); silence makes a non-responder task;
//! the day after quarantine the contact is completed with a closing text.
//! The monitoring routes refuse a sibling jurisdiction, a tracer without
//! the contact and an analyst.

use crate::common::Harness;
use chrono::{Duration as Days, Timelike};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;
use tracedesk_identity::Role;
use uuid::Uuid;

struct Floor {
    h: Harness,
    ny: String,
    nj: String,
    tracer: String,
    analyst: String,
    case: Uuid,
}

/// A fixed-offset IANA zone in which the harness's clock reads about 1 pm,
/// inside the afternoon window (12–16) with two hours to spare either way.
fn afternoon_zone(now: chrono::DateTime<chrono::Utc>) -> String {
    let mut off = 13 - now.hour() as i32;
    if off < -12 {
        off += 24;
    }
    if off > 14 {
        off -= 24;
    }
    match off {
        0 => "Etc/GMT".into(),
        // POSIX signs: Etc/GMT-3 is three hours ahead of UTC.
        o if o > 0 => format!("Etc/GMT-{o}"),
        o => format!("Etc/GMT+{}", -o),
    }
}

async fn floor() -> Floor {
    floor_on(crate::common::spawn(Default::default()).await).await
}

async fn floor_on(h: Harness) -> Floor {
    let (_, ny) = h.user("ny-sup", Role::Supervisor, "ny").await;
    let (_, nj) = h.user("nj-sup", Role::Supervisor, "nj").await;
    let (_, tracer) = h.user("ny-tracer", Role::Tracer, "ny").await;
    let (_, analyst) = h.user("ny-analyst", Role::Analyst, "ny").await;
    let today = h.now().date_naive();
    let (st, out) = h
        .call(
            &ny,
            Method::POST,
            "/api/v1/lab-results",
            Some(
                json!({"first_name": "Ana", "last_name": "Silva", "dob": "1975-03-04",
                "specimen_date": (today - Days::days(1)).to_string(),
                "result": "positive", "jurisdiction": "ny", "accession": "MON-1"}),
            ),
        )
        .await;
    assert!(st.is_success(), "{out}");
    let case = out["case_id"].as_str().unwrap().parse().unwrap();
    Floor {
        h,
        ny,
        nj,
        tracer,
        analyst,
        case,
    }
}

impl Floor {
    async fn call(&self, token: &str, m: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let (st, v) = self.h.call(token, m, path, body).await;
        (st.as_u16(), v)
    }

    /// A contact of the case, moved to monitoring; (contact id, person id).
    async fn monitored(&self, first: &str, phone: &str, language: &str) -> (Uuid, Uuid) {
        let yesterday = self.h.now().date_naive() - Days::days(1);
        let (st, named) = self
            .call(
                &self.ny,
                Method::POST,
                &format!("/api/v1/cases/{}/contacts", self.case),
                Some(
                    json!({"first_name": first, "last_name": "Reis", "dob": "1990-05-06",
                    "phone": phone, "language": language,
                    "exposure_dates": [yesterday.to_string()]}),
                ),
            )
            .await;
        assert_eq!(st, 201, "{named}");
        let contact: Uuid = named["exposure_id"].as_str().unwrap().parse().unwrap();
        let person: Uuid = named["contact_person_id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        for status in ["notified", "monitoring"] {
            let (st, v) = self
                .call(
                    &self.ny,
                    Method::PATCH,
                    &format!("/api/v1/contacts/{contact}"),
                    Some(json!({ "status": status })),
                )
                .await;
            assert_eq!(st, 200, "{v}");
        }
        let zone = afternoon_zone(self.h.now());
        let (st, v) = self
            .call(
                &self.ny,
                Method::PUT,
                &format!("/api/v1/contacts/{contact}/monitoring"),
                Some(json!({ "time_zone": zone, "window": "afternoon" })),
            )
            .await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["state"], "active");
        (contact, person)
    }

    async fn schedule(&self) -> tracedesk_casework::monitoring::CheckinStats {
        self.h
            .cw
            .messages()
            .schedule_checkins(false, |_| {})
            .await
            .unwrap()
    }

    /// The texts at the person's sandbox phone, oldest first, once there
    /// are `n` of them.
    async fn phone(&self, person: Uuid, n: usize) -> Vec<String> {
        for _ in 0..200 {
            let (st, v) = self
                .call(
                    &self.ny,
                    Method::GET,
                    &format!("/api/v1/sandbox/persons/{person}/phone"),
                    None,
                )
                .await;
            assert_eq!(st, 200, "{v}");
            let items: Vec<String> = v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["body"].as_str().unwrap().to_string())
                .collect();
            if items.len() >= n {
                assert_eq!(items.len(), n, "{items:?}");
                return items;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("{n} texts never reached the phone");
    }

    async fn reply(&self, person: Uuid, body: &str) {
        let (st, v) = self
            .call(
                &self.ny,
                Method::POST,
                &format!("/api/v1/sandbox/persons/{person}/phone"),
                Some(json!({ "body": body })),
            )
            .await;
        assert_eq!(st, 201, "{v}");
    }

    async fn monitoring(&self, contact: Uuid) -> Value {
        let (st, v) = self
            .call(
                &self.ny,
                Method::GET,
                &format!("/api/v1/contacts/{contact}/monitoring"),
                None,
            )
            .await;
        assert_eq!(st, 200, "{v}");
        v
    }

    async fn list(&self, token: &str, list: &str) -> Vec<String> {
        let (st, v) = self
            .call(
                token,
                Method::GET,
                &format!("/api/v1/monitoring?list={list}"),
                None,
            )
            .await;
        assert_eq!(st, 200, "{v}");
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["contact_id"].as_str().unwrap().to_string())
            .collect()
    }

    async fn tasks(&self, contact: Uuid, kind: &str) -> usize {
        self.h
            .store
            .tasks_for_case(self.case)
            .await
            .unwrap()
            .iter()
            .filter(|t| t.exposure_id == Some(contact) && t.kind == kind)
            .count()
    }

    async fn contact_status(&self, contact: Uuid) -> String {
        self.h
            .store
            .get_exposure(contact)
            .await
            .unwrap()
            .unwrap()
            .status
    }
}

#[tokio::test]
async fn a_monitored_contact_is_checked_on_daily_and_replies_are_understood() {
    let f = floor().await;
    let (c, p) = f.monitored("Lia", "(212) 555-0171", "es").await;

    // Day 0: one check-in, in Spanish, at the phone.
    let s = f.schedule().await;
    assert_eq!((s.due, s.checkins), (1, 1), "{s:?}");
    let texts = f.phone(p, 1).await;
    assert!(texts[0].contains("control diario"), "{texts:?}");
    // A second pass the same day sends nothing more.
    assert_eq!(f.schedule().await.checkins, 0);
    f.reply(p, "No, gracias 👍").await;
    let m = f.monitoring(c).await;
    assert_eq!(m["list"], "asymptomatic");
    assert_eq!(m["last_report"]["kind"], "well");
    assert!(f.list(&f.ny, "asymptomatic").await.contains(&c.to_string()));

    // Days 1–3 unanswered: the third silent check-in hands them to a person.
    for day in 1..=3 {
        f.h.advance(Days::days(1));
        let s = f.schedule().await;
        assert_eq!(s.checkins, 1, "day {day}: {s:?}");
        let _ = f.phone(p, 1 + day).await;
    }
    let m = f.monitoring(c).await;
    assert_eq!(m["silent_days"], 2, "{m}");
    assert_eq!(m["list"], "non_reporting");
    assert!(
        f.list(&f.ny, "non_reporting")
            .await
            .contains(&c.to_string())
    );
    assert_eq!(f.tasks(c, "non_responder_followup").await, 1);

    // Not understood: a clarifying text, then a person will call.
    f.reply(p, "quizás mañana").await;
    let texts = f.phone(p, 5).await;
    assert!(texts[4].contains("no entendimos"), "{texts:?}");
    f.reply(p, "???").await;
    assert_eq!(f.tasks(c, "callback_request").await, 1);
    assert_eq!(f.monitoring(c).await["list"], "non_reporting");

    // Symptoms: a clinical follow-up, testing advice, the contact symptomatic.
    f.reply(p, "tengo fiebre y tos").await;
    let texts = f.phone(p, 6).await;
    assert!(texts[5].contains("prueba"), "{texts:?}");
    assert_eq!(f.tasks(c, "symptomatic_followup").await, 1);
    assert_eq!(f.contact_status(c).await, "symptomatic");
    let m = f.monitoring(c).await;
    assert_eq!(m["list"], "symptomatic");
    assert_eq!(m["last_report"]["symptoms"], json!(["fever", "cough"]));
    assert!(f.list(&f.ny, "symptomatic").await.contains(&c.to_string()));
    // No more check-ins while symptomatic.
    f.h.advance(Days::days(1));
    assert_eq!(f.schedule().await.checkins, 0);
}

#[tokio::test]
async fn the_day_after_quarantine_the_contact_completes_with_a_closing_text() {
    let f = floor().await;
    let (c, p) = f.monitored("Ivo", "(212) 555-0172", "en").await;
    assert_eq!(f.schedule().await.checkins, 1);
    let _ = f.phone(p, 1).await;
    f.h.advance(Days::days(16));
    let s = f.schedule().await;
    assert_eq!((s.completed, s.checkins), (1, 0), "{s:?}");
    let texts = f.phone(p, 2).await;
    assert!(texts[1].contains("check-ins are over"), "{texts:?}");
    assert_eq!(f.contact_status(c).await, "completed");
    let m = f.monitoring(c).await;
    assert_eq!(
        (m["state"].as_str(), m["list"].as_str()),
        (Some("closed"), Some("closed"))
    );
    assert!(f.list(&f.ny, "closed").await.contains(&c.to_string()));
    f.h.advance(Days::days(1));
    assert_eq!(f.schedule().await.due, 0, "closed records are never due");
}

#[tokio::test]
async fn monitoring_is_refused_to_callers_without_the_contact() {
    let f = floor().await;
    let (c, p) = f.monitored("Eva", "(212) 555-0173", "en").await;
    f.schedule().await;
    let _ = f.phone(p, 1).await;
    f.reply(p, "no").await;
    let path = format!("/api/v1/contacts/{c}/monitoring");
    for token in [&f.nj, &f.tracer, &f.analyst] {
        let (st, _) = f.call(token, Method::GET, &path, None).await;
        assert_eq!(st, 403);
        let (st, _) = f
            .call(
                token,
                Method::PUT,
                &path,
                Some(json!({"window": "morning"})),
            )
            .await;
        assert_eq!(st, 403);
    }
    // The line list shows a supervisor their jurisdictions only.
    assert!(f.list(&f.nj, "asymptomatic").await.is_empty());
    for token in [&f.tracer, &f.analyst] {
        let (st, _) = f
            .call(
                token,
                Method::GET,
                "/api/v1/monitoring?list=asymptomatic",
                None,
            )
            .await;
        assert_eq!(st, 403);
    }
    // Nothing the refused callers sent changed the record.
    assert_eq!(f.monitoring(c).await["window"], "afternoon");
    // Bad preferences are named by field and change nothing.
    for (body, field) in [
        (json!({"window": "night"}), "window"),
        (json!({"time_zone": "Mars/Olympus"}), "time_zone"),
        (json!({"channel": "fax"}), "channel"),
    ] {
        let (st, v) = f.call(&f.ny, Method::PUT, &path, Some(body.clone())).await;
        assert_eq!(st, 422, "{body}: {v}");
        assert_eq!(v["error"]["field"], field, "{body}: {v}");
    }
    let (st, v) = f
        .call(&f.ny, Method::GET, "/api/v1/monitoring?list=everyone", None)
        .await;
    assert_eq!(
        (st, v["error"]["field"].as_str()),
        (422, Some("list")),
        "{v}"
    );
}

/// A contact who asked to be called is checked on by a call (at the
/// sandbox phone), in Spanish: a key the call does not understand is asked
/// again on the call (no clarifying text), and 1 (symptoms) moves the
/// record, makes the clinical task and sends the advice by text. A
/// sibling's supervisor may not press keys on the person's phone.
#[tokio::test]
async fn a_contact_who_chose_calls_answers_the_check_in_by_keypad() {
    let f = floor().await;
    let (c, p) = f.monitored("Rui", "(212) 555-0174", "es").await;
    let (st, v) = f
        .call(
            &f.ny,
            Method::PUT,
            &format!("/api/v1/contacts/{c}/monitoring"),
            Some(json!({ "channel": "voice" })),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["channel"], "voice");
    let stats = f.schedule().await;
    assert_eq!(stats.checkins, 1, "{stats:?}");
    let heard = f.phone(p, 1).await;
    assert!(heard[0].contains("control de salud diario"), "{heard:?}");
    let (_, items) = f
        .call(
            &f.ny,
            Method::GET,
            &format!("/api/v1/sandbox/persons/{p}/phone"),
            None,
        )
        .await;
    assert_eq!(items["items"][0]["channel"], "voice");

    let keypad = format!("/api/v1/sandbox/persons/{p}/keypad");
    // A sibling's supervisor, a tracer without the contact, an analyst.
    for token in [&f.nj, &f.tracer, &f.analyst] {
        let (st, _) = f
            .call(token, Method::POST, &keypad, Some(json!({"digits": "1"})))
            .await;
        assert_eq!(st, 403);
    }
    let (st, next) = f
        .call(&f.ny, Method::POST, &keypad, Some(json!({"digits": "9"})))
        .await;
    assert_eq!(st, 200, "{next}");
    assert_eq!(next["asks"], true);
    assert!(
        next["says"].as_str().unwrap().starts_with("Disculpe"),
        "{next}"
    );
    assert_eq!(next["language"], "es");
    let (st, next) = f
        .call(&f.ny, Method::POST, &keypad, Some(json!({"digits": "1"})))
        .await;
    assert_eq!(st, 200, "{next}");
    assert_eq!(next["asks"], false);
    assert!(next["says"].as_str().unwrap().contains("911"), "{next}");
    assert_eq!(f.contact_status(c).await, "symptomatic");
    assert_eq!(f.tasks(c, "symptomatic_followup").await, 1);
    // The advice arrives by text; the unclear key made none.
    let texts = f.phone(p, 2).await;
    assert!(!texts[1].contains("no le entendimos"), "{texts:?}");
    assert_eq!(f.monitoring(c).await["list"], "symptomatic");
}

/// The token of the self-report link in a text.
fn link_token(text: &str) -> String {
    let at = text.find("/r/").expect("a link") + 3;
    text[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// A contact who chose the web link gets a text with their own signed
/// link; the page (no sign-in, no personal data) asks in their language;
/// a report of symptoms acts like a texted one, once. A forged link and
/// an expired one answer nothing.
#[tokio::test]
async fn a_self_report_link_takes_one_answer_and_discloses_nothing() {
    let f = floor().await;
    let (c, p) = f.monitored("Leo", "(212) 555-0175", "es").await;
    let (st, v) = f
        .call(
            &f.ny,
            Method::PUT,
            &format!("/api/v1/contacts/{c}/monitoring"),
            Some(json!({ "channel": "web" })),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    f.schedule().await;
    let texts = f.phone(p, 1).await;
    assert!(texts[0].contains("Toque para responder"), "{texts:?}");
    let token = link_token(&texts[0]);
    assert_eq!(token.len(), 54, "{texts:?}");
    let url = format!("{}/r/{token}", f.h.base);
    let page = f.h.http.get(&url).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert_eq!(
        page.headers()["referrer-policy"].to_str().unwrap(),
        "no-referrer"
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("<html lang=\"es\">"), "{html}");
    assert!(html.contains("¿Tiene hoy algún síntoma"), "{html}");
    for private in ["Leo", "Reis", "555", "0175", "1990"] {
        assert!(!html.contains(private), "{private} in {html}");
    }
    assert!(!html.contains("<script"), "{html}");

    // A forged token (one character changed) and a made-up one: 404.
    let mut forged = token.clone().into_bytes();
    forged[5] = if forged[5] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    for bad in [forged.as_str(), "nothing-here"] {
        let r =
            f.h.http
                .post(format!("{}/r/{bad}", f.h.base))
                .form(&[("answer", "unwell")])
                .send()
                .await
                .unwrap();
        assert_eq!(r.status().as_u16(), 404, "{bad}");
    }
    assert_eq!(f.tasks(c, "symptomatic_followup").await, 0);

    let r =
        f.h.http
            .post(&url)
            .form(&[("answer", "maybe")])
            .send()
            .await
            .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let r =
        f.h.http
            .post(&url)
            .form(&[("answer", "unwell"), ("details", "tengo fiebre y tos")])
            .send()
            .await
            .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Su respuesta fue recibida")
    );
    assert_eq!(f.contact_status(c).await, "symptomatic");
    assert_eq!(f.tasks(c, "symptomatic_followup").await, 1);
    let m = f.monitoring(c).await;
    assert_eq!(m["list"], "symptomatic");
    // Once: the same link again changes nothing.
    let again =
        f.h.http
            .post(&url)
            .form(&[("answer", "unwell")])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
    assert!(again.contains("Su respuesta fue recibida"), "{again}");
    assert_eq!(f.tasks(c, "symptomatic_followup").await, 1);
    // The report is on the person's thread for the jurisdiction's staff.
    let (_, thread) = f
        .call(
            &f.ny,
            Method::GET,
            &format!("/api/v1/persons/{p}/messages"),
            None,
        )
        .await;
    assert!(
        thread["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["channel"] == "web" && m["body"].as_str().unwrap().contains("tengo fiebre")),
        "{thread}"
    );
}

/// A link past its day answers nothing; an email contact's link goes by
/// email.
#[tokio::test]
async fn an_expired_link_is_closed_and_email_contacts_get_theirs_by_email() {
    let f = floor().await;
    let (c, p) = f.monitored("Ada", "(212) 555-0176", "en").await;
    f.call(
        &f.ny,
        Method::PUT,
        &format!("/api/v1/contacts/{c}/monitoring"),
        Some(json!({ "channel": "web" })),
    )
    .await;
    f.schedule().await;
    let token = link_token(&f.phone(p, 1).await[0]);
    f.h.advance(chrono::Duration::hours(25));
    let html =
        f.h.http
            .post(format!("{}/r/{token}", f.h.base))
            .form(&[("answer", "unwell")])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
    assert!(html.contains("no longer active"), "{html}");
    assert_eq!(f.tasks(c, "symptomatic_followup").await, 0);

    // By email: a contact with an email address who chose it.
    let yesterday = f.h.now().date_naive() - Days::days(1);
    let (st, named) = f
        .call(
            &f.ny,
            Method::POST,
            &format!("/api/v1/cases/{}/contacts", f.case),
            Some(
                json!({"first_name": "Ben", "last_name": "Okoro", "dob": "1991-02-03",
                "email": "ben.okoro@example.com", "exposure_dates": [yesterday.to_string()]}),
            ),
        )
        .await;
    assert_eq!(st, 201, "{named}");
    let contact: Uuid = named["exposure_id"].as_str().unwrap().parse().unwrap();
    let person: Uuid = named["contact_person_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    for status in ["notified", "monitoring"] {
        f.call(
            &f.ny,
            Method::PATCH,
            &format!("/api/v1/contacts/{contact}"),
            Some(json!({ "status": status })),
        )
        .await;
    }
    let zone = afternoon_zone(f.h.now());
    let (st, v) = f
        .call(
            &f.ny,
            Method::PUT,
            &format!("/api/v1/contacts/{contact}/monitoring"),
            Some(json!({ "channel": "email", "time_zone": zone })),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    f.schedule().await;
    let (_, thread) = f
        .call(
            &f.ny,
            Method::GET,
            &format!("/api/v1/persons/{person}/messages"),
            None,
        )
        .await;
    let email = thread["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["channel"] == "email")
        .cloned()
        .unwrap_or_else(|| panic!("no email: {thread}"));
    assert!(email["body"].as_str().unwrap().contains("/r/"), "{email}");
}

/// A phone number whose sandbox persona is `p`.
fn number_of(p: tracedesk_comms::sandbox::Persona, skip: usize) -> String {
    (0..10_000)
        .map(|n| format!("(212) 555-{n:04}"))
        .filter(|a| {
            let e164 = format!("+1212555{}", &a[10..]);
            tracedesk_comms::sandbox::Persona::of(&e164) == p
        })
        .nth(skip)
        .unwrap()
}

/// With personas on, the people at the sandbox phones answer their
/// check-ins as real contacts do, through the carrier's inbound path: one
/// well, one with symptoms (moved, with a clinical task), one texting
/// STOP (opted out), one silent.
#[tokio::test]
async fn sandbox_personas_answer_their_check_ins() {
    use tracedesk_comms::sandbox::Persona;
    let f = floor_on(crate::common::spawn_personas().await).await;
    let (well, _) = f
        .monitored("Una", &number_of(Persona::Answers, 0), "en")
        .await;
    let (sick, _) = f
        .monitored("Dos", &number_of(Persona::Symptomatic, 0), "en")
        .await;
    let (stop, stop_person) = f
        .monitored("Tres", &number_of(Persona::OptsOut, 0), "en")
        .await;
    let (quiet, _) = f
        .monitored("Cuatro", &number_of(Persona::Ignores, 0), "en")
        .await;
    f.schedule().await;
    for _ in 0..200 {
        if f.contact_status(sick).await == "symptomatic"
            && f.monitoring(well).await["list"] == "asymptomatic"
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(f.contact_status(sick).await, "symptomatic");
    assert_eq!(f.tasks(sick, "symptomatic_followup").await, 1);
    assert_eq!(f.monitoring(well).await["list"], "asymptomatic");
    assert!(f.monitoring(quiet).await["last_reply_at"].is_null());
    assert_eq!(f.contact_status(stop).await, "monitoring");
    // STOP: the person is opted out (a send is refused, 409).
    let mut refused = false;
    for _ in 0..200 {
        let (st, _) = f
            .call(
                &f.ny,
                Method::POST,
                &format!("/api/v1/persons/{stop_person}/messages"),
                Some(json!({"template": "case_outreach"})),
            )
            .await;
        if st == 409 {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(refused, "the persona's STOP opted the number out");
}
