//! The outbox, threads and consent registry: what every backend must do
//! with messages.

use crate::Fixture;
use chrono::{Duration, TimeZone, Utc};
use std::collections::HashSet;
use tracedesk_store::messages::status;
use tracedesk_store::{ConsentRow, MessageRow, SendOutcome};
use uuid::Uuid;

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 15, 0, 0).unwrap()
}

/// An outbound SMS, queued at `t0`, with opaque bytes for what is sealed.
pub fn queued(priority: i32, address: u8) -> MessageRow {
    MessageRow {
        id: Uuid::now_v7(),
        direction: "out".into(),
        channel: "sms".into(),
        status: status::QUEUED.into(),
        priority,
        person_id: None,
        task_id: None,
        jurisdiction: Some("root".into()),
        template: Some("contact_notification".into()),
        sender: Some("+12125550100".into()),
        address_bidx: vec![address; 32],
        key_version: 1,
        address: vec![0xA5; 40],
        body: vec![0x5A; 80],
        segments: 1,
        provider_sid: None,
        error_code: None,
        attempts: 0,
        next_attempt_at: t0(),
        claimed_by: None,
        claim_until: None,
        created_at: t0(),
        updated_at: t0(),
        expires_at: t0() + Duration::hours(10),
    }
}

/// Claims go to one claimer each, most urgent first; outcomes are kept
/// only by the claim's holder; retries wait their time; a claim that
/// outlives its lease comes back marked uncertain; expired messages are
/// never sent; provider statuses only move a message forward; an inbound
/// message is stored once per provider id; consent is kept per address.
pub async fn outbox_claims_once_and_moves_forward(f: &Fixture) {
    let s = &f.store;
    let mut rows: Vec<MessageRow> = (0..40).map(|i| queued(2 - (i % 3), i as u8)).collect();
    let mut stale = queued(0, 99);
    stale.expires_at = t0() - Duration::seconds(1);
    rows.push(stale.clone());
    let ids = s.insert_messages(&rows).await.unwrap();
    assert_eq!(ids.len(), 41);

    // Four claimers at once, eleven each (room for all 41): no message
    // claimed twice.
    let until = t0() + Duration::seconds(30);
    let mut set = tokio::task::JoinSet::new();
    for n in 0..4 {
        let s = s.clone();
        set.spawn(async move {
            s.claim_messages(&format!("node-{n}"), t0(), until, 11)
                .await
        });
    }
    let mut seen = HashSet::new();
    let mut claimed = Vec::new();
    while let Some(r) = set.join_next().await {
        for c in r.unwrap().unwrap() {
            assert!(!c.uncertain);
            assert_eq!(c.message.status, status::SENDING);
            assert_eq!(c.message.attempts, 1);
            assert!(seen.insert(c.message.id), "claimed twice");
            claimed.push(c.message);
        }
    }
    assert_eq!(claimed.len(), 40, "every live message claimed once");
    assert!(
        !seen.contains(&stale.id),
        "an expired message is never claimed"
    );
    let stale_now = s.get_message(stale.id).await.unwrap().unwrap();
    assert_eq!(stale_now.status, status::EXPIRED);
    assert!(
        s.claim_messages("node-9", t0(), until, 10)
            .await
            .unwrap()
            .is_empty(),
        "nothing left to claim"
    );

    // Priority order within one claim.
    let more: Vec<MessageRow> = [2, 0, 1].map(|p| queued(p, 50 + p as u8)).to_vec();
    s.insert_messages(&more).await.unwrap();
    let c = s.claim_messages("node-0", t0(), until, 10).await.unwrap();
    assert_eq!(
        c.iter().map(|c| c.message.priority).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );

    // Only the holder of a claim records its outcome.
    let m = &claimed[0];
    let sent = SendOutcome::Sent {
        provider_sid: "SM0001".into(),
    };
    let holder = m.claimed_by.clone().unwrap();
    assert!(
        !s.finish_message(m.id, "someone-else", &sent, t0())
            .await
            .unwrap()
    );
    assert!(s.finish_message(m.id, &holder, &sent, t0()).await.unwrap());
    let got = s.get_message(m.id).await.unwrap().unwrap();
    assert_eq!(
        (got.status.as_str(), got.provider_sid.as_deref()),
        (status::SENT, Some("SM0001"))
    );
    assert_eq!(got.claimed_by, None);

    // Statuses move forward only; a late `sent` changes nothing.
    assert!(
        s.message_status("SM0001", status::DELIVERED, None, t0())
            .await
            .unwrap()
    );
    assert!(
        !s.message_status("SM0001", status::SENT, None, t0())
            .await
            .unwrap()
    );
    assert!(
        !s.message_status("SM0001", status::DELIVERED, None, t0())
            .await
            .unwrap()
    );
    assert_eq!(
        s.get_message(m.id).await.unwrap().unwrap().status,
        status::DELIVERED
    );
    assert!(matches!(
        s.message_status("SM-unknown", status::DELIVERED, None, t0())
            .await,
        Err(tracedesk_store::StoreError::NotFound)
    ));
    // A callback that beats the dispatcher's own record: the message is
    // delivered, and the late `Sent` keeps that while recording the id.
    let m2 = &claimed[1];
    let h2 = m2.claimed_by.clone().unwrap();
    let sent2 = SendOutcome::Sent {
        provider_sid: "SM0002".into(),
    };
    assert!(s.finish_message(m2.id, &h2, &sent2, t0()).await.unwrap());
    assert!(
        s.message_status("SM0002", status::UNDELIVERED, Some("30003"), t0())
            .await
            .unwrap()
    );
    let got = s.get_message(m2.id).await.unwrap().unwrap();
    assert_eq!(
        (got.status.as_str(), got.error_code.as_deref()),
        (status::UNDELIVERED, Some("30003"))
    );

    // A retry waits its time, then is claimed again (attempt two).
    let m3 = &claimed[2];
    let h3 = m3.claimed_by.clone().unwrap();
    let retry = SendOutcome::Retry {
        at: t0() + Duration::seconds(20),
        error: "429".into(),
    };
    assert!(s.finish_message(m3.id, &h3, &retry, t0()).await.unwrap());
    assert!(
        s.claim_messages("node-0", t0() + Duration::seconds(10), until, 50)
            .await
            .unwrap()
            .is_empty()
    );
    let again = s
        .claim_messages("node-0", t0() + Duration::seconds(20), until, 50)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].message.id, again[0].message.attempts), (m3.id, 2));
    assert_eq!(again[0].message.error_code.as_deref(), Some("429"));

    // A claim past its lease (its dispatcher died): claimed again, uncertain;
    // the dead dispatcher's late outcome is not recorded.
    let m4 = &claimed[3];
    let h4 = m4.claimed_by.clone().unwrap();
    let later = until + Duration::seconds(1);
    let back = s
        .claim_messages("node-7", later, later + Duration::seconds(30), 100)
        .await
        .unwrap();
    let mine: Vec<_> = back.iter().filter(|c| c.message.id == m4.id).collect();
    assert_eq!(mine.len(), 1);
    assert!(mine[0].uncertain);
    assert_eq!(mine[0].message.claimed_by.as_deref(), Some("node-7"));
    let fail = SendOutcome::Failed {
        error: "21211".into(),
    };
    assert!(!s.finish_message(m4.id, &h4, &fail, later).await.unwrap());
    assert!(
        s.finish_message(m4.id, "node-7", &SendOutcome::Refused, later)
            .await
            .unwrap()
    );
    let got = s.get_message(m4.id).await.unwrap().unwrap();
    assert_eq!(
        (got.status.as_str(), got.error_code.as_deref()),
        (status::REFUSED, Some("21610"))
    );

    // Inbound: stored once per provider id, however often delivered.
    let mut inbound = queued(1, 7);
    inbound.direction = "in".into();
    inbound.status = status::RECEIVED.into();
    inbound.provider_sid = Some("SMin1".into());
    let mut dup = inbound.clone();
    dup.id = Uuid::now_v7();
    assert_eq!(
        s.insert_messages(&[inbound.clone()]).await.unwrap(),
        vec![inbound.id]
    );
    assert!(s.insert_messages(&[dup]).await.unwrap().is_empty());
    let thread = s.address_messages(&[7; 32], 10).await.unwrap();
    assert_eq!(thread.len(), 2, "the message to this address and its reply");
    assert_eq!(thread[0].id, inbound.id, "newest first");
    let counts = s.message_counts().await.unwrap();
    assert!(
        counts.contains(&(status::DELIVERED.to_string(), 1)),
        "{counts:?}"
    );
    assert!(
        counts.contains(&(status::RECEIVED.to_string(), 1)),
        "inbound counted once: {counts:?}"
    );

    // Consent, per address, last word wins.
    assert_eq!(s.consent(&[7; 32]).await.unwrap(), None);
    for (opted_out, keyword) in [(true, "stop"), (false, "start"), (true, "stop")] {
        let row = ConsentRow {
            address_bidx: vec![7; 32],
            opted_out,
            keyword: keyword.into(),
            updated_at: t0(),
        };
        s.set_consent(&row).await.unwrap();
        assert_eq!(s.consent(&[7; 32]).await.unwrap(), Some(row));
    }
}

