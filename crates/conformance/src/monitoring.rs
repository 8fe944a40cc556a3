//! Daily monitoring: what every backend must do with check-ins.

use crate::Fixture;
use chrono::{Duration, TimeZone, Utc};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use tracedesk_casework::monitoring::ReplyOutcome;
use tracedesk_casework::{Casework, ContactInput, ContactPatch, LabResultInput};
use tracedesk_store::monitoring::bucket;
use uuid::Uuid;

/// 10:00 in New York on a weekday: inside the morning window.
fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 15, 0, 0).unwrap()
}

/// Contacts moved to monitoring are enrolled once and checked on once a
/// day in their window; a contact with no phone or one that opted out is
/// not texted but their silence counts; two silent check-ins make one
/// non-responder task each; a symptomatic answer moves the record and
/// makes a clinical follow-up and an advice text, in the contact's
/// language; the day after quarantine the record completes (its open tasks
/// withdrawn); line lists keep to their jurisdictions.
pub async fn checkins_are_sent_once_a_day_and_answers_act(f: &Fixture) {
    let offset = Arc::new(AtomicI64::new(0));
    let o = offset.clone();
    let mut settings = tracedesk_casework::Settings::default();
    settings.messaging.checkin_window = "morning".into();
    settings.messaging.time_zone = "America/New_York".into();
    let cw =
        Casework::new(f.store.clone(), f.vault.clone(), settings).with_clock(Arc::new(move || {
            t0() + Duration::days(o.load(Ordering::Relaxed))
        }));
    let out = cw
        .cases()
        .ingest_lab_results(&[LabResultInput {
            first_name: Some("Olga".into()),
            last_name: Some("Petrova".into()),
            dob: Some("1968-07-08".into()),
            specimen_date: Some("2026-11-18".into()),
            result: Some("positive".into()),
            accession: Some("MONITOR-1".into()),
            ..Default::default()
        }])
        .await;
    let case = out[0].case_id.expect("a case");
    let mut contacts = Vec::new();
    for (first, phone) in [
        ("Vera", Some("(212) 555-0181")),
        ("Lev", None),
        ("Ilya", Some("(212) 555-0182")),
    ] {
        let named = cw
            .cases()
            .add_contact(
                case,
                &ContactInput {
                    first_name: Some(first.into()),
                    last_name: Some("Orlova".into()),
                    dob: Some("1991-02-03".into()),
                    phone: phone.map(Into::into),
                    language: Some("ru".into()),
                    exposure_dates: vec!["2026-11-17".into()],
                    ..Default::default()
                },
            )
            .await
            .expect("a contact");
        for status in ["notified", "monitoring"] {
            cw.cases()
                .patch_contact(
                    named.exposure_id,
                    &ContactPatch {
                        status: Some(status.into()),
                        ..Default::default()
                    },
                )
                .await
                .expect("a move");
        }
        contacts.push((named.exposure_id, named.person));
    }
    let [(vera, vera_person), (lev, _), (ilya, _)] = contacts[..] else {
        panic!("three contacts")
    };
    // Ilya texted STOP: no check-in goes to that number.
    cw.messages()
        .receive_text(&tracedesk_casework::messaging::InboundText {
            from: "+12125550182".into(),
            to: "+12125550100".into(),
            body: "STOP".into(),
            provider_sid: "SMmonitor-stop".into(),
        })
        .await
        .expect("a STOP");
    // Enrolled when they entered monitoring: the sweep finds no one more.
    assert_eq!(cw.messages().enroll(None).await.unwrap(), 0);

    let checkins = |person: Uuid| {
        let store = f.store.clone();
        async move {
            store
                .person_messages(person, None, 50)
                .await
                .unwrap()
                .into_iter()
                .filter(|m| m.direction == "out" && m.template.as_deref() == Some("checkin"))
                .count()
        }
    };
    let s = cw
        .messages()
        .schedule_checkins(false, |_| {})
        .await
        .unwrap();
    assert_eq!((s.due, s.checkins, s.unreachable), (3, 1, 2), "{s:?}");
    assert_eq!(checkins(vera_person).await, 1);
    let m = f
        .store
        .person_messages(vera_person, None, 50)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.template.as_deref() == Some("checkin"))
        .expect("a check-in");
    assert_eq!((m.priority, m.jurisdiction.as_deref()), (2, Some("root")));
    let body = f
        .vault
        .open_string(
            &tracedesk_vault::FieldContext::new("messages", "body", m.id),
            &m.body,
        )
        .unwrap();
    assert!(body.contains("ежедневная проверка"), "in Russian: {body}");
    // Again the same day: nothing is due.
    let s = cw
        .messages()
        .schedule_checkins(false, |_| {})
        .await
        .unwrap();
    assert_eq!(s.due, 0, "{s:?}");
    let row = f.store.get_monitoring(vera).await.unwrap().unwrap();
    let tomorrow_8am_ny = Utc.with_ymd_and_hms(2026, 11, 21, 13, 0, 0).unwrap();
    assert_eq!(row.next_due_at, tomorrow_8am_ny);

    // Two more silent days: one non-responder task each, once.
    for _ in 0..3 {
        offset.fetch_add(1, Ordering::Relaxed);
        cw.messages()
            .schedule_checkins(false, |_| {})
            .await
            .unwrap();
    }
    let tasks = f.store.tasks_for_case(case).await.unwrap();
    for e in [vera, lev, ilya] {
        let n = tasks
            .iter()
            .filter(|t| t.exposure_id == Some(e) && t.kind == "non_responder_followup")
            .count();
        assert_eq!(n, 1, "one non-responder task for {e}");
    }
    assert_eq!(checkins(vera_person).await, 4);
    let listed = |b: &'static str, js: Option<Vec<String>>| {
        let store = f.store.clone();
        async move {
            store
                .monitoring_list(b, js.as_deref(), None, 100)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed(bucket::NON_REPORTING, None).await.len(), 3);

    // Vera answers "да" (yes, symptoms): symptomatic, a clinical follow-up,
    // advice in Russian.
    let answered = cw
        .messages()
        .receive_text(&tracedesk_casework::messaging::InboundText {
            from: "+12125550181".into(),
            to: "+12125550100".into(),
            body: "Да!".into(),
            provider_sid: "SMmonitor-yes".into(),
        })
        .await
        .unwrap();
    assert_eq!(answered.checkin, Some(ReplyOutcome::Symptomatic));
    let e = f.store.get_exposure(vera).await.unwrap().unwrap();
    assert_eq!(e.status, "symptomatic");
    let tasks = f.store.tasks_for_case(case).await.unwrap();
    assert!(
        tasks
            .iter()
            .any(|t| t.exposure_id == Some(vera) && t.kind == "symptomatic_followup")
    );
    let advice = f
        .store
        .person_messages(vera_person, None, 1)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(advice.template.as_deref(), Some("checkin_symptomatic"));
    assert_eq!(advice.priority, 0, "urgent");
    assert_eq!(listed(bucket::SYMPTOMATIC, None).await, vec![vera]);
    assert_eq!(
        listed(bucket::SYMPTOMATIC, Some(vec!["root".into()])).await,
        vec![vera]
    );
    assert!(
        listed(bucket::SYMPTOMATIC, Some(vec!["nj".into()]))
            .await
            .is_empty()
    );
    // The same delivery again changes nothing.
    let again = cw
        .messages()
        .receive_text(&tracedesk_casework::messaging::InboundText {
            from: "+12125550181".into(),
            to: "+12125550100".into(),
            body: "Да!".into(),
            provider_sid: "SMmonitor-yes".into(),
        })
        .await
        .unwrap();
    assert_eq!((again.stored, again.checkin), (false, None));

    // Past quarantine (ends 2026-12-01): Lev and Ilya complete; their
    // open tasks are withdrawn; Vera, symptomatic, is not checked on.
    offset.store(12, Ordering::Relaxed);
    let s = cw
        .messages()
        .schedule_checkins(false, |_| {})
        .await
        .unwrap();
    assert_eq!((s.completed, s.checkins), (2, 0), "{s:?}");
    for e in [lev, ilya] {
        assert_eq!(
            f.store.get_exposure(e).await.unwrap().unwrap().status,
            "completed"
        );
        let row = f.store.get_monitoring(e).await.unwrap().unwrap();
        assert_eq!(
            (row.state.as_str(), row.bucket.as_str()),
            ("closed", "closed")
        );
    }
    let open = f
        .store
        .tasks_for_case(case)
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.exposure_id == Some(lev) && t.status != "canceled" && t.status != "completed")
        .count();
    assert_eq!(open, 0, "Lev's open tasks are withdrawn");
    assert_eq!(listed(bucket::CLOSED, None).await.len(), 2);
    assert_eq!(listed(bucket::SYMPTOMATIC, None).await, vec![vera]);
}
