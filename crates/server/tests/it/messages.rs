//! Messages over the API (issue 14): a templated text queued to the
//! outbox, dispatched to the sandbox carrier, delivered and shown on the
//! person's thread; the diagnosis lint; opt-out by STOP from the person's
//! phone, refusal while opted out, START; and callers who must be refused.

use crate::common::Harness;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;
use tracedesk_identity::Role;
use uuid::Uuid;

struct Desk {
    h: Harness,
    ny: String,
    nj: String,
    tracer: String,
}

async fn desk() -> Desk {
    let h = crate::common::spawn(Default::default()).await;
    let (_, ny) = h.user("ny-sup", Role::Supervisor, "ny").await;
    let (_, nj) = h.user("nj-sup", Role::Supervisor, "nj").await;
    let (_, tracer) = h.user("ny-tracer", Role::Tracer, "ny").await;
    Desk { h, ny, nj, tracer }
}

impl Desk {
    async fn call(&self, token: &str, m: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let (st, v) = self.h.call(token, m, path, body).await;
        (st.as_u16(), v)
    }

    /// A case in New York whose person has a phone and speaks `language`;
    /// the person's id.
    async fn person(&self, phone: &str, language: &str) -> Uuid {
        self.case(("Rosa", "Lopez"), phone, language).await.0
    }

    /// A case in New York for `name` with a phone; the person's and the
    /// case's ids.
    async fn case(&self, name: (&str, &str), phone: &str, language: &str) -> (Uuid, Uuid) {
        let today = chrono::Utc::now().date_naive();
        let (st, out) = self
            .call(
                &self.ny,
                Method::POST,
                "/api/v1/lab-results",
                Some(json!({"first_name": name.0, "last_name": name.1, "dob": "1980-01-02",
                    "phone": phone, "language": language,
                    "specimen_date": (today - chrono::Days::new(2)).to_string(),
                    "result": "positive", "jurisdiction": "ny",
                    "accession": format!("ACC-{}", phone.replace(|c: char| !c.is_ascii_digit(), ""))})),
            )
            .await;
        assert!(st == 201 || st == 200, "{st}: {out}");
        let id = |k: &str| out[k].as_str().unwrap().parse().unwrap();
        (id("person_id"), id("case_id"))
    }

    async fn send(&self, token: &str, person: Uuid, body: Value) -> (u16, Value) {
        self.call(
            token,
            Method::POST,
            &format!("/api/v1/persons/{person}/messages"),
            Some(body),
        )
        .await
    }

    async fn thread(&self, token: &str, person: Uuid) -> (u16, Value) {
        self.call(
            token,
            Method::GET,
            &format!("/api/v1/persons/{person}/messages"),
            None,
        )
        .await
    }

    async fn phone(&self, person: Uuid) -> Vec<Value> {
        let (st, v) = self
            .call(
                &self.ny,
                Method::GET,
                &format!("/api/v1/sandbox/persons/{person}/phone"),
                None,
            )
            .await;
        assert_eq!(st, 200, "{v}");
        v["items"].as_array().cloned().unwrap_or_default()
    }

    async fn reply(&self, person: Uuid, body: &str) -> Value {
        let (st, v) = self
            .call(
                &self.ny,
                Method::POST,
                &format!("/api/v1/sandbox/persons/{person}/phone"),
                Some(json!({ "body": body })),
            )
            .await;
        assert_eq!(st, 201, "{v}");
        v
    }