/// With `notify_contacts` on, naming a contact with a phone queues their
/// first notification in the naming's transaction (in their language, for
/// their notification task, in the case's jurisdiction); a contact with no
/// phone, and a repeat naming merged into the open record, queue nothing.
pub async fn naming_a_contact_queues_the_first_notification(f: &Fixture) {
    let mut settings = tracedesk_casework::Settings::default();
    settings.messaging.notify_contacts = true;
    let cw = tracedesk_casework::Casework::new(f.store.clone(), f.vault.clone(), settings)
        .with_clock(std::sync::Arc::new(t0));
    let lab = tracedesk_casework::LabResultInput {
        first_name: Some("Ines".into()),
        last_name: Some("Duarte".into()),
        dob: Some("1970-02-03".into()),
        specimen_date: Some("2026-11-18".into()),
        result: Some("positive".into()),
        accession: Some("NOTIFY-1".into()),
        ..Default::default()
    };
    let out = cw.cases().ingest_lab_results(&[lab]).await;
    let case = out[0].case_id.expect("a case");
    let contact = |first: &str, phone: Option<&str>| tracedesk_casework::ContactInput {
        first_name: Some(first.into()),
        last_name: Some("Reyes".into()),
        phone: phone.map(Into::into),
        dob: Some("1990-04-05".into()),
        language: Some("es".into()),
        exposure_dates: vec!["2026-11-17".into()],
        ..Default::default()
    };
    let named = cw
        .cases()
        .add_contact(case, &contact("Pilar", Some("(212) 555-0177")))
        .await
        .unwrap();
    let queued = f
        .store
        .person_messages(named.person, None, 10)
        .await
        .unwrap();
    assert_eq!(queued.len(), 1, "one notification queued");
    let m = &queued[0];
    assert_eq!(m.status, status::QUEUED);
    assert_eq!(m.task_id, named.task_id, "for the notification task");
    assert_eq!(m.template.as_deref(), Some("contact_notification"));
    assert_eq!(m.jurisdiction.as_deref(), Some("root"));
    assert_eq!(m.priority, 0, "urgent");
    let body = f
        .vault
        .open_string(
            &tracedesk_vault::FieldContext::new("messages", "body", m.id),
            &m.body,
        )
        .unwrap();
    assert!(body.contains("Llámenos"), "in Spanish: {body}");

    // Named again by the same case: merged, nothing more queued.
    let again = cw
        .cases()
        .add_contact(case, &contact("Pilar", Some("(212) 555-0177")))
        .await
        .unwrap();
    assert_eq!(again.resolution, "merged");
    assert_eq!(
        f.store
            .person_messages(named.person, None, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    // No phone, no text.
    let silent = cw
        .cases()
        .add_contact(case, &contact("Rocio", None))
        .await
        .unwrap();
    assert!(
        f.store
            .person_messages(silent.person, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Inbound texts arriving at once are written together (group commit), and
/// a delivery repeated within one group is still stored once: of thirty
/// concurrent deliveries of ten texts, ten are stored and twenty answered
/// as repeats.
pub async fn concurrent_deliveries_are_stored_once(f: &Fixture) {
    let mut set = tokio::task::JoinSet::new();
    for _copy in 0..3 {
        for i in 0..10 {
            let cw = f.cw.clone();
            set.spawn(async move {
                cw.messages()
                    .receive_text(&tracedesk_casework::messaging::InboundText {
                        from: format!("+1917555{:04}", 100 + i),
                        to: "+12125550100".into(),
                        body: format!("hello {i}"),
                        provider_sid: format!("SMgroup{i:030}"),
                    })
                    .await
                    .expect("an inbound text")
            });
        }
    }
    let mut stored = 0;
    let mut repeats = 0;
    while let Some(r) = set.join_next().await {
        if r.expect("a delivery").stored {
            stored += 1;
        } else {
            repeats += 1;
        }
    }
    assert_eq!((stored, repeats), (10, 20));
    let counts = f.store.message_counts().await.unwrap();
    assert!(
        counts.contains(&(status::RECEIVED.to_string(), 10)),
        "{counts:?}"
    );
}

/// Operators' template edits are saved, replaced, listed and deleted; a
/// text from an unknown number is attached once, with its task written in
/// the same transaction — a second attach writes neither.
pub async fn templates_and_triage_are_kept(f: &Fixture) {
    use tracedesk_store::TemplateRow;
    let edit = |body: &str| TemplateRow {
        name: "checkin".into(),
        channel: "sms".into(),
        language: "ht".into(),
        body: body.into(),
        updated_by: Some(Uuid::now_v7()),
        updated_at: t0(),
    };
    f.store.put_template(&edit("first")).await.unwrap();
    f.store.put_template(&edit("second")).await.unwrap();
    let all = f.store.list_templates().await.unwrap();
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].body, "second");
    assert_eq!(all[0].updated_at, t0());
    assert!(
        f.store
            .delete_template("checkin", "sms", "ht")
            .await
            .unwrap()
    );
    assert!(
        !f.store
            .delete_template("checkin", "sms", "ht")
            .await
            .unwrap()
    );
    assert!(f.store.list_templates().await.unwrap().is_empty());

    // A person to attach to: from a lab result.
    let out =
        f.cw.cases()
            .ingest_lab_results(&[tracedesk_casework::LabResultInput {
                first_name: Some("Jean".into()),
                last_name: Some("Pierre".into()),
                dob: Some("1975-05-06".into()),
                specimen_date: Some("2026-11-18".into()),
                result: Some("positive".into()),
                accession: Some("TRIAGE-1".into()),
                ..Default::default()
            }])
            .await;
    let person = out[0].person_id.expect("a person");
    let mut inbound = queued(1, 9);
    inbound.direction = "in".into();
    inbound.status = status::RECEIVED.into();
    inbound.jurisdiction = None;
    inbound.provider_sid = Some("SMtriagestore".into());
    f.store
        .insert_messages(std::slice::from_ref(&inbound))
        .await
        .unwrap();
    let task = |id| tracedesk_store::TaskRow {
        id,
        kind: "callback_request".into(),
        status: "pending".into(),
        priority: 5,
        person_id: person,
        case_id: None,
        exposure_id: None,
        created_at: t0(),
        due_at: t0() + Duration::hours(8),
        jurisdiction: "root".into(),
        assignee_id: None,
        shown_person_id: None,
    };
    let (first, second) = (Uuid::now_v7(), Uuid::now_v7());
    assert!(
        f.store
            .attach_inbound(inbound.id, &task(first), t0())
            .await
            .unwrap()
    );
    assert!(
        !f.store
            .attach_inbound(inbound.id, &task(second), t0())
            .await
            .unwrap()
    );
    assert!(f.store.get_task(first).await.unwrap().is_some());
    assert!(
        f.store.get_task(second).await.unwrap().is_none(),
        "no task for a text taken"
    );
    let m = f.store.get_message(inbound.id).await.unwrap().unwrap();
    assert_eq!((m.person_id, m.task_id), (Some(person), Some(first)));
    assert_eq!(m.jurisdiction.as_deref(), Some("root"));
    assert!(
        f.store
            .unmatched_inbound(None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let served = f.store.task_messages(first, 10).await.unwrap();
    assert_eq!(served.len(), 1);

    // A number no record holds: its stand-in and triage task are written
    // with its first text, and not with a repeated delivery of it.
    let unknown = |sid: &str| {
        let (pid, tid) = (Uuid::now_v7(), Uuid::now_v7());
        let mut row = queued(1, 10);
        row.direction = "in".into();
        row.status = status::RECEIVED.into();
        row.provider_sid = Some(sid.into());
        row.person_id = Some(pid);
        row.task_id = Some(tid);
        let person = tracedesk_store::PersonRow {
            id: pid,
            created_at: t0(),
            updated_at: t0(),
            key_version: 1,
            first_name: None,
            last_name: None,
            dob: None,
            phone: Some(vec![7; 40]),
            email: None,
            address: None,
            language: None,
            phone_bidx: None,
            email_bidx: None,
            name_dob_bidx: None,
            phone_name_bidx: None,
            jurisdiction: "root".into(),
            purged_at: None,
            age_band: None,
            merged_into: None,
        };
        let mut triage = task(tid);
        triage.kind = "triage".into();
        triage.person_id = pid;
        let sender = tracedesk_store::UnknownSender {
            person,
            task: triage,
        };
        (row, sender)
    };
    let (row, sender) = unknown("SMstandin");
    let written = f
        .store
        .insert_inbound(std::slice::from_ref(&row), std::slice::from_ref(&sender))
        .await
        .unwrap();
    assert_eq!(written, vec![row.id]);
    let stand_in = sender.person.id;
    assert!(f.store.get_person(stand_in).await.unwrap().is_some());
    let triage = f.store.get_task(sender.task.id).await.unwrap().unwrap();
    assert_eq!(
        (triage.kind.as_str(), triage.status.as_str()),
        ("triage", "pending")
    );
    let (again, twice) = unknown("SMstandin");
    let written = f
        .store
        .insert_inbound(std::slice::from_ref(&again), std::slice::from_ref(&twice))
        .await
        .unwrap();
    assert!(written.is_empty());
    assert!(f.store.get_person(twice.person.id).await.unwrap().is_none());
    assert!(f.store.get_task(twice.task.id).await.unwrap().is_none());
    let awaiting = f.store.unmatched_inbound(None, 10).await.unwrap();
    assert_eq!(
        awaiting.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![row.id]
    );
    // Identified once: the text moves to the person with the call-back
    // task, the triage task is withdrawn, the stand-in forgets the number.
    let (third, fourth) = (Uuid::now_v7(), Uuid::now_v7());
    assert!(
        f.store
            .identify_sender(stand_in, &task(third), t0())
            .await
            .unwrap()
    );
    assert!(
        !f.store
            .identify_sender(stand_in, &task(fourth), t0())
            .await
            .unwrap()
    );
    assert!(f.store.get_task(fourth).await.unwrap().is_none());
    let m = f.store.get_message(row.id).await.unwrap().unwrap();
    assert_eq!((m.person_id, m.task_id), (Some(person), Some(third)));
    let triage = f.store.get_task(sender.task.id).await.unwrap().unwrap();
    assert_eq!(triage.status, "canceled");
    let gone = f.store.get_person(stand_in).await.unwrap().unwrap();
    assert!(gone.phone.is_none() && gone.purged_at.is_some());
    assert!(
        f.store
            .unmatched_inbound(None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}