    /// Waits until the thread's message `id` has `status`.
    async fn until_status(&self, person: Uuid, id: &str, status: &str) -> Value {
        for _ in 0..100 {
            let (_, t) = self.thread(&self.ny, person).await;
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
}

#[tokio::test]
async fn a_template_is_sent_delivered_and_kept_on_the_thread() {
    let d = desk().await;
    let p = d.person("(212) 555-0142", "es").await;
    let (st, m) = d
        .send(
            &d.ny,
            p,
            json!({"template": "case_outreach", "priority": "urgent"}),
        )
        .await;
    assert_eq!(st, 201, "{m}");
    assert_eq!(m["status"], "queued");
    assert_eq!(m["direction"], "out");
    assert_eq!(m["priority"], "urgent");
    // Rendered in the person's language, with the program's callback.
    let body = m["body"].as_str().unwrap();
    assert!(
        body.starts_with("Public Health: llámenos al +1 212 555 0100"),
        "{body}"
    );
    assert_eq!(m["encoding"], "ucs2", "á is not in GSM-7");
    let id = m["id"].as_str().unwrap().to_string();
    let delivered = d.until_status(p, &id, "delivered").await;
    assert_eq!(delivered["attempts"], 1);
    let at_phone = d.phone(p).await;
    assert_eq!(at_phone.len(), 1, "sent once");
    assert_eq!(at_phone[0]["body"], body);
    assert_eq!(at_phone[0]["message_id"], id.as_str());

    // A reply lands on the same thread.
    let r = d.reply(p, "Ok, I will call").await;
    assert_eq!(
        (r["direction"].as_str(), r["status"].as_str()),
        (Some("in"), Some("received"))
    );
    let (_, t) = d.thread(&d.ny, p).await;
    let items = t["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["body"], "Ok, I will call", "newest first");
}

#[tokio::test]
async fn bad_sends_are_refused_and_nothing_is_queued() {
    let d = desk().await;
    let p = d.person("(212) 555-0143", "en").await;
    for (body, field) in [
        (json!({"body": "You tested POSITIVE for COVID-19"}), "body"),
        (json!({"template": "no_such_template"}), "template"),
        (json!({"template": "help", "body": "hi"}), "template"),
        (json!({}), "template"),
        (json!({"body": "hi", "channel": "fax"}), "channel"),
        (json!({"body": "hi", "channel": "email"}), "channel"),
        (json!({"body": "hi", "priority": "asap"}), "priority"),
    ] {
        let (st, v) = d.send(&d.ny, p, body.clone()).await;
        assert_eq!(st, 422, "{body}: {v}");
        assert_eq!(v["error"]["field"], field, "{body}: {v}");
    }
    // The lint names the word it found, never the rest of the text.
    let (_, v) = d
        .send(&d.ny, p, json!({"body": "Rosa, you tested positive"}))
        .await;
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("positive") && !msg.contains("Rosa"), "{msg}");
    let (_, t) = d.thread(&d.ny, p).await;
    assert_eq!(t["items"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn callers_without_the_person_are_refused() {
    let d = desk().await;
    let p = d.person("(212) 555-0144", "en").await;
    let (_, analyst) = d.h.user("ny-analyst", Role::Analyst, "ny").await;
    for token in [&d.nj, &d.tracer, &analyst] {
        let (st, _) = d.send(token, p, json!({"template": "case_outreach"})).await;
        assert_eq!(st, 403);
        let (st, _) = d.thread(token, p).await;
        assert_eq!(st, 403);
        for m in [Method::GET, Method::POST] {
            let (st, _) = d
                .call(
                    token,
                    m,
                    &format!("/api/v1/sandbox/persons/{p}/phone"),
                    Some(json!({"body": "x"})),
                )
                .await;
            assert_eq!(st, 403);
        }
    }
    let (st, _) = d.thread(&d.ny, Uuid::now_v7()).await;
    assert_eq!(st, 403, "an unknown person is refused like a forbidden one");
    let (_, t) = d.thread(&d.ny, p).await;
    assert_eq!(t["items"].as_array().unwrap().len(), 0, "nothing was sent");
}

#[tokio::test]
async fn stop_opts_out_until_start() {
    let d = desk().await;
    let p = d.person("(212) 555-0145", "en").await;
    // "yes" from a number that never opted out is an answer, not a keyword.
    d.reply(p, "YES").await;
    let r = d.reply(p, " stop ").await;
    assert_eq!(r["body"], " stop ");
    // The confirmation goes out even to the opted-out number.
    let mut confirmed = false;
    for _ in 0..100 {
        if d.phone(p)
            .await
            .iter()
            .any(|m| m["body"].as_str().unwrap().contains("no more messages"))
        {
            confirmed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(confirmed, "the STOP confirmation arrived");
    let (st, v) = d.send(&d.ny, p, json!({"template": "case_outreach"})).await;
    assert_eq!(st, 409, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("opted out")
    );
    let (_, t) = d.thread(&d.ny, p).await;
    assert!(
        t["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["status"] == "refused"),
        "the refusal is on the thread: {t}"
    );
    d.reply(p, "START").await;
    let (st, v) = d.send(&d.ny, p, json!({"template": "case_outreach"})).await;
    assert_eq!(st, 201, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    d.until_status(p, &id, "delivered").await;
}

#[tokio::test]
async fn the_tracer_who_holds_the_task_may_message_the_person() {
    let d = desk().await;
    let (tracer_id, tracer) = d.h.user("ny-holder", Role::Tracer, "ny").await;
    let (person, case) = d.case(("Amal", "Haddad"), "(212) 555-0151", "en").await;
    let (st, _) = d
        .send(&tracer, person, json!({"template": "case_outreach"}))
        .await;
    assert_eq!(st, 403, "not yet theirs");
    let task = d.h.cw.cases().tasks_for_case(case).await.unwrap()[0].id;
    d.h.cw
        .cases()
        .assign_task(task, Some(tracer_id))
        .await
        .unwrap();
    let (st, m) = d
        .send(
            &tracer,
            person,
            json!({"template": "case_outreach", "task_id": task}),
        )
        .await;
    assert_eq!(st, 201, "{m}");
    assert_eq!(m["task_id"], task.to_string());
    let (st, t) = d.thread(&tracer, person).await;
    assert_eq!(st, 200);
    assert_eq!(t["items"].as_array().unwrap().len(), 1);
    // The text is an attempt on the task once it has left, and the reply
    // to it another; a tracer may not record a message outcome by hand.
    d.until_status(person, m["id"].as_str().unwrap(), "delivered")
        .await;
    d.reply(person, "I will call you back").await;
    let attempts = format!("/api/v1/tasks/{task}/attempts");
    let (st, a) = d.call(&tracer, Method::GET, &attempts, None).await;
    assert_eq!(st, 200, "{a}");
    let items = a["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{a}");
    assert_eq!(items[0]["outcome"], "message_delivered");
    assert_eq!(items[0]["channel"], "sms");
    assert_eq!(items[0]["message_id"], m["id"]);
    assert_eq!(items[1]["outcome"], "replied");
    assert!(
        items
            .iter()
            .all(|i| i.get("note").is_none_or(Value::is_null))
    );
    let (st, e) = d
        .call(
            &tracer,
            Method::POST,
            &attempts,
            Some(json!({"channel": "sms", "outcome": "message_delivered"})),
        )
        .await;
    assert_eq!(st, 422, "{e}");
    assert_eq!(e["error"]["field"], "outcome");
    // Another tracer does not hold the task: refused.
    let (_, other) = d.h.user("ny-other", Role::Tracer, "ny").await;
    let (st, _) = d.call(&other, Method::GET, &attempts, None).await;
    assert_eq!(st, 403);
}

/// A text from a number no record holds is kept for triage: listed for a
/// supervisor over the root jurisdiction, refused to everyone narrower;
/// a text from a known person's number is not on the list.
#[tokio::test]
async fn texts_from_unknown_numbers_are_listed_for_the_root_only() {
    let d = desk().await;
    let (_, root) = d.h.user("root-sup", Role::Supervisor, "root").await;
    let known = d.person("(212) 555-0148", "en").await;
    let texts = d.h.cw.messages();
    for (from, sid) in [("+12125550199", "SMunknown1"), ("+12125550148", "SMknown1")] {
        texts
            .receive_text(&tracedesk_casework::messaging::InboundText {
                from: from.into(),
                to: "+12125550100".into(),
                body: format!("who is this? ({sid})"),
                provider_sid: sid.into(),
            })
            .await
            .unwrap();
    }
    let (st, v) = d
        .call(&root, Method::GET, "/api/v1/messages/unmatched", None)
        .await;
    assert_eq!(st, 200, "{v}");
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{v}");
    assert_eq!(items[0]["body"], "who is this? (SMunknown1)");
    assert_eq!(items[0]["direction"], "in");
    let (_, thread) = d.thread(&d.ny, known).await;
    assert!(
        thread["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["body"] == "who is this? (SMknown1)"),
        "{thread}"
    );
    let (_, analyst) = d.h.user("ny-analyst", Role::Analyst, "ny").await;
    for token in [&d.ny, &d.nj, &d.tracer, &analyst] {
        let (st, _) = d
            .call(token, Method::GET, "/api/v1/messages/unmatched", None)
            .await;
        assert_eq!(st, 403);
    }
}

/// Triage: a supervisor over the root attaches a text from an unknown
/// number to the person it is from; the text joins their thread in their
/// jurisdiction, a call-back task is made there, and the number's next
/// text finds the person. Nobody narrower may attach, nor attach twice.
#[tokio::test]
async fn an_unknown_numbers_text_is_attached_to_its_person() {
    let d = desk().await;
    let (_, root) = d.h.user("root-sup", Role::Supervisor, "root").await;
    let person = d.person("(212) 555-0147", "en").await;
    let texts = d.h.cw.messages();
    let first = texts
        .receive_text(&tracedesk_casework::messaging::InboundText {
            from: "+12125550177".into(),
            to: "+12125550100".into(),
            body: "this is Rosa, my other phone".into(),
            provider_sid: "SMtriage1".into(),
        })
        .await
        .unwrap();
    // A stand-in holds the number in the root, with a triage task.
    let stand_in = first.person_id.unwrap();
    assert_ne!(stand_in, person);
    let id = first.message_id.unwrap();
    let row = d.h.store.get_message(id).await.unwrap().unwrap();
    let triage =
        d.h.store
            .get_task(row.task_id.unwrap())
            .await
            .unwrap()
            .unwrap();
    assert_eq!(
        (triage.kind.as_str(), triage.status.as_str()),
        ("triage", "pending")
    );
    assert_eq!(
        (triage.jurisdiction.as_str(), triage.person_id),
        ("root", stand_in)
    );
    let attach = format!("/api/v1/messages/{id}/attach");
    let body = json!({ "person_id": person });
    // A jurisdiction's supervisor, a tracer and an analyst are refused.
    let (_, analyst) = d.h.user("ny-analyst", Role::Analyst, "ny").await;
    for token in [&d.ny, &d.nj, &d.tracer, &analyst] {
        let (st, _) = d
            .call(token, Method::POST, &attach, Some(body.clone()))
            .await;
        assert_eq!(st, 403);
    }
    let (st, bad) = d
        .call(
            &root,
            Method::POST,
            &attach,
            Some(json!({"person": person})),
        )
        .await;
    assert_eq!(st, 422, "{bad}");
    let (st, out) = d
        .call(&root, Method::POST, &attach, Some(body.clone()))
        .await;
    assert_eq!(st, 200, "{out}");
    assert_eq!(out["message"]["body"], "this is Rosa, my other phone");
    let task: Uuid = out["task_id"].as_str().unwrap().parse().unwrap();
    let t = d.h.cw.cases().task_row(task).await.unwrap().unwrap();
    assert_eq!(t.kind, "callback_request");
    assert_eq!(t.jurisdiction, "ny");
    assert_eq!(t.person_id, person);
    // The triage task is withdrawn and the stand-in forgets the number.
    let triage = d.h.store.get_task(triage.id).await.unwrap().unwrap();
    assert_eq!(triage.status, "canceled");
    let gone = d.h.store.get_person(stand_in).await.unwrap().unwrap();
    assert!(gone.phone.is_none() && gone.purged_at.is_some());
    // Taken: a second attach is refused like any non-triage message.
    let (st, _) = d.call(&root, Method::POST, &attach, Some(body)).await;
    assert_eq!(st, 403);
    // On the person's thread for New York, off the triage list.
    let (_, thread) = d.thread(&d.ny, person).await;
    assert!(
        thread["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == id.to_string()),
        "{thread}"
    );
    let (_, list) = d
        .call(&root, Method::GET, "/api/v1/messages/unmatched", None)
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "{list}");
    // The number's next text finds the person.
    let next = texts
        .receive_text(&tracedesk_casework::messaging::InboundText {
            from: "+12125550177".into(),
            to: "+12125550100".into(),
            body: "are you there?".into(),
            provider_sid: "SMtriage2".into(),
        })
        .await
        .unwrap();
    assert_eq!(next.person_id, Some(person));
}

/// A number no record holds gets one stand-in and one triage task, in the
/// root, however many texts (and repeated deliveries) it sends; a keyword
/// from an unknown number makes none. The task's holder reads the thread
/// and, once entitled to the person it turns out to be, attaches it; a
/// tracer over the root without the task, and a narrower supervisor, are
/// refused.
#[tokio::test]
async fn a_triage_task_is_made_once_per_number_and_its_holder_attaches() {
    let d = desk().await;
    let (_, root) = d.h.user("root-sup", Role::Supervisor, "root").await;
    let (holder_id, holder) = d.h.user("root-tracer", Role::Tracer, "root").await;
    let (_, other) = d.h.user("root-tracer-2", Role::Tracer, "root").await;
    let texts = d.h.cw.messages();
    let text = |from: &str, sid: &str, body: &str| tracedesk_casework::messaging::InboundText {
        from: from.into(),
        to: "+12125550100".into(),
        body: body.into(),
        provider_sid: sid.into(),
    };
    let first = texts
        .receive_text(&text(
            "+12125550181",
            "SMtri1",
            "hi, a tracer told me to text",
        ))
        .await
        .unwrap();
    let again = texts
        .receive_text(&text("+12125550181", "SMtri2", "anyone there?"))
        .await
        .unwrap();
    let repeat = texts
        .receive_text(&text(
            "+12125550181",
            "SMtri1",
            "hi, a tracer told me to text",
        ))
        .await
        .unwrap();
    assert!(!repeat.stored);
    let stop = texts
        .receive_text(&text("+12125550182", "SMtri3", "STOP"))
        .await
        .unwrap();
    assert_eq!(stop.person_id, None, "a keyword needs no one");
    let stand_in = first.person_id.unwrap();
    assert_eq!(again.person_id, Some(stand_in));
    let row =
        d.h.store
            .get_message(first.message_id.unwrap())
            .await
            .unwrap()
            .unwrap();
    let task = row.task_id.unwrap();
    let second =
        d.h.store
            .get_message(again.message_id.unwrap())
            .await
            .unwrap()
            .unwrap();
    assert_eq!(second.task_id, Some(task), "one task for the number");
    // Both texts on the triage list, the STOP too (it is matched to no one).
    let (_, list) = d
        .call(&root, Method::GET, "/api/v1/messages/unmatched", None)
        .await;
    let listed: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["body"].as_str())
        .collect();
    assert_eq!(
        listed,
        ["STOP", "anyone there?", "hi, a tracer told me to text"],
        "{list}"
    );
    // Routed to staff over the root: the supervisor gives it to a tracer.
    let (st, out) = d
        .call(
            &root,
            Method::POST,
            &format!("/api/v1/tasks/{task}/assign"),
            Some(json!({"user_id": holder_id})),
        )
        .await;
    assert_eq!(st, 200, "{out}");
    let (st, thread) = d.thread(&holder, stand_in).await;
    assert_eq!(st, 200, "{thread}");
    assert_eq!(thread["items"].as_array().unwrap().len(), 2, "{thread}");
    let (st, _) = d.thread(&other, stand_in).await;
    assert_ne!(st, 200, "a tracer without the task does not read it");
    // The holder writes back from the thread.
    let (st, sent) = d
        .send(
            &holder,
            stand_in,
            json!({"body": "Thanks for writing. Who is this, please?"}),
        )
        .await;
    assert_eq!(st, 201, "{sent}");
    // It is Rosa, in New York: the holder is not entitled to her yet.
    let (person, case) = d.case(("Rosa", "Lopez"), "(212) 555-0149", "en").await;
    let attach = format!("/api/v1/messages/{}/attach", row.id);
    let body = json!({ "person_id": person });
    for token in [&other, &d.tracer, &d.ny, &d.nj, &holder] {
        let (st, _) = d
            .call(token, Method::POST, &attach, Some(body.clone()))
            .await;
        assert_eq!(st, 403);
    }
    // Holding her interview too, the holder attaches.
    let interview = d.h.store.tasks_for_case(case).await.unwrap()[0].id;
    let (st, out) = d
        .call(
            &root,
            Method::POST,
            &format!("/api/v1/tasks/{interview}/assign"),
            Some(json!({"user_id": holder_id})),
        )
        .await;
    assert_eq!(st, 200, "{out}");
    let (st, out) = d.call(&holder, Method::POST, &attach, Some(body)).await;
    assert_eq!(st, 200, "{out}");
    // Every text from the number, and the reply, is now on her thread.
    let (_, thread) = d.thread(&d.ny, person).await;
    let bodies: Vec<&str> = thread["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["body"].as_str())
        .collect();
    for b in [
        "hi, a tracer told me to text",
        "anyone there?",
        "Thanks for writing. Who is this, please?",
    ] {
        assert!(bodies.contains(&b), "{b}: {thread}");
    }
    let (_, list) = d
        .call(&root, Method::GET, "/api/v1/messages/unmatched", None)
        .await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        1,
        "only the STOP: {list}"
    );
}

/// A triage task finished without anyone found (a wrong number, no
/// answer): when the number writes again, a new triage task is made on the
/// same stand-in, and its later texts follow that one.
#[tokio::test]
async fn a_number_writing_again_after_triage_ended_is_triaged_again() {
    let d = desk().await;
    let texts = d.h.cw.messages();
    let text = |sid: &str, body: &str| tracedesk_casework::messaging::InboundText {
        from: "+12125550183".into(),
        to: "+12125550100".into(),
        body: body.into(),
        provider_sid: sid.into(),
    };
    let first = texts
        .receive_text(&text("SMagain1", "hello?"))
        .await
        .unwrap();
    let stand_in = first.person_id.unwrap();
    let row =
        d.h.store
            .get_message(first.message_id.unwrap())
            .await
            .unwrap()
            .unwrap();
    let ended = row.task_id.unwrap();
    assert_eq!(d.h.store.withdraw_task(ended).await.unwrap(), 1);
    let again = texts
        .receive_text(&text("SMagain2", "hello again"))
        .await
        .unwrap();
    assert_eq!(again.person_id, Some(stand_in), "the same stand-in");
    let row =
        d.h.store
            .get_message(again.message_id.unwrap())
            .await
            .unwrap()
            .unwrap();
    let task = row.task_id.unwrap();
    assert_ne!(task, ended);
    let t = d.h.store.get_task(task).await.unwrap().unwrap();
    assert_eq!(
        (t.kind.as_str(), t.status.as_str(), t.person_id),
        ("triage", "pending", stand_in)
    );
    let third = texts
        .receive_text(&text("SMagain3", "still here"))
        .await
        .unwrap();
    let row =
        d.h.store
            .get_message(third.message_id.unwrap())
            .await
            .unwrap()
            .unwrap();
    assert_eq!(row.task_id, Some(task), "later texts follow the open task");
}
