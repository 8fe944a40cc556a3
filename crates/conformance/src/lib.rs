//! The behaviour every store backend must show, run unchanged against each.
//!
//! Backends expand [`conformance_tests!`] in their own integration test:
//! one test per scenario, each on a fresh, empty database of its own.
//! Scenarios go through `Casework`, so they test the store the way the
//! product uses it: sealed rows in, the same answers out.

use chrono::{NaiveDate, TimeZone, Utc};
use std::sync::Arc;
use tracedesk_casework::synthetic::Synthetic;
use tracedesk_casework::{
    CasePatch, Casework, CaseworkError, ContactInput, LabResultInput, NewUser, PersonSearch,
    Settings,
};
use tracedesk_identity::Role;
use tracedesk_store::{Store, TaskRow, TokenRow, schema};
use tracedesk_vault::{FieldContext, Vault};
use uuid::Uuid;

mod messages;
pub use messages::*;
mod monitoring;
pub use monitoring::*;

/// The fixed "today" of every scenario.
pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
}

/// A case-work service over `store` with a file-backed keyring in `dir`.
pub fn casework(store: Arc<dyn Store>, dir: &std::path::Path) -> Casework {
    let (vault, _) = Vault::open_or_create(&dir.join("master.key")).unwrap();
    Casework::new(store, Arc::new(vault), Settings::default()).with_clock(Arc::new(|| {
        Utc.with_ymd_and_hms(2026, 11, 20, 15, 0, 0).unwrap()
    }))
}

fn lab(
    first: &str,
    last: &str,
    dob: Option<&str>,
    phone: Option<&str>,
    acc: &str,
    result: &str,
) -> LabResultInput {
    LabResultInput {
        first_name: Some(first.into()),
        last_name: Some(last.into()),
        dob: dob.map(Into::into),
        phone: phone.map(Into::into),
        specimen_date: Some("2026-11-18".into()),
        result: Some(result.into()),
        accession: Some(acc.into()),
        ..Default::default()
    }
}

/// What a scenario works with: case work over a fresh, migrated store, and
/// the store and vault beneath it (which only tests may touch directly).
pub struct Fixture {
    pub cw: Casework,
    pub store: Arc<dyn Store>,
    pub vault: Arc<Vault>,
    /// The keyring's directory, and whatever else must live as long as the
    /// store (a SQLite file's directory).
    _keep: (tempfile::TempDir, Box<dyn std::any::Any + Send + Sync>),
}

/// Migrates `store` (twice: migrations are idempotent) and builds case work
/// over it; `keep` lives as long as the fixture.
pub async fn fixture(store: Arc<dyn Store>, keep: Box<dyn std::any::Any + Send + Sync>) -> Fixture {
    store.migrate().await.expect("migrations apply");
    store.migrate().await.expect("migrations are idempotent");
    store.ping().await.expect("ping");
    let dir = tempfile::tempdir().unwrap();
    let (vault, _) = Vault::open_or_create(&dir.path().join("master.key")).unwrap();
    let vault = Arc::new(vault);
    let cw = Casework::new(store.clone(), vault.clone(), Settings::default()).with_clock(Arc::new(
        || Utc.with_ymd_and_hms(2026, 11, 20, 15, 0, 0).unwrap(),
    ));
    Fixture {
        cw,
        store,
        vault,
        _keep: (dir, keep),
    }
}

/// One test per scenario, each on its own fresh database, so one failure
/// hides none of the others. `$open` is an async function taking the
/// scenario's name and giving `Option<(Arc<dyn Store>, Box<dyn Any + Send +
/// Sync>)>` — `None` when the backend is not available (and the test says
/// why), the box holding whatever must outlive the store.
#[macro_export]
macro_rules! conformance_tests {
    ($open:ident) => {
        $crate::conformance_tests!(@each $open;
            intake_matches_people_and_cases,
            intake_isolates_bad_items,
            case_pages_and_patches,
            contacts_and_warnings,
            lookups_find_people,
            tokens,
            identity_and_access,
            matches_across_jurisdictions_keep_each_ones_view,
            rotation_resumes_and_reseals,
            audit_log_chains_and_verifies,
            locked_audit_appends_are_never_overtaken,
            audit_journal_recovers_and_fails_closed,
            routing_log_rebuilds_the_engine,
            case_work_tasks_are_routed_once,
            finished_tasks_never_reopen,
            quarantine_follows_the_configured_option,
            list_reads_read_pages_not_tables,
            csv_import_accounts_for_every_line,
            closed_contact_records_are_purged,
            naming_merges_refuses_and_links,
            intake_converts_and_keeps_facts,
            investigators_hold_cases_and_monitoring_ends,
            contacts_of_contacts_and_households,
            transferred_cases_move_whole,
            clusters_hold_members_once,
            outbox_claims_once_and_moves_forward,
            naming_a_contact_queues_the_first_notification,
            checkins_are_sent_once_a_day_and_answers_act,
            concurrent_deliveries_are_stored_once,
            templates_and_triage_are_kept,
            the_case_curve_counts_by_day_within_scope,
            milestones_count_once_toward_the_indicators,
            dead_letters_are_kept_replayed_and_purged,
            linkage_finds_the_same_person_written_another_way,
            merges_move_a_persons_records_and_unmerges_move_them_back,
            racing_merges_of_one_record_leave_it_whole,
        );
    };
    (@each $open:ident; $($name:ident),* $(,)?) => {
        mod scenarios {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some((store, keep)) = super::$open(stringify!($name)).await else {
                        return;
                    };
                    let f = $crate::fixture(store, keep).await;
                    $crate::$name(&f).await;
                }
            )*
        }
    };
}

/// A dispatcher over `cw`'s store with the public-health workspace and a
/// clock stopped at `ms`: a fresh start (or restart) of routing.
async fn dispatch_at(
    f: &Fixture,
    ms: i64,
) -> Result<Arc<tracedesk_casework::dispatch::Dispatch>, CaseworkError> {
    tracedesk_casework::dispatch::Dispatch::open(
        f.store.clone(),
        f.vault.clone(),
        tracedesk_routing::Workspace::public_health(),
        Arc::new(move || ms),
    )
    .await
}

/// The routing log: events go in order, a taken place is refused, and a
/// second dispatcher over the same store rebuilds the same engine.
pub async fn routing_log_rebuilds_the_engine(f: &Fixture) {
    use tracedesk_routing::Event;
    let open = || dispatch_at(f, 1_800_000_000_000);
    let d = open().await.unwrap();
    let worker = Uuid::now_v7();
    d.apply(Event::AddWorker {
        id: worker,
        attributes: serde_json::json!({"skills": ["contact_notification"], "languages": ["es"]}),
        capacity: vec![],
    })
    .await
    .unwrap();
    available(&d, worker).await;
    let out = d
        .apply(Event::CreateTask {
            id: Uuid::now_v7(),
            attributes: serde_json::json!({"type": "contact_notification", "language": "es"}),
            channel: "voice".into(),
            priority: None,
            due: None,
            ttl: None,
            worker: None,
        })
        .await
        .unwrap();
    assert!(
        out.iter()
            .any(|x| matches!(x, tracedesk_routing::Decision::Offered { .. }))
    );
    // A refused event is not logged.
    assert!(
        d.apply(Event::Complete {
            task: Uuid::now_v7()
        })
        .await
        .is_err()
    );
    let logged = f.store.routing_events(0, 100).await.unwrap();
    assert_eq!(
        logged.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert!(
        logged
            .iter()
            .all(|r| !r.event.windows(5).any(|w| w == b"voice")),
        "sealed"
    );
    let mut taken = logged[0].clone();
    taken.id = Uuid::now_v7();
    assert!(matches!(
        f.store.append_routing_events(&[taken], &[]).await,
        Err(tracedesk_store::StoreError::Conflict(_))
    ));
    let again = open().await.unwrap();
    assert_eq!(
        again.read(|e| e.snapshot()).await,
        d.read(|e| e.snapshot()).await,
        "replay rebuilds the same engine"
    );

    // Another node appends behind this one's back: this one's next event is
    // refused by the log, fails, and it rebuilds from the log — which now
    // holds the other node's event.
    let foreign = Uuid::now_v7();
    let event = Event::AddWorker {
        id: foreign,
        attributes: serde_json::json!({}),
        capacity: vec![],
    };
    let id = Uuid::now_v7();
    let sealed = f.vault.seal(
        &FieldContext::new("routing_events", "event", id),
        &serde_json::to_vec(&event).unwrap(),
    );
    f.store
        .append_routing_events(
            &[tracedesk_store::RoutingEventRow {
                id,
                seq: 4,
                at: 1_800_000_000_000,
                key_version: Vault::version_of(&sealed).unwrap() as i32,
                event: sealed,
            }],
            &[],
        )
        .await
        .unwrap();
    let e = d
        .apply(Event::UpdateWorker {
            id: worker,
            attributes: serde_json::json!({"skills": []}),
        })
        .await
        .unwrap_err();
    assert!(e.to_string().contains("only one may route"), "{e}");
    assert!(
        d.read(|e| e.worker_room(foreign).is_some()).await,
        "rebuilt from the log"
    );
    assert_eq!(
        d.read(|e| e.snapshot()).await,
        open().await.unwrap().read(|e| e.snapshot()).await
    );
}

/// A worker comes to work; what routing decided (offers) is returned.
async fn available(
    d: &tracedesk_casework::dispatch::Dispatch,
    worker: Uuid,
) -> Vec<tracedesk_routing::Decision> {
    d.apply(tracedesk_routing::Event::SetActivity {
        worker,
        activity: "Available".into(),
        reject_pending: false,
    })
    .await
    .unwrap()
}

/// The first task case work made for a case (its interview).
async fn first_task(cw: &Casework, case_id: Uuid) -> TaskRow {
    cw.cases().tasks_for_case(case_id).await.unwrap().remove(0)
}

/// A tracer without a password (routing tests need only the account).
async fn add_tracer(cw: &Casework, name: &str, jurisdiction: &str) -> Uuid {
    let (u, _) = cw
        .staff()
        .add_user(NewUser::new(name, "Conformance Person", Role::Tracer, jurisdiction).mfa(false))
        .await
        .unwrap();
    u.id
}

/// One person across jurisdictions: a jurisdiction that matches a person
/// first recorded elsewhere keeps what it submitted as a facet (one per
/// jurisdiction, reused by its later results and contacts), opens its own
/// case, and is entitled in its own jurisdiction only.
pub async fn matches_across_jurisdictions_keep_each_ones_view(f: &Fixture) {
    let cw = &f.cw;
    use tracedesk_casework::PersonRef;
    for (code, parent) in [("f-home", "root"), ("f-away", "root")] {
        cw.staff()
            .add_jurisdiction(code, code, Some(parent))
            .await
            .unwrap();
    }
    let fay = |acc: &str, phone: &str, j: &str, result: &str| LabResultInput {
        jurisdiction: Some(j.into()),
        phone: Some(phone.into()),
        ..lab("Fay", "Facet", Some("1977-07-07"), None, acc, result)
    };
    let home = cw
        .cases()
        .ingest_lab_results(&[fay("F-1", "212 555 0171", "f-home", "positive")])
        .await;
    let person = home[0].person_id.unwrap();
    let home_case = home[0].case_id.unwrap();
    // Two results from elsewhere in one batch, then one more later.
    let away = cw
        .cases()
        .ingest_lab_results(&[
            fay("F-2", "718 555 0172", "f-away", "positive"),
            fay("F-3", "718 555 0172", "f-away", "negative"),
        ])
        .await;
    let facet = away[0].person_id.unwrap();
    assert_ne!(
        facet, person,
        "the other jurisdiction knows them by a facet"
    );
    assert_eq!(away[0].person, Some(person), "still one person");
    assert!(away[0].person_created && !away[1].person_created);
    assert_eq!(away[1].person_id, Some(facet));
    let away_case = away[0].case_id.unwrap();
    assert_ne!(away_case, home_case, "its own case, not the home's");
    assert!(away[0].case_created);
    let later = cw
        .cases()
        .ingest_lab_results(&[fay("F-4", "718 555 0172", "f-away", "negative")])
        .await;
    assert_eq!(later[0].person_id, Some(facet));
    assert!(!later[0].person_created);
    let store = &f.store;
    assert_eq!(
        store.facet_ids(&[person]).await.unwrap().len(),
        1,
        "one facet per jurisdiction"
    );
    assert_eq!(
        store
            .get_case(away_case)
            .await
            .unwrap()
            .unwrap()
            .jurisdiction,
        "f-away"
    );
    // The facet opens to what that jurisdiction sent.
    let Some(PersonRef::Facet(f)) = cw.cases().person_ref(facet).await.unwrap() else {
        panic!("a facet id names a facet");
    };
    assert_eq!(
        cw.cases().facet_view(&f).unwrap().phone.as_deref(),
        Some("+17185550172")
    );
    let Some(PersonRef::Person(p)) = cw.cases().person_ref(person).await.unwrap() else {
        panic!("a person id names a person");
    };
    assert_eq!(
        cw.cases().person_view(&p).unwrap().phone.as_deref(),
        Some("+12125550171")
    );
    // Results by jurisdiction.
    let away_labs = cw
        .cases()
        .person_lab_results(person, Some(&["f-away".to_string()]))
        .await
        .unwrap();
    let mut accs: Vec<_> = away_labs.iter().map(|l| l.accession.clone()).collect();
    accs.sort();
    assert_eq!(accs, ["F-2", "F-3", "F-4"]);
    // A contact named there is the same facet; the views show it.
    let named = cw
        .cases()
        .add_contact(
            away_case,
            &tracedesk_casework::ContactInput {
                first_name: Some("Fay".into()),
                last_name: Some("Facet".into()),
                dob: Some("1977-07-07".into()),
                exposure_dates: vec![today().to_string()],
                ..Default::default()
            },
        )
        .await;
    // A person cannot be their own contact in a real interview, but the
    // store does not judge: it links the record all the same.
    if let Ok(n) = named {
        assert_eq!(n.contact_person_id, facet);
        assert!(!n.person_created);
    }
    let shown = cw.cases().get_case(away_case).await.unwrap();
    assert_eq!((shown.person_id, shown.person), (facet, person));
    // Entitlement is per jurisdiction.
    let (sup, _) = cw
        .staff()
        .add_user(
            NewUser::new("f-away-sup", "Away Supervisor", Role::Supervisor, "f-away").mfa(false),
        )
        .await
        .unwrap();
    let row = store.get_user(sup.id).await.unwrap().unwrap();
    let p = cw.staff().principal(&row).await.unwrap();
    use tracedesk_identity::Decision;
    assert_eq!(cw.staff().decide(&p, person).await.unwrap(), Decision::Deny);
    assert_eq!(
        cw.staff().decide_in(&p, person, "f-away").await.unwrap(),
        Decision::Allow
    );
    assert_eq!(
        cw.staff().decide_in(&p, person, "f-home").await.unwrap(),
        Decision::Deny
    );
    let listed = cw
        .cases()
        .list_cases(
            None,
            None,
            None,
            None,
            Some(500),
            Some(&tracedesk_store::ListScope::Within {
                jurisdictions: p.scope.clone(),
                team_members: vec![],
            }),
        )
        .await
        .unwrap();
    assert!(listed.items.iter().any(|c| c.id == away_case));
    assert!(!listed.items.iter().any(|c| c.id == home_case));
}

/// `[rules] quarantine_option` decides a contact's quarantine end: 14
/// days, 10, or 7 with a negative test taken on day 5 or later (10
/// without one), recomputed when the test is recorded.
pub async fn quarantine_follows_the_configured_option(f: &Fixture) {
    use tracedesk_domain::{DateRules, QuarantineOption as Q};
    let exposed = today() - chrono::Duration::days(8);
    let cases = [
        (Q::Full, None, 14),
        (Q::Shortened, None, 10),
        (Q::ShortenedWithNegativeTest, None, 10),
        (Q::ShortenedWithNegativeTest, Some(4), 10),
        (Q::ShortenedWithNegativeTest, Some(5), 7),
    ];
    for (n, (option, tested_on_day, days)) in cases.into_iter().enumerate() {
        let settings = Settings {
            rules: DateRules {
                quarantine_option: option,
                ..DateRules::default()
            },
            ..Settings::default()
        };
        let cw =
            Casework::new(f.store.clone(), f.vault.clone(), settings).with_clock(Arc::new(|| {
                Utc.with_ymd_and_hms(2026, 11, 20, 15, 0, 0).unwrap()
            }));
        let r = cw
            .cases()
            .ingest_lab_results(&[lab(
                "Quinn",
                "Option",
                Some("1988-08-08"),
                None,
                &format!("Q-{n}"),
                "positive",
            )])
            .await;
        let named = cw
            .cases()
            .add_contact(
                r[0].case_id.unwrap(),
                &tracedesk_casework::ContactInput {
                    first_name: Some(format!("Q{n}")),
                    last_name: Some("Contact".into()),
                    dob: Some("1990-01-01".into()),
                    exposure_dates: vec![exposed.to_string()],
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let untested = if option == Q::Full { 14 } else { 10 };
        assert_eq!(
            (named.quarantine_end - exposed).num_days(),
            untested,
            "{option:?} at naming"
        );
        if let Some(day) = tested_on_day {
            let v = cw
                .cases()
                .patch_contact(
                    named.exposure_id,
                    &tracedesk_casework::ContactPatch {
                        status: None,
                        negative_test_date: Some(
                            (exposed + chrono::Duration::days(day)).to_string(),
                        ),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            assert_eq!(
                (v.quarantine_end - exposed).num_days(),
                days,
                "{option:?} day {day}"
            );
        }
    }
}

/// A lab CSV's every line is imported or reported with its number: a
/// quote left open swallows the lines after it into one bad record, and
/// each of them is reported; the `jurisdiction` column is read.
pub async fn csv_import_accounts_for_every_line(f: &Fixture) {
    let cw = &f.cw;
    cw.staff()
        .add_jurisdiction("csv-town", "CSV Town", Some("root"))
        .await
        .unwrap();
    let mut csv =
        String::from("first_name,last_name,dob,specimen_date,result,accession,jurisdiction\n");
    csv.push_str("Ines,Csv,1971-01-01,2026-11-18,positive,CSV-1,csv-town\n");
    csv.push_str("\"Olga,Open,1972-02-02,2026-11-18,positive,CSV-2,csv-town\n");
    for n in 3..6 {
        csv.push_str(&format!(
            "Pia,Line{n},1973-03-03,2026-11-18,positive,CSV-{n},csv-town\n"
        ));
    }
    let mut report = Vec::new();
    let s = cw
        .cases()
        .import_lab_csv(csv.as_bytes(), &mut report, |_| {})
        .await
        .unwrap();
    let report = String::from_utf8(report).unwrap();
    assert_eq!((s.lines, s.recorded, s.rejected), (5, 1, 4), "{report}");
    for line in 3..=6 {
        assert!(
            report.lines().any(|l| l.starts_with(&format!("{line},"))),
            "line {line}: {report}"
        );
    }
    let cases = cw
        .cases()
        .list_cases(None, None, None, None, Some(500), None)
        .await
        .unwrap();
    let store = &f.store;
    let mut found = false;
    for c in &cases.items {
        let row = store.get_case(c.id).await.unwrap().unwrap();
        found |= row.jurisdiction == "csv-town";
    }
    assert!(found, "the jurisdiction column is read");
}

/// Retention reaches contacts: a contact whose record was never closed is
/// kept, one whose record closed long enough ago is purged.
pub async fn closed_contact_records_are_purged(f: &Fixture) {
    let cw = &f.cw;
    use tracedesk_casework::retention::RetentionPolicy;
    let r = cw
        .cases()
        .ingest_lab_results(&[lab(
            "Rhea",
            "Purge",
            Some("1966-06-06"),
            None,
            "P-1",
            "positive",
        )])
        .await;
    let case = r[0].case_id.unwrap();
    let named = |first: &str| tracedesk_casework::ContactInput {
        first_name: Some(first.into()),
        last_name: Some("Contact".into()),
        dob: Some("1999-09-09".into()),
        exposure_dates: vec![today().to_string()],
        ..Default::default()
    };
    let kept = cw.cases().add_contact(case, &named("Kept")).await.unwrap();
    let done = cw.cases().add_contact(case, &named("Done")).await.unwrap();
    for s in ["notified", "monitoring", "completed"] {
        cw.cases()
            .set_contact_status(done.exposure_id, s)
            .await
            .unwrap();
    }
    assert!(
        cw.cases()
            .set_contact_status(done.exposure_id, "monitoring")
            .await
            .is_err()
    );
    // A sign-in failure counter long quiet goes with the same daily job.
    f.store
        .record_client_failure("name:quiet", Utc::now())
        .await
        .unwrap();
    let later = cw
        .clone()
        .with_clock(Arc::new(|| Utc::now() + chrono::Duration::days(90)));
    purge(&later, Some(RetentionPolicy::default()), false).await;
    let store = &f.store;
    assert_eq!(store.client_failures("name:quiet").await.unwrap(), None);
    let purged = |p: Uuid| async move {
        store
            .get_person(p)
            .await
            .unwrap()
            .unwrap()
            .purged_at
            .is_some()
    };
    assert!(
        purged(done.person).await,
        "a closed contact record is purged"
    );
    assert!(!purged(kept.person).await, "an open one is not");
}

/// Routing progress moves a case-work task only while it is unfinished: a
/// completed or canceled task keeps its status and holder whatever
/// progress later names its id (a reused id once reopened one and handed
/// its person to a worker).
pub async fn finished_tasks_never_reopen(f: &Fixture) {
    let cw = &f.cw;
    let tl = add_tracer(cw, "reopen-tracer", "root").await;
    for (n, finished) in ["completed", "canceled"].into_iter().enumerate() {
        let r = cw
            .cases()
            .ingest_lab_results(&[lab(
                "Finn",
                if n == 0 { "Done" } else { "Gone" },
                Some("1981-02-03"),
                None,
                &format!("FIN-{n}"),
                "positive",
            )])
            .await;
        let task = first_task(cw, r[0].case_id.unwrap()).await;
        let progress = |status: &'static str, assignee: Option<Uuid>| {
            [tracedesk_store::TaskProgress {
                id: task.id,
                status,
                assignee,
            }]
        };
        let store = &f.store;
        store
            .append_routing_events(&[], &progress(finished, None))
            .await
            .unwrap();
        for later in ["pending", "reserved", "assigned", "wrapping"] {
            store
                .append_routing_events(&[], &progress(later, Some(tl)))
                .await
                .unwrap();
            let now = store.get_task(task.id).await.unwrap().unwrap();
            assert_eq!(now.status, finished, "{later} after {finished}");
            assert_ne!(now.assignee_id, Some(tl), "{later} after {finished}");
        }
    }
}

/// Tasks that lab intake and named contacts made are routed exactly once,
/// with the person's language, and routing's progress shows in the
/// case-work task list.
pub async fn case_work_tasks_are_routed_once(f: &Fixture) {
    let cw = &f.cw;
    use tracedesk_casework::task_feed::route_new_tasks;
    use tracedesk_routing::Event;
    let open = || dispatch_at(f, 1_800_000_100_000);
    let seeded = cw
        .cases()
        .ingest_lab_results(&[Synthetic::new(5, today()).positive_lab()])
        .await;
    let seeded_case = seeded[0].case_id.unwrap();
    cw.cases()
        .add_contact(seeded_case, &Synthetic::new(6, today()).contact(today()))
        .await
        .unwrap();
    let waiting = f.store.unrouted_tasks(10_000).await.unwrap();
    assert!(!waiting.is_empty(), "intake and contacts made tasks");
    let r = cw
        .cases()
        .ingest_lab_results(&[LabResultInput {
            language: Some("es-MX".into()),
            ..lab("Rosa", "Díaz", Some("1971-02-03"), None, "R-1", "positive")
        }])
        .await;
    assert!(r[0].case_created, "{r:?}");
    let task = first_task(cw, r[0].case_id.unwrap()).await;
    let d = open().await.unwrap();
    let (es, en) = (
        add_tracer(cw, "router.es", "root").await,
        add_tracer(cw, "router.en", "root").await,
    );
    for (w, lang) in [(es, "es"), (en, "en")] {
        d.apply(Event::AddWorker {
            id: w,
            attributes: serde_json::json!({"skills": ["case_investigation"], "languages": [lang],
                "jurisdiction": "root"}),
            capacity: vec![],
        })
        .await
        .unwrap();
    }
    // Tasks case work took back earlier (assigned by hand) are withdrawn,
    // though routing never had them: nothing to route there.
    let to_route = waiting.iter().filter(|t| t.withdrawal.is_none()).count();
    assert_eq!(
        route_new_tasks(cw, &d).await.unwrap(),
        to_route + 1,
        "every waiting task routed"
    );
    assert!(f.store.unrouted_tasks(10).await.unwrap().is_empty());
    assert_eq!(route_new_tasks(cw, &d).await.unwrap(), 0, "and only once");
    // One priority: routing ranks each task by the number case work shows.
    for t in &waiting {
        let id = t.task.id;
        if let Some(routed) = d.read(|e| e.task_view(id).map(|v| v.priority)).await {
            assert_eq!(routed, t.task.priority, "{} priority", t.task.kind);
        }
    }
    assert!(
        d.read(|e| e.could_take(es, task.id) && !e.could_take(en, task.id))
            .await,
        "routed by the person's language"
    );
    let status = |id| async move { f.store.get_task(id).await.unwrap().unwrap() };
    assert_eq!(status(task.id).await.status, "pending");

    // An offer, its acceptance and the finished work show in the task list.
    let out = available(&d, es).await;
    let (reservation, offered) = out
        .iter()
        .find_map(|x| match x {
            tracedesk_routing::Decision::Offered {
                reservation, task, ..
            } => Some((*reservation, *task)),
            _ => None,
        })
        .expect("an offer");
    let t = status(offered).await;
    assert_eq!((t.status.as_str(), t.assignee_id), ("reserved", Some(es)));
    // An offer does not open the person; accepting does.
    let worker = f.store.get_user(es).await.unwrap().unwrap();
    let p = cw.staff().principal(&worker).await.unwrap();
    let may = async || {
        cw.staff()
            .decide_in(&p, t.person_id, &t.jurisdiction)
            .await
            .unwrap()
    };
    assert_eq!(
        may().await,
        tracedesk_identity::Decision::Deny,
        "offered only"
    );
    d.apply(Event::Accept { reservation }).await.unwrap();
    assert_eq!(status(offered).await.status, "assigned");
    assert_eq!(may().await, tracedesk_identity::Decision::Allow, "accepted");
    d.apply(Event::Complete { task: offered }).await.unwrap();
    let t = status(offered).await;
    assert_eq!(
        (t.status.as_str(), t.assignee_id),
        ("completed", Some(es)),
        "a finished task keeps who worked it"
    );

    // A restart replays the log and routes nothing twice.
    let again = open().await.unwrap();
    assert_eq!(route_new_tasks(cw, &again).await.unwrap(), 0);
    assert_eq!(
        again.read(|e| e.snapshot()).await,
        d.read(|e| e.snapshot()).await
    );
    drop(again);

    // A snapshot, then more events: a restart restores the snapshot and
    // replays only what followed, to the same state.
    let opened = d.snapshot_seq().await;
    let seq = d.snapshot().await.unwrap();
    assert!(seq > opened);
    let stored = f.store.routing_snapshot().await.unwrap().unwrap();
    assert_eq!(stored.seq, seq);
    assert!(
        !stored.image.windows(18).any(|w| w == b"case_investigation"),
        "sealed"
    );
    available(&d, en).await;
    let again = open().await.unwrap();
    assert_eq!(
        again.snapshot_seq().await,
        seq,
        "restored from the snapshot"
    );
    assert_eq!(
        again.read(|e| e.snapshot()).await,
        d.read(|e| e.snapshot()).await
    );
    // A second snapshot replaces the first.
    let later = d.snapshot().await.unwrap();
    assert!(later > seq);
    assert_eq!(
        f.store.routing_snapshot().await.unwrap().unwrap().seq,
        later
    );

    // The workspace changed: "Available" is now "Ready". The engine as it
    // stood under the old workspace (its snapshot, and the log after it)
    // carries its live work over: every worker and task is kept, a task a
    // worker holds stays theirs, a worker whose activity is gone starts in
    // the default one, and a snapshot under the new workspace is saved at
    // once, so no later start replays across the change.
    d.apply(Event::CreateTask {
        id: Uuid::now_v7(),
        attributes: serde_json::json!({"type": "case_interview"}),
        channel: "voice".into(),
        priority: None,
        due: None,
        ttl: None,
        worker: Some(es),
    })
    .await
    .unwrap();
    let held: Vec<(Uuid, Option<Uuid>)> = d
        .read(|e| {
            e.tasks()
                .filter(|t| t.state == tracedesk_routing::TaskState::Assigned)
                .map(|t| (t.id, t.worker))
                .collect()
        })
        .await;
    assert!(!held.is_empty(), "a task is held");
    let head = later + 1;
    let mut changed = tracedesk_routing::Workspace::public_health();
    for a in &mut changed.activities {
        if a.name == "Available" {
            a.name = "Ready".into();
        }
    }
    let open_changed = || {
        tracedesk_casework::dispatch::Dispatch::open(
            f.store.clone(),
            f.vault.clone(),
            changed.clone(),
            Arc::new(|| 1_800_000_100_000),
        )
    };
    let moved = open_changed().await.unwrap();
    assert_eq!(moved.snapshot_seq().await, head, "saved at the change");
    let live: Vec<Uuid> = d.read(|e| e.tasks().map(|t| t.id).collect()).await;
    let (kept, still_held, room) = moved
        .read(|e| {
            (
                live.iter().all(|t| e.task_view(*t).is_some()),
                held.iter()
                    .all(|(t, w)| e.task_view(*t).is_some_and(|v| v.worker == *w)),
                e.worker_room(es),
            )
        })
        .await;
    assert!(kept, "every live task is still there");
    assert!(still_held, "held tasks stay with their workers");
    assert_eq!(room.map(|(available, _)| available), Some(false));
    assert_eq!(f.store.routing_snapshot().await.unwrap().unwrap().seq, head);
    // Work goes on under the new workspace; a restart restores the new
    // snapshot and replays what followed under the workspace it was logged in.
    moved
        .apply(Event::SetActivity {
            worker: es,
            activity: "Ready".into(),
            reject_pending: false,
        })
        .await
        .unwrap();
    let again = open_changed().await.unwrap();
    assert_eq!(
        again.snapshot_seq().await,
        head,
        "restored, not carried again"
    );
    assert_eq!(
        again.read(|e| e.snapshot()).await,
        moved.read(|e| e.snapshot()).await
    );
    drop((moved, again, d));
    // And back to the first workspace, where the rest of this test runs:
    // carried over again, the worker who was "Ready" starts Offline.
    let d = open().await.unwrap();
    let (kept, room) = d
        .read(|e| {
            (
                live.iter().all(|t| e.task_view(*t).is_some()),
                e.worker_room(es),
            )
        })
        .await;
    assert!(kept);
    assert_eq!(room.map(|(available, _)| available), Some(false));

    // A case is closed: its interview is canceled in the task list at
    // once (no tracer holds it any longer) and withdrawn from routing.
    let r = cw
        .cases()
        .ingest_lab_results(&[lab(
            "Lía",
            "Ortiz",
            Some("1990-05-06"),
            None,
            "R-2",
            "positive",
        )])
        .await;
    let case_id = r[0].case_id.unwrap();
    let task = first_task(cw, case_id).await;
    assert_eq!(route_new_tasks(cw, &d).await.unwrap(), 1);
    let closed = CasePatch {
        status: Some("closed".into()),
        ..Default::default()
    };
    cw.cases().patch_case(case_id, &closed).await.unwrap();
    assert_eq!(status(task.id).await.status, "canceled");
    assert!(d.read(|e| e.task_view(task.id).is_some()).await);
    // Routing moves the task before it hears: its progress does not undo
    // the cancellation.
    d.apply(Event::UpdateTask {
        id: task.id,
        attributes: serde_json::json!({"type": "symptomatic_followup", "jurisdictions": ["root"]}),
    })
    .await
    .unwrap();
    assert_eq!(status(task.id).await.status, "canceled");
    assert_eq!(route_new_tasks(cw, &d).await.unwrap(), 1);
    assert!(
        d.read(|e| e.task_view(task.id).is_none()).await,
        "withdrawn from routing"
    );
    assert_eq!(status(task.id).await.status, "canceled");
    assert!(f.store.unrouted_tasks(10).await.unwrap().is_empty());

    // A supervisor assigns a routed task by hand: the task list says so at
    // once, routing's progress does not undo it, and routing lets go of
    // the task (withdrawing its offer).
    // A town of its own, so its one worker is offered nothing else.
    cw.staff()
        .add_jurisdiction("r-town", "Town", None)
        .await
        .unwrap();
    let tl = add_tracer(cw, "router.tl", "r-town").await;
    d.apply(Event::AddWorker {
        id: tl,
        attributes: serde_json::json!({"skills": ["case_investigation"], "languages": ["tl"],
            "jurisdiction": "r-town"}),
        capacity: vec![],
    })
    .await
    .unwrap();
    available(&d, tl).await;
    let r = cw
        .cases()
        .ingest_lab_results(&[LabResultInput {
            language: Some("tl".into()),
            jurisdiction: Some("r-town".into()),
            ..lab("Noé", "Paz", Some("1985-07-08"), None, "R-3", "positive")
        }])
        .await;
    let task = first_task(cw, r[0].case_id.unwrap()).await;
    assert_eq!(route_new_tasks(cw, &d).await.unwrap(), 1);
    let offered = status(task.id).await;
    assert_eq!(
        (offered.status.as_str(), offered.assignee_id),
        ("reserved", Some(tl)),
        "offered to the one free worker who speaks the language"
    );
    let hand = add_tracer(cw, "by.hand", "root").await;
    cw.cases().assign_task(task.id, Some(hand)).await.unwrap();
    let by_hand = |t: TaskRow| (t.status, t.assignee_id);
    assert_eq!(
        by_hand(status(task.id).await),
        ("assigned".into(), Some(hand))
    );
    d.apply(Event::UpdateTask {
        id: task.id,
        attributes: serde_json::json!({"type": "case_interview", "jurisdictions": ["root"]}),
    })
    .await
    .unwrap();
    assert_eq!(
        by_hand(status(task.id).await),
        ("assigned".into(), Some(hand)),
        "routing's progress leaves a hand assignment alone"
    );
    assert_eq!(route_new_tasks(cw, &d).await.unwrap(), 1);
    assert!(d.read(|e| e.task_view(task.id).is_none()).await, "let go");
    assert_eq!(
        by_hand(status(task.id).await),
        ("assigned".into(), Some(hand))
    );
    assert_eq!(route_new_tasks(cw, &d).await.unwrap(), 0, "and stays out");
    // Returned to the queue, it is routed anew.
    cw.cases().assign_task(task.id, None).await.unwrap();
    assert_eq!(by_hand(status(task.id).await), ("pending".into(), None));
    assert_eq!(route_new_tasks(cw, &d).await.unwrap(), 1);
    assert!(
        d.read(|e| e.task_view(task.id).is_some()).await,
        "routed anew"
    );
    // Returned while routing holds it: routing lets go, then routes it anew.
    cw.cases().assign_task(task.id, None).await.unwrap();
    assert_eq!(route_new_tasks(cw, &d).await.unwrap(), 1);
    assert!(d.read(|e| e.task_view(task.id).is_none()).await);
    assert_eq!(route_new_tasks(cw, &d).await.unwrap(), 1);
    assert!(d.read(|e| e.task_view(task.id).is_some()).await);
    assert!(matches!(
        status(task.id).await.status.as_str(),
        "pending" | "reserved"
    ));
    assert!(f.store.unrouted_tasks(10).await.unwrap().is_empty());

    // Assigned by hand to a routing worker, routing assigns it to them too:
    // it takes their room, the task list's withdrawal is cleared, and they
    // finish it like any routed task.
    let routing_follows = async |task: Uuid, worker: Uuid| {
        cw.cases().assign_task(task, Some(worker)).await.unwrap();
        assert_eq!(route_new_tasks(cw, &d).await.unwrap(), 1);
        assert_eq!(
            d.read(move |e| e.task_view(task).map(|v| (v.state, v.worker)))
                .await,
            Some((tracedesk_routing::TaskState::Assigned, Some(worker)))
        );
        assert_eq!(
            by_hand(status(task).await),
            ("assigned".into(), Some(worker))
        );
        assert!(f.store.unrouted_tasks(10).await.unwrap().is_empty());
    };
    routing_follows(task.id, es).await;
    d.apply(Event::Complete { task: task.id }).await.unwrap();
    assert_eq!(
        by_hand(status(task.id).await),
        ("completed".into(), Some(es)),
        "routing's progress counts again"
    );
    // A task routing never had is made already theirs.
    let r = cw
        .cases()
        .ingest_lab_results(&[lab(
            "Eva",
            "Hand",
            Some("1970-01-02"),
            None,
            "R-6",
            "positive",
        )])
        .await;
    routing_follows(first_task(cw, r[0].case_id.unwrap()).await.id, en).await;

    // Case work takes back a task the feed is handing over at that moment
    // (by hand, or by closing the case): the hand-over's progress, landing
    // late, does not undo it, and routing then lets go.
    for close in [false, true] {
        let r = cw
            .cases()
            .ingest_lab_results(&[LabResultInput {
                jurisdiction: Some("r-town".into()),
                ..lab(
                    "Ada",
                    if close { "Closed" } else { "Assigned" },
                    Some("1979-01-02"),
                    None,
                    if close { "R-5" } else { "R-4" },
                    "positive",
                )
            }])
            .await;
        let case_id = r[0].case_id.unwrap();
        let task = first_task(cw, case_id).await;
        let expected = if close {
            cw.cases().patch_case(case_id, &closed).await.unwrap();
            ("canceled".to_string(), None)
        } else {
            cw.cases().assign_task(task.id, Some(hand)).await.unwrap();
            ("assigned".to_string(), Some(hand))
        };
        f.store
            .append_routing_events(
                &[],
                &[tracedesk_store::TaskProgress {
                    id: task.id,
                    status: "reserved",
                    assignee: Some(tl),
                }],
            )
            .await
            .unwrap();
        assert_eq!(by_hand(status(task.id).await), expected, "close {close}");
        route_new_tasks(cw, &d).await.unwrap();
        assert_eq!(by_hand(status(task.id).await), expected, "close {close}");
        assert!(f.store.unrouted_tasks(10).await.unwrap().is_empty());
    }
}

/// Journaled mode: entries reach the log, a crash's leftovers are absorbed
/// once (not twice when they already got in), a damaged segment is kept
/// aside, and an entry that cannot be journaled fails its action.
pub async fn audit_journal_recovers_and_fails_closed(f: &Fixture) {
    let store = f.store.clone();
    use tracedesk_casework::audit_journal;
    use tracedesk_casework::auditor::{Auditor, draft};
    use tracedesk_store::audit::{Action, AuditKey};
    let key = Arc::new(AuditKey::generate());
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal");
    let head = || async { store.audit_head().await.unwrap().map_or(0, |h| h.0) };
    let segments = |d: &std::path::Path, ext: &str| {
        std::fs::read_dir(d)
            .unwrap()
            .filter(|e| {
                let p = e.as_ref().unwrap().path();
                p.extension().is_some_and(|x| x == ext)
            })
            .count()
    };
    let read = |i: usize| {
        draft(
            "token:journal",
            Action::PhiRead,
            "case",
            Some(Uuid::now_v7()),
            None,
            &format!("read {i}"),
        )
    };

    // Entries recorded through the journal are in the log after a flush,
    // chained after what was there, and their segments are gone.
    let before = head().await;
    let (auditor, recovered) = Auditor::journaled(store.clone(), key.clone(), &journal)
        .await
        .unwrap();
    assert_eq!(recovered, 0);
    let again = Auditor::journaled(store.clone(), key.clone(), &journal).await;
    assert!(again.is_err(), "two processes must not share a journal");
    for i in 0..30 {
        auditor.record(vec![read(i)]).await.unwrap();
    }
    assert_eq!(segments(&journal, "jsonl"), 1, "the open segment");
    assert_eq!(auditor.checkpoint().await.unwrap(), Some(before + 30));
    assert_eq!(head().await, before + 30);
    let logged = store.audit_entries(before, 30).await.unwrap();
    assert_eq!(logged[0].draft.detail, "read 0");
    assert_eq!(logged[29].draft.detail, "read 29");
    assert_eq!(segments(&journal, "jsonl"), 0);
    drop(auditor);

    // A crash left two segments: one already absorbed (the crash came
    // between commit and delete), one not yet, with a torn last line.
    let absorbed: Vec<_> = (100..105).map(read).collect();
    let pending: Vec<_> = (200..207).map(read).collect();
    Auditor::new(store.clone(), key.clone())
        .await
        .unwrap()
        .record(absorbed.clone())
        .await
        .unwrap();
    let mut bytes = Vec::new();
    audit_journal::encode(&absorbed, &mut bytes);
    std::fs::write(journal.join("00000000000000000001.jsonl"), &bytes).unwrap();
    bytes.clear();
    audit_journal::encode(&pending, &mut bytes);
    bytes.extend_from_slice(b"{\"at\":17");
    std::fs::write(journal.join("00000000000000000002.jsonl"), &bytes).unwrap();
    // A third segment is damaged in the middle: kept aside, not absorbed.
    std::fs::write(journal.join("00000000000000000003.jsonl"), b"garbage\n{}\n").unwrap();
    let before = head().await;
    // Dropping the last clone of the first auditor released the lock.
    let (auditor, recovered) = Auditor::journaled(store.clone(), key.clone(), &journal)
        .await
        .unwrap();
    assert_eq!(recovered, 7, "only the segment not yet in the log");
    assert_eq!(head().await, before + 7);
    let logged = store.audit_entries(before, 7).await.unwrap();
    let details: Vec<_> = logged.iter().map(|e| e.draft.detail.clone()).collect();
    assert_eq!(
        details,
        pending.iter().map(|d| d.detail.clone()).collect::<Vec<_>>()
    );
    assert_eq!(segments(&journal, "jsonl"), 0);
    assert_eq!(segments(&journal, "unreadable"), 1);

    // The journal cannot be written: the entry, and so the action, fails.
    std::fs::remove_dir_all(&journal).unwrap();
    let e = auditor.record(vec![read(300)]).await.unwrap_err();
    assert!(e.to_string().contains("audit journal"), "{e}");
}

/// Appends from several tasks at once (the chain must not fork), signs
/// checkpoints, reads pages and a person's record, and verifies the log.
pub async fn audit_log_chains_and_verifies(f: &Fixture) {
    let store = f.store.clone();
    use tracedesk_casework::auditor::{Auditor, draft};
    use tracedesk_store::audit::{Action, AuditKey};
    let auditor = Auditor::new(store.clone(), Arc::new(AuditKey::generate()))
        .await
        .unwrap();
    // A second writer, as another process or node would be: each caches the
    // head it last wrote and must fall back when the other got there first.
    let other_writer = Auditor::new(store.clone(), Arc::new(AuditKey::generate()))
        .await
        .unwrap();
    let person = Uuid::now_v7();
    let mut tasks = Vec::new();
    for t in 0..4 {
        let a = if t % 2 == 0 {
            auditor.clone()
        } else {
            other_writer.clone()
        };
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                let who = if i % 5 == 0 { Some(person) } else { None };
                a.record(vec![
                    draft(
                        &format!("token:{t}"),
                        Action::PhiRead,
                        "case",
                        Some(Uuid::now_v7()),
                        who,
                        "GET /api/v1/cases/{id}",
                    ),
                    draft(
                        &format!("token:{t}"),
                        Action::PhiWrite,
                        "case",
                        None,
                        None,
                        "PATCH",
                    ),
                ])
                .await
                .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let head = store.audit_head().await.unwrap().unwrap();
    assert_eq!(head.0, 200);
    // A stale head is refused whole, and nothing is written.
    let stale = store.audit_entries(198, 1).await.unwrap()[0].clone();
    let extra = [draft("test", Action::PhiRead, "case", None, None, "x")];
    assert!(matches!(
        store
            .append_audit_after((stale.seq, stale.hash), &extra)
            .await,
        Err(tracedesk_store::StoreError::Conflict(_))
    ));
    assert_eq!(store.audit_head().await.unwrap().unwrap(), head);
    assert_eq!(auditor.checkpoint().await.unwrap(), Some(200));
    assert_eq!(
        auditor.checkpoint().await.unwrap(),
        None,
        "nothing new to sign"
    );
    let page = store.audit_entries(190, 5).await.unwrap();
    assert_eq!(
        page.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![191, 192, 193, 194, 195]
    );
    assert_eq!(page[1].prev_hash, page[0].hash);
    assert_eq!(store.audit_for_person(person).await.unwrap().len(), 20);
    let mut progress = 0;
    let summary = auditor
        .verify(None, |n| progress = n)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (summary.entries, summary.last_seq, progress),
        (200, 200, 200)
    );
    assert_eq!(summary.unsigned_tail, 0);
    // Verified against another key, the checkpoint is refused.
    let other = AuditKey::generate().public();
    assert!(auditor.verify(Some(other), |_| ()).await.unwrap().is_err());

    // Many requests cross the checkpoint threshold at once: every one is
    // recorded (signing is one at a time, never a reason to fail), and
    // the checkpoints signed meanwhile link up.
    let mut tasks = Vec::new();
    for t in 0..128 {
        // Two writers, as two nodes: they race for the same checkpoints.
        let a = if t % 2 == 0 {
            auditor.clone()
        } else {
            other_writer.clone()
        };
        tasks.push(tokio::spawn(async move {
            for _ in 0..10 {
                a.record(vec![draft(
                    &format!("token:{t}"),
                    Action::PhiRead,
                    "case",
                    Some(Uuid::now_v7()),
                    None,
                    "GET /api/v1/cases/{id}",
                )])
                .await?;
            }
            Ok::<_, tracedesk_store::StoreError>(())
        }));
    }
    for t in tasks {
        t.await.unwrap().expect("every concurrent record succeeds");
    }
    let head = store.audit_head().await.unwrap().unwrap();
    assert_eq!(head.0, 200 + 128 * 10);
    let cps = store.audit_checkpoints().await.unwrap();
    assert!(cps.len() >= 2, "{} checkpoints", cps.len());
    for pair in cps.windows(2) {
        if let Some(l) = pair[1].link {
            assert_eq!(l.prev, pair[0].digest(), "checkpoints link up");
        }
    }
}

/// A writer appending under the log's lock (it reads the head, then
/// inserts after it) is never overtaken by another writer's lock-free
/// append: if it were, a writer falling back to the lock could lose every
/// race to a busier one and fail its caller's action.
pub async fn locked_audit_appends_are_never_overtaken(f: &Fixture) {
    let store = f.store.clone();
    use tracedesk_casework::auditor::draft;
    use tracedesk_store::{StoreError, audit::Action};
    let one = || vec![draft("test", Action::PhiRead, "case", None, None, "race")];
    tracedesk_casework::auditor::Auditor::new(
        store.clone(),
        Arc::new(tracedesk_store::audit::AuditKey::generate()),
    )
    .await
    .unwrap()
    .record(one())
    .await
    .unwrap();
    let start = store.audit_head().await.unwrap().unwrap();
    let busy = {
        let store = store.clone();
        tokio::spawn(async move {
            let (mut head, mut written) = (start, 0);
            while written < 400 {
                match store.append_audit_after(head, &one()).await {
                    Ok(e) => {
                        head = (e[0].seq, e[0].hash);
                        written += 1;
                    }
                    Err(StoreError::Conflict(_)) => {
                        head = store.audit_head().await.unwrap().unwrap();
                    }
                    Err(e) => panic!("{e}"),
                }
            }
        })
    };
    for _ in 0..100 {
        if let Err(e) = store.append_audit(&one()).await {
            panic!("a locked append was overtaken: {e}");
        }
    }
    busy.await.unwrap();
    let head = store.audit_head().await.unwrap().unwrap();
    assert_eq!(head.0, start.0 + 500, "every append is in the log once");
}

pub async fn intake_matches_people_and_cases(f: &Fixture) {
    let cw = &f.cw;
    let r = cw
        .cases()
        .ingest_lab_results(&[
            lab(
                "Ana",
                "García",
                Some("1980-03-04"),
                Some("(212) 555-0101"),
                "A-1",
                "positive",
            ),
            // Same person by name + DOB (other spelling case), second positive: same case.
            lab("ANA", "garcía", Some("1980-03-04"), None, "A-2", "detected"),
            // Same phone, another name: a household member, a new person.
            lab(
                "Luis",
                "García",
                None,
                Some("212-555-0101"),
                "A-3",
                "positive",
            ),
            // Negative: recorded, no case.
            lab("Mei", "Chen", Some("1990-01-01"), None, "A-4", "negative"),
            // Repeated accession: a duplicate, nothing written.
            lab("Ana", "García", Some("1980-03-04"), None, "A-1", "positive"),
        ])
        .await;
    assert_eq!(r.len(), 5);
    assert!(r.iter().all(|o| o.error.is_none()), "{r:?}");
    assert!(r[0].person_created && r[0].case_created);
    assert_eq!(r[1].person_id, r[0].person_id, "name+DOB matches");
    assert_eq!(
        r[1].case_id, r[0].case_id,
        "second positive joins the open case"
    );
    assert!(!r[1].case_created);
    assert_ne!(
        r[2].person_id, r[0].person_id,
        "a shared phone alone is no match"
    );
    assert!(r[2].case_created);
    assert_eq!(r[3].case_id, None);
    assert_eq!(r[4].status, "duplicate");

    // Phone + name matches without a date of birth.
    let again = cw
        .cases()
        .ingest_lab_results(&[lab(
            "luis",
            "GARCÍA",
            None,
            Some("+12125550101"),
            "A-5",
            "positive",
        )])
        .await;
    assert_eq!(again[0].person_id, r[2].person_id);
    assert_eq!(again[0].case_id, r[2].case_id);

    // In one batch, two results of one new person make one person and one case.
    let b = cw
        .cases()
        .ingest_lab_results(&[
            lab("Wei", "Li", Some("1970-07-07"), None, "B-1", "positive"),
            lab("Wei", "Li", Some("1970-07-07"), None, "B-2", "positive"),
        ])
        .await;
    assert_eq!(b[0].person_id, b[1].person_id);
    assert_eq!(b[0].case_id, b[1].case_id);
    assert!(b[0].case_created && !b[1].case_created && !b[1].person_created);

    let case = cw.cases().get_case(r[0].case_id.unwrap()).await.unwrap();
    assert_eq!(case.status, "new");
    assert_eq!(
        case.infectious_start,
        NaiveDate::from_ymd_opt(2026, 11, 16).unwrap()
    );
    assert_eq!(
        case.isolation_end,
        NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
    );
    let tasks = f.store.tasks_for_case(case.id).await.unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].kind, "case_interview");
    let labs = cw
        .cases()
        .person_lab_results(r[0].person_id.unwrap(), None)
        .await
        .unwrap();
    assert_eq!(labs.len(), 2);
    assert_eq!(labs[0].accession, "A-1");
    assert_eq!(labs[1].result, "positive");
    let person = cw
        .cases()
        .get_person(r[0].person_id.unwrap())
        .await
        .unwrap();
    assert_eq!(person.first_name.as_deref(), Some("Ana"));
    assert_eq!(person.phone.as_deref(), Some("+12125550101"));
}

pub async fn intake_isolates_bad_items(f: &Fixture) {
    let cw = &f.cw;
    let mut bad_phone = lab("Omar", "Haddad", None, Some("12"), "C-1", "positive");
    bad_phone.email = Some("not-an-email".into());
    let future_dob = lab(
        "Sara",
        "Haddad",
        Some("2999-01-01"),
        None,
        "C-2",
        "positive",
    );
    let good = lab(
        "Grace",
        "Okafor",
        Some("1985-05-05"),
        None,
        "C-3",
        "positive",
    );
    let no_result = LabResultInput {
        result: Some("maybe".into()),
        ..lab("X", "Y", Some("1980-01-01"), None, "C-4", "")
    };
    let r = cw
        .cases()
        .ingest_lab_results(&[bad_phone, future_dob, good, no_result])
        .await;
    let e0 = r[0].error.as_ref().expect("bad phone rejected");
    assert_eq!(e0.field.as_deref(), Some("phone"));
    assert!(
        e0.message.contains("email"),
        "all field errors are listed: {}",
        e0.message
    );
    assert!(!e0.message.contains("not-an-email"), "no value is echoed");
    assert_eq!(r[1].error.as_ref().unwrap().field.as_deref(), Some("dob"));
    assert_eq!(
        r[1].error.as_ref().unwrap().message,
        "dob: is in the future"
    );
    assert_eq!(r[2].status, "recorded");
    assert_eq!(
        r[3].error.as_ref().unwrap().field.as_deref(),
        Some("result")
    );
}

pub async fn case_pages_and_patches(f: &Fixture) {
    let cw = &f.cw;
    let mut syn = Synthetic::new(7, today());
    let inputs: Vec<_> = (0..7).map(|_| syn.positive_lab()).collect();
    assert!(
        cw.cases()
            .ingest_lab_results(&inputs)
            .await
            .iter()
            .all(|o| o.case_created)
    );
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = cw
            .cases()
            .list_cases(Some("new"), None, None, cursor.as_deref(), Some(3), None)
            .await
            .unwrap();
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|c| c.id));
        match page.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    let total = f.store.counts().await.unwrap().cases as usize;
    assert_eq!(seen.len(), total, "every case exactly once across pages");
    let mut dedup = seen.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), seen.len());
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "newest first");
    let none = cw
        .cases()
        .list_cases(
            None,
            Some(today() + chrono::Duration::days(1)),
            None,
            None,
            None,
            None,
        )
        .await
        .unwrap();
    assert!(none.items.is_empty());
    assert!(matches!(
        cw.cases()
            .list_cases(Some("bogus"), None, None, None, None, None)
            .await,
        Err(CaseworkError::Invalid(_))
    ));

    let id = seen[0];
    let patch = CasePatch {
        onset_date: Some(Some("2026-11-10".into())),
        status: Some("interviewing".into()),
        symptoms: Some(vec!["fever".into(), "cough".into()]),
        ..Default::default()
    };
    let c = cw.cases().patch_case(id, &patch).await.unwrap();
    assert_eq!(c.status, "interviewing");
    assert!(!c.asymptomatic);
    assert_eq!(
        c.infectious_start,
        NaiveDate::from_ymd_opt(2026, 11, 8).unwrap()
    );
    assert_eq!(
        c.isolation_end,
        NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
    );
    assert_eq!(
        cw.cases().get_case(id).await.unwrap().symptoms,
        vec!["fever", "cough"]
    );
    let back = CasePatch {
        status: Some("new".into()),
        ..Default::default()
    };
    assert!(matches!(
        cw.cases().patch_case(id, &back).await,
        Err(CaseworkError::Transition(_))
    ));
    assert!(matches!(
        cw.cases()
            .patch_case(Uuid::now_v7(), &CasePatch::default())
            .await,
        Err(CaseworkError::NotFound("case"))
    ));
}

pub async fn contacts_and_warnings(f: &Fixture) {
    let cw = &f.cw;
    let mut syn = Synthetic::new(8, today());
    cw.cases()
        .ingest_lab_results(&[syn.positive_lab(), syn.positive_lab()])
        .await;
    let case = cw
        .cases()
        .list_cases(None, None, None, None, Some(1), None)
        .await
        .unwrap()
        .items
        .remove(0);
    let input = ContactInput {
        first_name: Some("Jean".into()),
        last_name: Some("Pierre".into()),
        phone: Some("+1 718 555 0199".into()),
        exposure_dates: vec!["2026-11-17".into(), "2026-10-01".into()],
        setting: Some("household".into()),
        ..Default::default()
    };
    let o = cw.cases().add_contact(case.id, &input).await.unwrap();
    assert!(o.person_created);
    assert_eq!(
        o.quarantine_end,
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
    );
    assert_eq!(
        o.warnings.len(),
        1,
        "the October date is outside the infectious period"
    );
    // The same contact named again by another case is the same person.
    let other = cw
        .cases()
        .list_cases(None, None, None, None, Some(2), None)
        .await
        .unwrap()
        .items
        .remove(1);
    let o2 = cw
        .cases()
        .add_contact(
            other.id,
            &ContactInput {
                exposure_dates: vec!["2026-11-18".into()],
                ..input.clone()
            },
        )
        .await
        .unwrap();
    assert_eq!(o2.contact_person_id, o.contact_person_id);
    assert!(!o2.person_created);
    let list = cw
        .cases()
        .list_contacts(Some(case.id), None, None, None, None)
        .await
        .unwrap();
    assert_eq!(list.items.len(), 1);
    assert_eq!(list.items[0].status, "named");
    assert_eq!(list.items[0].setting, "household");
    let all = cw
        .cases()
        .list_contacts(None, Some("named"), None, Some(500), None)
        .await
        .unwrap();
    assert!(all.items.len() >= 2);
    let missing = cw.cases().add_contact(Uuid::now_v7(), &input).await;
    assert!(matches!(missing, Err(CaseworkError::NotFound("case"))));
    let bad = ContactInput {
        exposure_dates: vec!["yesterday".into()],
        ..input.clone()
    };
    match cw.cases().add_contact(case.id, &bad).await {
        Err(CaseworkError::Invalid(errs)) => assert_eq!(errs[0].field, "exposure_dates[0]"),
        other => panic!("expected a field error, got {other:?}"),
    }
    // A batch answers each item at its index: the bad ones are refused,
    // the good ones (one of them the person already named) recorded.
    let mireille = |day: &str| ContactInput {
        first_name: Some("Mireille".into()),
        last_name: Some("Dufort".into()),
        phone: Some("+1 718 555 0142".into()),
        exposure_dates: vec![day.into()],
        ..Default::default()
    };
    let batch = cw
        .cases()
        .add_contacts(&[
            (case.id, mireille("2026-11-18")),
            (case.id, bad),
            (Uuid::now_v7(), input.clone()),
            (other.id, input.clone()),
            (other.id, mireille("2026-11-19")),
        ])
        .await;
    assert_eq!(batch.len(), 5);
    // Named twice in one batch: one person, made by the first naming.
    let twice = batch[4]
        .as_ref()
        .expect("a contact named twice is recorded");
    assert!(!twice.person_created);
    let first = batch[0].as_ref().expect("a new contact is recorded");
    assert!(first.person_created);
    assert_eq!(twice.contact_person_id, first.contact_person_id);
    assert!(matches!(&batch[1], Err(CaseworkError::Invalid(_))));
    assert!(matches!(&batch[2], Err(CaseworkError::NotFound("case"))));
    let again = batch[3].as_ref().expect("a known contact is recorded");
    assert_eq!(again.contact_person_id, o.contact_person_id);
    let listed = cw
        .cases()
        .list_contacts(Some(case.id), None, None, None, None)
        .await
        .unwrap();
    assert!(
        listed
            .items
            .iter()
            .any(|c| c.exposure_id == first.exposure_id),
        "the batch's contact is on its case"
    );
}

pub async fn lookups_find_people(f: &Fixture) {
    let cw = &f.cw;
    // The people that scenario records (Ana and Luis share a phone).
    intake_matches_people_and_cases(f).await;
    let by_phone = cw
        .cases()
        .find_persons(&PersonSearch {
            phone: Some("212 555 0101".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_phone.len(), 2, "Ana and Luis share a phone");
    let by_name = cw
        .cases()
        .find_persons(&PersonSearch {
            first_name: Some("ana".into()),
            last_name: Some("GARCÍA".into()),
            dob: Some("1980-03-04".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_name.len(), 1);
    assert_eq!(by_name[0].first_name.as_deref(), Some("Ana"));
    let nobody = cw
        .cases()
        .find_persons(&PersonSearch {
            phone: Some("+1 212 555 0177".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(nobody.is_empty());
}

pub async fn tokens(f: &Fixture) {
    let store = &*f.store;
    let t = TokenRow {
        id: Uuid::now_v7(),
        name: "ci".into(),
        hash: vec![7; 32],
        created_at: Utc::now(),
        revoked_at: None,
        user_id: None,
    };
    store.insert_token(&t).await.unwrap();
    assert_eq!(
        store.token_by_hash(&[7; 32]).await.unwrap().unwrap().name,
        "ci"
    );
    assert!(store.token_by_hash(&[8; 32]).await.unwrap().is_none());
    assert!(
        store
            .insert_token(&TokenRow {
                id: Uuid::now_v7(),
                ..t.clone()
            })
            .await
            .is_err(),
        "hashes are unique"
    );
    assert_eq!(store.revoke_token("ci").await.unwrap(), 1);
    assert_eq!(store.revoke_token("ci").await.unwrap(), 0);
    assert!(
        store
            .token_by_hash(&[7; 32])
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
    assert_eq!(store.list_tokens().await.unwrap().len(), 1);
}

pub async fn rotation_resumes_and_reseals(f: &Fixture) {
    let cw = &f.cw;
    let store = &f.store;
    // Ana and Luis (who share a phone, for the look-up after rotation) and more.
    intake_matches_people_and_cases(f).await;
    seed_people(cw, 10).await;
    let before = f.vault.current_version();
    let mut total = 0;
    for t in schema::SEALED_TABLES {
        total += store.count_below_version(t, before + 1).await.unwrap();
    }
    assert!(total > 20);
    // Interrupted half way.
    let half = total / 2;
    let r1 = cw
        .retention()
        .rotate_keys(5, Some(half), |_| {})
        .await
        .unwrap();
    assert!(!r1.complete && !r1.resumed);
    assert_eq!(r1.version, before + 1);
    assert_eq!(r1.rows, half);
    // Data stays readable mid-rotation (mixed versions).
    let any_case = cw
        .cases()
        .list_cases(None, None, None, None, Some(500), None)
        .await
        .unwrap();
    assert!(!any_case.items.is_empty());
    // Rerun finishes the same rotation instead of starting another.
    let r2 = cw.retention().rotate_keys(7, None, |_| {}).await.unwrap();
    assert!(r2.complete && r2.resumed);
    assert_eq!(r2.version, before + 1);
    assert_eq!(r1.rows + r2.rows, total);
    for t in schema::SEALED_TABLES {
        assert_eq!(store.count_below_version(t, r2.version).await.unwrap(), 0);
        let rows = store
            .sealed_batch(t, u32::MAX, None, 100_000)
            .await
            .unwrap();
        for row in rows {
            for (col, v) in t.columns.iter().zip(&row.values) {
                if let Some(v) = v {
                    assert_eq!(
                        Vault::version_of(v).unwrap(),
                        r2.version,
                        "{}.{col}",
                        t.name
                    );
                    f.vault
                        .open(&FieldContext::new(t.sealed_as, col, row.id), v)
                        .expect("opens under the new key");
                }
            }
        }
    }
    // Look-ups still work: blind indexes do not change with rotation.
    let found = cw
        .cases()
        .find_persons(&PersonSearch {
            phone: Some("212 555 0101".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.len(), 2);
}

/// Plaintexts that must never appear in raw database bytes.
pub struct SeededSecrets {
    pub needles: Vec<String>,
    pub sample_phone: String,
    pub sample_name_dob: (String, String, String),
}

/// Inserts `n` synthetic persons with positive results (and so cases) plus
/// one named contact each, and returns the names, phones and emails used.
pub async fn seed_people(cw: &Casework, n: usize) -> SeededSecrets {
    let mut syn = Synthetic::new(42, today());
    let labs: Vec<LabResultInput> = (0..n).map(|_| syn.positive_lab()).collect();
    let out = cw.cases().ingest_lab_results(&labs).await;
    let mut needles = Vec::new();
    let mut answered = 0;
    for (input, o) in labs.iter().zip(&out) {
        assert!(o.error.is_none(), "{o:?}");
        let case_id = o.case_id.expect("positive makes a case");
        let mut contact = syn.contact(
            NaiveDate::parse_from_str(input.specimen_date.as_deref().unwrap(), "%Y-%m-%d").unwrap(),
        );
        let tag = o.case_id.unwrap_or_default().simple().to_string();
        contact.notes = Some(format!("contact note {tag}"));
        let named = cw
            .cases()
            .add_contact(case_id, &contact)
            .await
            .expect("contact");
        // Daily monitoring: the contact's check-in answer, sealed on the
        // monitoring record (the symptom ids in the clear would be health
        // data) and on the thread.
        if let (Some(phone), "named") = (&contact.phone, named.resolution) {
            for status in ["notified", "monitoring"] {
                cw.cases()
                    .patch_contact(
                        named.exposure_id,
                        &tracedesk_casework::ContactPatch {
                            status: Some(status.into()),
                            ..Default::default()
                        },
                    )
                    .await
                    .expect("into monitoring");
            }
            let answer = format!("a bad cough since {tag}");
            let got = cw
                .messages()
                .receive_text(&tracedesk_casework::messaging::InboundText {
                    from: phone.clone(),
                    to: "+12125550100".into(),
                    body: answer.clone(),
                    provider_sid: format!("SMcheckin{tag}"),
                })
                .await
                .expect("a check-in answer");
            if got.checkin.is_some() {
                answered += 1;
                needles.extend([answer, "\"symptoms\":[\"cough\"".to_string()]);
            }
        }
        // The sealed fields of case investigation: a note, the clinical
        // facts, an attempt, and a phone learned on a later match.
        let case_note = format!("case note {tag}");
        cw.cases()
            .patch_case(
                case_id,
                &CasePatch {
                    notes: Some(case_note.clone()),
                    improving: Some(true),
                    severe: Some(true),
                    ..Default::default()
                },
            )
            .await
            .expect("a note");
        let task = cw.cases().tasks_for_case(case_id).await.unwrap()[0].id;
        let attempt_note = format!("attempt note {tag}");
        cw.cases()
            .record_attempt(
                task,
                &tracedesk_casework::AttemptInput {
                    channel: Some("phone".into()),
                    outcome: Some("left_voicemail".into()),
                    note: Some(attempt_note.clone()),
                    ..Default::default()
                },
            )
            .await
            .expect("an attempt");
        let new_phone = format!("+1212{:07}", 5_000_000 + needles.len());
        let again = LabResultInput {
            phone: Some(new_phone.clone()),
            accession: Some(format!("again-{tag}")),
            result: Some("negative".into()),
            ..input.clone()
        };
        let second = cw.cases().ingest_lab_results(&[again]).await;
        assert_eq!(second[0].person_id, o.person_id, "{second:?}");
        let address = format!("household lane {tag}");
        cw.cases()
            .put_household(
                case_id,
                &tracedesk_casework::HouseholdInput {
                    address: Some(address.clone()),
                    ..Default::default()
                },
            )
            .await
            .expect("a household");
        needles.extend([
            contact.notes.clone().unwrap_or_default(),
            case_note,
            attempt_note,
            new_phone,
            address,
        ]);
        // Once: a referral's details, interview answers and a cluster's name.
        if needles.len() <= 20 {
            let details = format!("referral details {tag}");
            cw.cases()
                .refer(
                    tracedesk_casework::NoteOn::Case(case_id),
                    &tracedesk_casework::ReferralInput {
                        kind: Some("housing".into()),
                        details: Some(details.clone()),
                    },
                )
                .await
                .expect("a referral");
            let occupation = format!("occupation {tag}");
            let answers = serde_json::json!({
                "identity_confirmed": true, "symptomatic": false, "hospitalized": false,
                "congregate_setting": "none", "contacts_elicited": true,
                "occupation": occupation,
            });
            cw.cases()
                .save_interview(
                    tracedesk_casework::NoteOn::Case(case_id),
                    &tracedesk_casework::questionnaire::InterviewInput {
                        questionnaire: Some("covid19_case_interview".into()),
                        version: Some(1),
                        answers: answers.as_object().cloned().unwrap_or_default(),
                    },
                )
                .await
                .expect("interview answers");
            let cluster = format!("cluster name {tag}");
            cw.cases()
                .create_cluster(
                    &tracedesk_casework::clusters::ClusterInput {
                        name: Some(cluster.clone()),
                        setting: Some("event".into()),
                        starts: Some(today().to_string()),
                        ends: Some(today().to_string()),
                        jurisdiction: None,
                    },
                    "root",
                )
                .await
                .expect("a cluster");
            needles.extend([details, occupation, cluster]);
            // A message out, a reply in, and an opt-out: the outbox, the
            // thread and the consent registry.
            let person_id = o.person_id.expect("a positive has a person");
            let person = cw
                .cases()
                .person_ref(person_id)
                .await
                .expect("person read")
                .expect("the person");
            let body = format!("message body {tag}");
            let sent = cw
                .messages()
                .send(
                    &person,
                    "root",
                    &tracedesk_casework::messaging::SendInput {
                        body: Some(body.clone()),
                        ..Default::default()
                    },
                )
                .await
                .expect("a message queued");
            assert_eq!(sent.body, body);
            // A call (before the STOP below): its script, and a click-to-call whose
            // script holds the person's number to dial.
            let script = format!("call script {tag}");
            cw.messages()
                .send(
                    &person,
                    "root",
                    &tracedesk_casework::messaging::SendInput {
                        channel: Some("voice".into()),
                        body: Some(script.clone()),
                        ..Default::default()
                    },
                )
                .await
                .expect("a call queued");
            let task = cw.cases().tasks_for_case(case_id).await.expect("tasks")[0].id;
            cw.messages()
                .click_to_call(
                    task,
                    &person,
                    "root",
                    &tracedesk_casework::voice::CallInput {
                        phone: "+19175550199".into(),
                    },
                )
                .await
                .expect("a click-to-call queued");
            needles.push(script);
            let phone = cw
                .cases()
                .get_person(person_id)
                .await
                .expect("the person")
                .phone;
            let phone = phone.expect("a seeded person has a phone");
            let reply = format!("reply body {tag}");
            for (text, sid) in [(reply.clone(), "SMseed1"), ("STOP".to_string(), "SMseed2")] {
                cw.messages()
                    .receive_text(&tracedesk_casework::messaging::InboundText {
                        from: phone.clone(),
                        to: "+12125550100".into(),
                        body: text,
                        provider_sid: sid.into(),
                    })
                    .await
                    .expect("an inbound text");
            }
            needles.extend([body, reply, phone]);
        }
        for c in [
            &contact.first_name,
            &contact.last_name,
            &contact.email,
            &contact.phone,
        ] {
            needles.extend(c.clone());
        }
        for v in [
            &input.first_name,
            &input.email,
            &input.phone,
            &input.address,
        ] {
            needles.extend(v.clone());
        }
    }
    // Last names repeat from a short list; the unique parts are first names,
    // phones and emails. Short common surnames could appear by chance in
    // random bytes, so only needles of 6+ bytes are scanned.
    needles.retain(|s| s.len() >= 6);
    assert!(answered > 0 || n == 0, "no check-in answer was seeded");
    let first = &labs[0];
    SeededSecrets {
        needles,
        sample_phone: first.phone.clone().unwrap(),
        sample_name_dob: (
            first.first_name.clone().unwrap(),
            first.last_name.clone().unwrap(),
            first.dob.clone().unwrap(),
        ),
    }
}

/// Asserts that none of the needles occurs in `haystack` (UTF-8 bytes).
pub fn assert_no_plaintext(haystack: &[u8], needles: &[String], what: &str) {
    assert!(!haystack.is_empty(), "{what} is empty");
    let ac = aho_corasick::AhoCorasick::new(needles).expect("needles build an automaton");
    if let Some(m) = ac.find(haystack) {
        panic!(
            "plaintext PHI found in {what} at byte {} (seeded value #{}, {} bytes)",
            m.start(),
            m.pattern().as_usize(),
            m.len()
        );
    }
}

/// Asserts the seeded sample is still findable by phone and by name + DOB.
pub async fn assert_lookups(cw: &Casework, s: &SeededSecrets) {
    let p = cw
        .cases()
        .find_persons(&PersonSearch {
            phone: Some(s.sample_phone.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(p.len(), 1);
    let (f, l, d) = &s.sample_name_dob;
    let q = PersonSearch {
        first_name: Some(f.clone()),
        last_name: Some(l.clone()),
        dob: Some(d.clone()),
        ..Default::default()
    };
    let n = cw.cases().find_persons(&q).await.unwrap();
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].id, p[0].id);
    assert_eq!(n[0].first_name.as_deref(), Some(f.as_str()));
}

/// Accounts, teams, sessions, throttling, break-glass and the access facts
/// and list scopes, through the store's SQL on this backend.
pub async fn identity_and_access(f: &Fixture) {
    let cw = &f.cw;
    use tracedesk_casework::NewUser;
    use tracedesk_identity::Decision;
    use tracedesk_store::{ListScope, SessionRow};
    let store = &f.store;
    cw.staff()
        .add_jurisdiction("c-state", "State", None)
        .await
        .unwrap();
    cw.staff()
        .add_jurisdiction("c-county", "County", Some("c-state"))
        .await
        .unwrap();
    assert!(cw.jurisdictions().within("c-county", "root"));
    let mk = |name: &str, role: Role, j: &str| {
        NewUser::new(name, "Conformance Person", role, j).with_password("orbit lantern quietly 9")
    };
    let (tracer, _) = cw
        .staff()
        .add_user(mk("c-tracer", Role::Tracer, "c-county"))
        .await
        .unwrap();
    let (sup, _) = cw
        .staff()
        .add_user(mk("c-sup", Role::Supervisor, "c-state"))
        .await
        .unwrap();
    assert!(
        matches!(
            cw.staff()
                .add_user(mk("C-Tracer", Role::Tracer, "c-county"))
                .await,
            Err(CaseworkError::Conflict(_))
        ),
        "usernames are unique without case"
    );
    let row = cw
        .staff()
        .user_by_username("C-TRACER")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.id, tracer.id);
    assert!(
        cw.staff()
            .verify_password(Some(&row), "orbit lantern quietly 9")
            .await
    );
    // Failures count atomically and lock at the threshold.
    let now = Utc::now();
    for n in 1..=3 {
        assert_eq!(store.record_login_failure(row.id, now, 3).await.unwrap(), n);
    }
    assert!(
        store
            .get_user(row.id)
            .await
            .unwrap()
            .unwrap()
            .locked_at
            .is_some()
    );
    cw.staff().unlock_user("c-tracer").await.unwrap();
    assert_eq!(
        store.record_client_failure("192.0.2.1", now).await.unwrap(),
        1
    );
    assert_eq!(
        store.record_client_failure("192.0.2.1", now).await.unwrap(),
        2
    );
    assert_eq!(
        store.client_failures("192.0.2.1").await.unwrap().unwrap().0,
        2
    );
    store.clear_client_failures("192.0.2.1").await.unwrap();
    assert!(store.client_failures("192.0.2.1").await.unwrap().is_none());
    // Teams.
    let team = cw.staff().add_team("C Team", "c-state").await.unwrap();
    store
        .set_team_member(team.id, tracer.id, true)
        .await
        .unwrap();
    store.set_team_member(team.id, sup.id, true).await.unwrap();
    store.set_team_member(team.id, sup.id, true).await.unwrap();
    let mut mates = store.teammates(sup.id).await.unwrap();
    mates.sort();
    let mut want = vec![tracer.id, sup.id];
    want.sort();
    assert_eq!(mates, want);
    // Sessions.
    let s = SessionRow {
        hash: vec![9; 32],
        user_id: tracer.id,
        created_at: now,
        last_seen_at: now,
        mfa_done: false,
    };
    store.insert_session(&s).await.unwrap();
    store
        .touch_session(&s.hash, now + chrono::Duration::seconds(5))
        .await
        .unwrap();
    let got = store.session(&s.hash).await.unwrap().unwrap();
    assert!(!got.mfa_done && got.last_seen_at > got.created_at);
    assert_eq!(store.delete_user_sessions(tracer.id).await.unwrap(), 1);
    assert!(store.session(&s.hash).await.unwrap().is_none());
    // Access: a case in the county, its task assigned to the tracer.
    let mut syn = Synthetic::new(99, today());
    let mut lab = syn.positive_lab();
    lab.jurisdiction = Some("c-county".into());
    let out = &cw.cases().ingest_lab_results(&[lab]).await[0];
    let (person, case) = (out.person_id.unwrap(), out.case_id.unwrap());
    let t_principal = cw.staff().principal(&row).await.unwrap();
    let sup_row = store.get_user(sup.id).await.unwrap().unwrap();
    let s_principal = cw.staff().principal(&sup_row).await.unwrap();
    assert_eq!(s_principal.scope, ["c-county", "c-state"]);
    assert_eq!(
        cw.staff().decide(&t_principal, person).await.unwrap(),
        Decision::Deny
    );
    assert_eq!(
        cw.staff().decide(&s_principal, person).await.unwrap(),
        Decision::Allow
    );
    let task = store.tasks_for_case(case).await.unwrap()[0].clone();
    assert_eq!(task.jurisdiction, "c-county");
    store.assign_task(task.id, Some(tracer.id)).await.unwrap();
    assert_eq!(
        cw.staff().decide(&t_principal, person).await.unwrap(),
        Decision::Allow
    );
    let scoped = |scope| tracedesk_store::CaseFilter {
        limit: 500,
        scope: Some(scope),
        ..Default::default()
    };
    let mine = store
        .list_cases(&scoped(ListScope::Assignee(tracer.id)))
        .await
        .unwrap();
    assert_eq!(mine.iter().map(|c| c.id).collect::<Vec<_>>(), [case]);
    let none = store
        .list_cases(&scoped(ListScope::Within {
            jurisdictions: vec!["elsewhere".into()],
            team_members: vec![],
        }))
        .await
        .unwrap();
    assert!(none.is_empty());
    let by_team = store
        .list_cases(&scoped(ListScope::Within {
            jurisdictions: vec![],
            team_members: vec![tracer.id],
        }))
        .await
        .unwrap();
    assert_eq!(by_team.len(), 1);
    // Break-glass for a user with no entitlement.
    let (other, _) = cw
        .staff()
        .add_user(mk("c-other", Role::Tracer, "c-state"))
        .await
        .unwrap();
    let o_row = store.get_user(other.id).await.unwrap().unwrap();
    let o_principal = cw.staff().principal(&o_row).await.unwrap();
    assert_eq!(
        cw.staff().decide(&o_principal, person).await.unwrap(),
        Decision::Deny
    );
    cw.staff()
        .break_glass(&o_principal, person, "a documented, real reason")
        .await
        .unwrap();
    assert_eq!(
        cw.staff().decide(&o_principal, person).await.unwrap(),
        Decision::BreakGlass
    );
    let review = cw
        .staff()
        .break_glass_review(&s_principal, chrono::DateTime::UNIX_EPOCH)
        .await
        .unwrap();
    // On no team, but in the supervisor's jurisdiction: reviewed all the same.
    assert_eq!(
        review.len(),
        1,
        "staff on no team reach their supervisors' review"
    );
    assert_eq!(review[0].user_id, other.id);
    store
        .set_team_member(team.id, other.id, true)
        .await
        .unwrap();
    let s_principal = cw.staff().principal(&sup_row).await.unwrap();
    let review = cw
        .staff()
        .break_glass_review(&s_principal, chrono::DateTime::UNIX_EPOCH)
        .await
        .unwrap();
    assert_eq!(review[0].reason, "a documented, real reason");
}

/// Byte strings of one person's stored identity: sealed values and blind
/// indexes as they sit in the database.
pub async fn stored_bytes(store: &dyn Store, person: Uuid) -> Vec<Vec<u8>> {
    let p = store.get_person(person).await.unwrap().unwrap();
    let mut out: Vec<Vec<u8>> = [
        p.first_name,
        p.last_name,
        p.dob,
        p.phone,
        p.email,
        p.address,
        p.phone_bidx,
        p.email_bidx,
        p.name_dob_bidx,
        p.phone_name_bidx,
    ]
    .into_iter()
    .flatten()
    .collect();
    // Their households' address.
    for h in store.households_of_person(person).await.unwrap() {
        out.extend(h.address);
    }
    // Facts learned later, and the entries of their case work.
    for p in store.person_points(person).await.unwrap() {
        out.push(p.bidx);
        out.extend(p.value);
    }
    for e in store
        .entries(tracedesk_store::EntryOwner::Person(person), None)
        .await
        .unwrap()
    {
        out.push(e.body);
    }
    // Their messages: address and body.
    for m in store.person_messages(person, None, 500).await.unwrap() {
        out.extend([m.address, m.body]);
    }
    // What their check-in answers said.
    for r in store.person_monitoring(person).await.unwrap() {
        out.extend(r.last_report);
    }
    // What other jurisdictions recorded of them.
    for id in store.facet_ids(&[person]).await.unwrap().values() {
        let f = store.get_facet(*id).await.unwrap().unwrap();
        out.extend(
            [
                f.first_name,
                f.last_name,
                f.dob,
                f.phone,
                f.email,
                f.address,
            ]
            .into_iter()
            .flatten(),
        );
    }
    out
}

/// Purges (a dry run with `dry`) under `policy`, or sunsets with `None`,
/// as `tracedesk purge` does.
pub async fn purge(
    cw: &Casework,
    policy: Option<tracedesk_casework::retention::RetentionPolicy>,
    dry: bool,
) -> tracedesk_casework::retention::PurgeReport {
    cw.retention()
        .purge(policy, dry, "test", |_| {})
        .await
        .expect("the purge runs")
}

/// Asserts that none of the byte strings occurs in `haystack`.
pub fn assert_absent(haystack: &[u8], needles: &[Vec<u8>], what: &str) {
    assert!(!haystack.is_empty(), "{what} is empty");
    let ac = aho_corasick::AhoCorasick::new(needles).expect("needles build an automaton");
    if let Some(m) = ac.find(haystack) {
        panic!(
            "purged bytes found in {what} at byte {} (needle #{}, {} bytes)",
            m.start(),
            m.pattern().as_usize(),
            m.len()
        );
    }
}

/// Seeds `n` cases (each with a contact), closes every other case, and
/// returns (closed case persons, open case persons).
pub async fn seed_for_retention(cw: &Casework, n: usize) -> (Vec<Uuid>, Vec<Uuid>) {
    let mut syn = Synthetic::new(77, today());
    let labs: Vec<LabResultInput> = (0..n).map(|_| syn.positive_lab()).collect();
    let out = cw.cases().ingest_lab_results(&labs).await;
    let (mut closed, mut open) = (Vec::new(), Vec::new());
    for (i, o) in out.iter().enumerate() {
        let case = o.case_id.expect("a case");
        let contact = syn.contact(today() - chrono::Duration::days(2));
        cw.cases()
            .add_contact(case, &contact)
            .await
            .expect("contact");
        // A phone learned later, a note, clinical facts and the household's
        // address: purged too.
        cw.cases()
            .put_household(
                case,
                &tracedesk_casework::HouseholdInput {
                    address: Some(format!("retention lane {i}")),
                    ..Default::default()
                },
            )
            .await
            .expect("a household");
        let again = LabResultInput {
            phone: Some(format!("+1917{:07}", 5_000_000 + i)),
            accession: Some(format!("retention-again-{i}")),
            result: Some("negative".into()),
            ..labs[i].clone()
        };
        cw.cases().ingest_lab_results(&[again]).await;
        cw.cases()
            .patch_case(
                case,
                &CasePatch {
                    notes: Some(format!("retention note {i}")),
                    severe: Some(true),
                    ..Default::default()
                },
            )
            .await
            .expect("a note");
        // A message to them: its sealed address and body are purged too.
        let person_id = o.person_id.expect("a person");
        let person = cw
            .cases()
            .person_ref(person_id)
            .await
            .expect("person read")
            .expect("the person");
        cw.messages()
            .send(
                &person,
                "root",
                &tracedesk_casework::messaging::SendInput {
                    body: Some(format!("retention message {i}")),
                    ..Default::default()
                },
            )
            .await
            .expect("a message");
        if i % 2 == 0 {
            cw.cases()
                .patch_case(
                    case,
                    &CasePatch {
                        status: Some("closed".into()),
                        ..Default::default()
                    },
                )
                .await
                .expect("close");
            closed.push(o.person_id.unwrap());
        } else {
            open.push(o.person_id.unwrap());
        }
    }
    (closed, open)
}

/// Every list read is a union of pages, never a walk of a table: its plan
/// reads through indexes only (for every role's scope, with and without a
/// status filter, first page and deep page), and the merged pages give the
/// same rows, in the same order, as the access rule applied row by row.
pub async fn list_reads_read_pages_not_tables(f: &Fixture) {
    let (store, cw) = (f.store.clone(), &f.cw);
    use tracedesk_store::{CaseFilter, ExposureFilter, ListQuery, ListScope, TaskFilter, TaskRow};
    for (code, parent) in [("l-north", "root"), ("l-south", "root"), ("l-east", "root")] {
        cw.staff()
            .add_jurisdiction(code, code, Some(parent))
            .await
            .unwrap();
    }
    let mut syn = Synthetic::new(41, today());
    let mut ids = std::collections::HashMap::new();
    for (i, j) in ["l-north", "l-south", "l-east"]
        .iter()
        .cycle()
        .take(15)
        .enumerate()
    {
        let mut input = syn.positive_lab();
        input.jurisdiction = Some((*j).into());
        input.accession = Some(format!("L-{i}"));
        let out = cw.cases().ingest_lab_results(&[input]).await;
        ids.insert(out[0].case_id.unwrap(), *j);
    }
    // A tracer in l-north holds one l-east case's interview.
    let tracer = add_tracer(cw, "list-tracer", "l-north").await;
    let east: Vec<Uuid> = ids
        .iter()
        .filter(|(_, j)| **j == "l-east")
        .map(|(c, _)| *c)
        .collect();
    let held_case = *east.iter().max().unwrap();
    let task: TaskRow = first_task(cw, held_case).await;
    store.assign_task(task.id, Some(tracer)).await.unwrap();

    // The county supervisor sees l-north and what their team holds.
    let county = ListScope::Within {
        jurisdictions: vec!["l-north".into()],
        team_members: vec![tracer],
    };
    let mut expected: Vec<Uuid> = ids
        .iter()
        .filter(|(c, j)| **j == "l-north" || **c == held_case)
        .map(|(c, _)| *c)
        .collect();
    expected.sort_unstable_by(|a, b| b.cmp(a));
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = store
            .list_cases(&CaseFilter {
                before,
                limit: 2,
                scope: Some(county.clone()),
                ..Default::default()
            })
            .await
            .unwrap();
        seen.extend(page.iter().map(|c| c.id));
        match page.last() {
            Some(last) if page.len() == 2 => before = Some(last.id),
            _ => break,
        }
    }
    assert_eq!(seen, expected, "merged pages follow the rule, newest first");
    let tracer_sees = store
        .list_cases(&CaseFilter {
            limit: 50,
            scope: Some(ListScope::Assignee(tracer)),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        tracer_sees.iter().map(|c| c.id).collect::<Vec<_>>(),
        [held_case]
    );
    let tasks = store
        .list_tasks(&TaskFilter {
            assignee: tracer,
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    // The interview, and the investigation its assignment made them hold.
    assert_eq!(tasks.len(), 2);
    assert!(tasks.iter().any(|t| t.id == task.id));
    assert!(
        tasks
            .iter()
            .any(|t| t.kind == "investigation" && t.case_id == Some(held_case)),
        "assigning the interview makes the tracer the case's investigator"
    );

    let root = ListScope::Within {
        jurisdictions: ["root", "l-north", "l-south", "l-east"]
            .map(String::from)
            .to_vec(),
        team_members: vec![tracer, Uuid::now_v7()],
    };
    let analyst = ListScope::Within {
        jurisdictions: vec!["l-north".into(), "l-south".into()],
        team_members: Vec::new(),
    };
    let scopes = [
        ("root supervisor", root),
        ("county supervisor", county),
        ("analyst", analyst),
        ("tracer", ListScope::Assignee(tracer)),
    ];
    let deep = Some(Uuid::now_v7());
    let mut checked = 0;
    for (who, scope) in scopes.iter().map(|(w, s)| (w, Some(s.clone()))) {
        for status in [None, Some("new".to_string())] {
            for before in [None, deep] {
                let lists = [
                    ListQuery::Cases(CaseFilter {
                        status: status.clone(),
                        before,
                        limit: 50,
                        scope: scope.clone(),
                        ..Default::default()
                    }),
                    ListQuery::Exposures(ExposureFilter {
                        contact_case_id: None,
                        status: status.clone().map(|_| "named".to_string()),
                        before,
                        limit: 50,
                        scope: scope.clone(),
                        ..Default::default()
                    }),
                    ListQuery::Cases(CaseFilter {
                        person_id: Some(Uuid::now_v7()),
                        before,
                        limit: 50,
                        scope: scope.clone(),
                        ..Default::default()
                    }),
                    ListQuery::Exposures(ExposureFilter {
                        contact_case_id: None,
                        case_id: Some(held_case),
                        before,
                        limit: 50,
                        scope: scope.clone(),
                        ..Default::default()
                    }),
                    ListQuery::Tasks(TaskFilter {
                        assignee: tracer,
                        status: status.clone().map(|_| "assigned".to_string()),
                        before,
                        limit: 50,
                    }),
                ];
                for list in &lists {
                    let plan = store.explain_list(list).await.unwrap();
                    assert!(!plan.lines.is_empty(), "a plan was read");
                    assert!(
                        plan.full_scans.is_empty(),
                        "{who}, {list:?}: reads a whole table or index: {:?}\nplan:\n{}",
                        plan.full_scans,
                        plan.lines.join("\n")
                    );
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 4 * 2 * 2 * 5);
}

/// A contact named on a case, as the tracer types it.
fn contact(first: &str, last: &str, dob: &str, dates: &[NaiveDate]) -> ContactInput {
    ContactInput {
        first_name: Some(first.into()),
        last_name: Some(last.into()),
        dob: Some(dob.into()),
        exposure_dates: dates.iter().map(ToString::to_string).collect(),
        ..Default::default()
    }
}

fn days_ago(n: u64) -> NaiveDate {
    today() - chrono::Days::new(n)
}

/// Closes a case.
async fn close(cw: &Casework, case: Uuid) {
    let patch = CasePatch {
        status: Some("closed".into()),
        ..Default::default()
    };
    cw.cases().patch_case(case, &patch).await.unwrap();
}

/// A positive result for a new person: (their case, their id).
async fn positive(cw: &Casework, first: &str, last: &str, dob: &str, acc: &str) -> (Uuid, Uuid) {
    let out = cw
        .cases()
        .ingest_lab_results(&[lab(first, last, Some(dob), None, acc, "positive")])
        .await;
    (out[0].case_id.unwrap(), out[0].person_id.unwrap())
}

/// Case A names Rui, who then tests positive: (A, the naming, what the
/// positive came to).
async fn converted_pair(
    cw: &Casework,
    tag: &str,
) -> (
    Uuid,
    tracedesk_casework::ContactOutcome,
    tracedesk_casework::LabOutcomeView,
) {
    let (a, _) = positive(cw, "Ana", "Lima", "1980-01-02", &format!("{tag}-1")).await;
    let named = cw
        .cases()
        .add_contact(a, &contact("Rui", "Costa", "1990-05-06", &[days_ago(4)]))
        .await
        .unwrap();
    let converted = cw
        .cases()
        .ingest_lab_results(&[lab(
            "Rui",
            "Costa",
            Some("1990-05-06"),
            None,
            &format!("{tag}-2"),
            "positive",
        )])
        .await
        .remove(0);
    (a, named, converted)
}

/// Naming checks what the store knows: the case's own person is refused
/// (nothing written), a repeat — in one batch or across batches — merges
/// into one record with the dates united and one task, and an open case
/// named as a contact is linked with no quarantine and no task.
pub async fn naming_merges_refuses_and_links(f: &Fixture) {
    let cw = &f.cw;
    let out = cw
        .cases()
        .ingest_lab_results(&[
            lab("Ana", "Lima", Some("1980-01-02"), None, "NM-1", "positive"),
            lab("Bea", "Sousa", Some("1981-01-02"), None, "NM-2", "positive"),
        ])
        .await;
    let (a, b) = (out[0].case_id.unwrap(), out[1].case_id.unwrap());
    let before = f.store.counts().await.unwrap();
    let own = cw
        .cases()
        .add_contact(a, &contact("Ana", "Lima", "1980-01-02", &[days_ago(1)]))
        .await;
    assert!(matches!(own, Err(CaseworkError::Invalid(_))), "{own:?}");
    let after = f.store.counts().await.unwrap();
    assert_eq!(
        (after.exposures, after.tasks),
        (before.exposures, before.tasks)
    );

    let rui = |d: NaiveDate| contact("Rui", "Costa", "1990-05-06", &[d]);
    let batch = cw
        .cases()
        .add_contacts(&[(a, rui(days_ago(5))), (a, rui(days_ago(2)))])
        .await;
    let first = batch[0].as_ref().unwrap();
    let again = batch[1].as_ref().unwrap();
    assert_eq!(first.resolution, "named");
    assert_eq!(again.resolution, "merged");
    assert_eq!(again.exposure_id, first.exposure_id);
    let later = cw.cases().add_contact(a, &rui(days_ago(1))).await.unwrap();
    assert_eq!(later.resolution, "merged");
    assert_eq!(later.exposure_id, first.exposure_id);
    let e = f
        .store
        .get_exposure(first.exposure_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (e.first_exposure, e.last_exposure),
        (days_ago(5), days_ago(1))
    );
    assert_eq!(e.quarantine_end, days_ago(1) + chrono::Days::new(14));
    let tasks = f.store.tasks_for_case(a).await.unwrap();
    assert_eq!(
        tasks.iter().filter(|t| t.exposure_id == Some(e.id)).count(),
        1
    );

    let linked = cw
        .cases()
        .add_contact(a, &contact("Bea", "Sousa", "1981-01-02", &[days_ago(3)]))
        .await
        .unwrap();
    assert_eq!(linked.resolution, "already_a_case");
    assert_eq!(linked.contact_case_id, Some(b));
    assert!(linked.task_id.is_none());
    let row = f
        .store
        .get_exposure(linked.exposure_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "already_a_case");
    assert_eq!(row.quarantine_end, days_ago(3));
}

/// Intake keeps what it learns and decides by the rules: a positive for
/// someone under follow-up converts their record (linked, task canceled); a
/// positive within 90 days of a prior case's specimen joins it (closed or
/// not), later opens a new one; accessions are one per lab, trimmed and
/// case-insensitive, and a disagreeing repeat is a conflict kept for
/// review; a new phone on a match finds the person; a missing date of
/// birth is filled in.
pub async fn intake_converts_and_keeps_facts(f: &Fixture) {
    let cw = &f.cw;
    let (_, named, converted) = converted_pair(cw, "IC").await;
    let b = converted.case_id.unwrap();
    assert!(converted.case_created);
    assert_eq!(converted.converted, [named.exposure_id]);
    let e = f
        .store
        .get_exposure(named.exposure_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (e.status.as_str(), e.contact_case_id),
        ("converted", Some(b))
    );
    let t = f
        .store
        .get_task(named.task_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.status, "canceled");

    // Reinfection: 40 days after a closed case's specimen, the same case;
    // 106 days after, a new one.
    let at = |acc: &str, spec: NaiveDate| LabResultInput {
        specimen_date: Some(spec.to_string()),
        ..lab("Zoe", "Adler", Some("1970-07-08"), None, acc, "positive")
    };
    let first = cw
        .cases()
        .ingest_lab_results(&[at("RI-1", days_ago(110))])
        .await;
    let z = first[0].case_id.unwrap();
    close(cw, z).await;
    let same = cw
        .cases()
        .ingest_lab_results(&[at("RI-2", days_ago(70))])
        .await;
    assert_eq!((same[0].case_id, same[0].case_created), (Some(z), false));
    let new = cw
        .cases()
        .ingest_lab_results(&[at("RI-3", days_ago(4))])
        .await;
    assert!(new[0].case_created);
    assert_ne!(new[0].case_id, Some(z));
    assert_eq!(
        f.store.get_case(z).await.unwrap().unwrap().specimen_date,
        days_ago(110),
        "joining a case does not reset its dates"
    );

    // Accessions.
    let acc = |acc: &str, lab_name: &str, result: &str| LabResultInput {
        lab: Some(lab_name.into()),
        ..lab("Eva", "Mota", Some("1985-03-04"), None, acc, result)
    };
    let outs = cw
        .cases()
        .ingest_lab_results(&[
            acc("acc-9", "Lab A", "negative"),
            acc(" ACC-9 ", "lab  a", "negative"),
            acc("ACC-9", "Lab B", "negative"),
        ])
        .await;
    let statuses: Vec<&str> = outs.iter().map(|o| o.status).collect();
    assert_eq!(statuses, ["recorded", "duplicate", "recorded"]);
    let conflict = cw
        .cases()
        .ingest_lab_results(&[acc("Acc-9", "LAB A", "positive")])
        .await;
    assert_eq!(conflict[0].status, "conflict", "{conflict:?}");
    let eva = outs[0].person_id.unwrap();
    let kept = f
        .store
        .entries(
            tracedesk_store::EntryOwner::Person(eva),
            Some("accession_conflict"),
        )
        .await
        .unwrap();
    assert_eq!(kept.len(), 1);

    // A new phone on a match, and a date of birth filled in.
    let with_phone = |phone: &str, acc: &str, dob: Option<&str>| {
        lab("Caio", "Reis", dob, Some(phone), acc, "negative")
    };
    let p = cw
        .cases()
        .ingest_lab_results(&[with_phone("+12125550141", "PH-1", None)])
        .await[0]
        .person_id
        .unwrap();
    let again = cw
        .cases()
        .ingest_lab_results(&[with_phone("+12125550141", "PH-2", Some("1991-02-03"))])
        .await;
    assert_eq!(again[0].person_id, Some(p));
    let moved = cw
        .cases()
        .ingest_lab_results(&[with_phone("+12125550142", "PH-3", Some("1991-02-03"))])
        .await;
    assert_eq!(
        moved[0].person_id,
        Some(p),
        "matched by name and birth date"
    );
    let found = cw
        .cases()
        .find_persons(&PersonSearch {
            phone: Some("+12125550142".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.iter().map(|v| v.id).collect::<Vec<_>>(), [p]);
    let history = cw.cases().person_points(p, None).await.unwrap();
    let kinds: Vec<(&str, &str)> = history.iter().map(|h| (h.kind, h.value.as_str())).collect();
    assert_eq!(kinds, [("dob", "1991-02-03"), ("phone", "+12125550142")]);
}

/// The investigator holds the case from the interview's assignment while
/// it is open: after reassignment the old one holds nothing; a closed case
/// has none. Monitoring ends by itself once quarantine is over.
pub async fn investigators_hold_cases_and_monitoring_ends(f: &Fixture) {
    use tracedesk_identity::access::Decision;
    use tracedesk_store::ListScope;
    let cw = &f.cw;
    let t1 = add_tracer(cw, "inv-1", "root").await;
    let t2 = add_tracer(cw, "inv-2", "root").await;
    let (case, person) = positive(cw, "Ana", "Lima", "1980-01-02", "IH-1").await;
    let interview = first_task(cw, case).await;
    f.store.assign_task(interview.id, Some(t1)).await.unwrap();
    assert_eq!(cw.cases().investigator(case).await.unwrap(), Some(t1));
    let scoped = |u: Uuid| tracedesk_store::CaseFilter {
        limit: 50,
        scope: Some(ListScope::Assignee(u)),
        ..Default::default()
    };
    assert_eq!(
        f.store.list_cases(&scoped(t1)).await.unwrap().len(),
        1,
        "one case, however many tasks hold it"
    );
    let decide = |u: Uuid| async move {
        let user = f.store.get_user(u).await.unwrap().unwrap();
        let p = cw.staff().principal(&user).await.unwrap();
        cw.staff().decide(&p, person).await.unwrap()
    };
    cw.cases().set_investigator(case, Some(t2)).await.unwrap();
    assert_eq!(cw.cases().investigator(case).await.unwrap(), Some(t2));
    assert_eq!(decide(t1).await, Decision::Deny, "the interview went too");
    assert_eq!(decide(t2).await, Decision::Allow);
    assert!(f.store.list_cases(&scoped(t1)).await.unwrap().is_empty());
    close(cw, case).await;
    assert_eq!(cw.cases().investigator(case).await.unwrap(), None);
    assert_eq!(decide(t2).await, Decision::Deny);

    // Monitoring ends with quarantine.
    let (b, _) = positive(cw, "Bea", "Sousa", "1981-01-02", "IH-2").await;
    let old = cw
        .cases()
        .add_contact(
            b,
            &contact("Old", "Exposure", "1970-01-01", &[days_ago(20)]),
        )
        .await
        .unwrap();
    let fresh = cw
        .cases()
        .add_contact(b, &contact("New", "Exposure", "1971-01-01", &[days_ago(2)]))
        .await
        .unwrap();
    for e in [old.exposure_id, fresh.exposure_id] {
        for s in ["notified", "monitoring"] {
            cw.cases().set_contact_status(e, s).await.unwrap();
        }
    }
    let ended = cw.cases().end_monitoring().await.unwrap();
    assert_eq!(ended, [old.exposure_id]);
    let status = |id| async move { f.store.get_exposure(id).await.unwrap().unwrap().status };
    assert_eq!(status(old.exposure_id).await, "completed");
    assert_eq!(status(fresh.exposure_id).await, "monitoring");
}

/// A contact names their own contacts when `contact_depth` reaches that far
/// (refused at the default 1); a household groups the case with contacts
/// who live with it, whose ongoing exposure quarantines them from the
/// case's isolation end.
pub async fn contacts_of_contacts_and_households(f: &Fixture) {
    let deep = Casework::new(
        f.store.clone(),
        f.vault.clone(),
        Settings {
            contact_depth: 2,
            ..Settings::default()
        },
    )
    .with_clock(Arc::new(|| {
        Utc.with_ymd_and_hms(2026, 11, 20, 15, 0, 0).unwrap()
    }));
    let out = deep
        .cases()
        .ingest_lab_results(&[lab(
            "Ana",
            "Lima",
            Some("1980-01-02"),
            None,
            "CC-1",
            "positive",
        )])
        .await;
    let a = out[0].case_id.unwrap();
    let b = deep
        .cases()
        .add_contact(a, &contact("Rui", "Costa", "1990-05-06", &[days_ago(3)]))
        .await
        .unwrap();
    let refused =
        f.cw.cases()
            .add_contacts_of(
                b.exposure_id,
                &[contact("Ivo", "Nunes", "1992-01-01", &[days_ago(1)])],
            )
            .await;
    assert!(
        matches!(refused, Err(CaseworkError::Conflict(_))),
        "{refused:?}"
    );
    let named = deep
        .cases()
        .add_contacts_of(
            b.exposure_id,
            &[
                contact("Ivo", "Nunes", "1992-01-01", &[days_ago(1)]),
                contact("Rui", "Costa", "1990-05-06", &[days_ago(1)]),
            ],
        )
        .await
        .unwrap();
    let c = named[0].as_ref().unwrap();
    assert!(c.task_id.is_some());
    assert!(
        matches!(named[1], Err(CaseworkError::Invalid(_))),
        "the naming contact is not their own contact: {:?}",
        named[1]
    );
    let row = f.store.get_exposure(c.exposure_id).await.unwrap().unwrap();
    assert_eq!(
        (row.case_id, row.source_exposure_id, row.depth),
        (a, Some(b.exposure_id), 2)
    );
    assert_eq!(row.quarantine_end, days_ago(1) + chrono::Days::new(14));
    let deeper = deep
        .cases()
        .add_contacts_of(
            c.exposure_id,
            &[contact("Lia", "Dias", "1993-01-01", &[days_ago(0)])],
        )
        .await;
    assert!(
        matches!(deeper, Err(CaseworkError::Conflict(_))),
        "{deeper:?}"
    );

    // The household.
    let (other, _) = positive(&deep, "Bea", "Sousa", "1981-01-02", "CC-2").await;
    let bad = deep
        .cases()
        .put_household(
            other,
            &tracedesk_casework::HouseholdInput {
                contact_ids: vec![b.exposure_id],
                ..Default::default()
            },
        )
        .await;
    assert!(matches!(bad, Err(CaseworkError::Invalid(_))), "{bad:?}");
    let h = deep
        .cases()
        .put_household(
            a,
            &tracedesk_casework::HouseholdInput {
                address: Some("12 Household Lane".into()),
                contact_ids: vec![b.exposure_id],
                ongoing_exposure: Some(true),
            },
        )
        .await
        .unwrap();
    assert_eq!(h.members.len(), 2);
    assert_eq!(h.address.as_deref(), Some("12 Household Lane"));
    let case = f.store.get_case(a).await.unwrap().unwrap();
    let e = f.store.get_exposure(b.exposure_id).await.unwrap().unwrap();
    assert_eq!((e.setting.as_str(), e.ongoing), ("household", true));
    assert_eq!(e.quarantine_end, case.isolation_end + chrono::Days::new(14));
    assert_eq!(
        deep.cases().households_of(b.person, None).await.unwrap(),
        [(h.id, a)]
    );
    let again = deep
        .cases()
        .put_household(a, &tracedesk_casework::HouseholdInput::default())
        .await
        .unwrap();
    assert_eq!((again.id, again.members.len()), (h.id, 2), "members stay");
    assert_eq!(again.address.as_deref(), Some("12 Household Lane"));
}

/// A case transferred to another jurisdiction takes its contact records,
/// results and entries along; its unfinished tasks are canceled and made
/// anew there; the receiving jurisdiction gets a facet of each person
/// whose home it is not.
pub async fn transferred_cases_move_whole(f: &Fixture) {
    let cw = &f.cw;
    for code in ["t-a", "t-b"] {
        cw.staff()
            .add_jurisdiction(code, code, Some("root"))
            .await
            .unwrap();
    }
    let out = cw
        .cases()
        .ingest_lab_results(&[LabResultInput {
            jurisdiction: Some("t-a".into()),
            ..lab("Ana", "Lima", Some("1980-01-02"), None, "TR-1", "positive")
        }])
        .await;
    let (case, person) = (out[0].case_id.unwrap(), out[0].person_id.unwrap());
    let named = cw
        .cases()
        .add_contact(case, &contact("Rui", "Costa", "1990-05-06", &[days_ago(2)]))
        .await
        .unwrap();
    cw.cases()
        .patch_case(
            case,
            &CasePatch {
                notes: Some("moving".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let before = f.store.tasks_for_case(case).await.unwrap();
    let t = cw.cases().transfer_case(case, "t-b").await.unwrap();
    assert_eq!((t.contacts, t.tasks), (1, before.len()));
    let c = f.store.get_case(case).await.unwrap().unwrap();
    assert_eq!(c.jurisdiction, "t-b");
    let facet = c.shown_person_id.expect("t-b knows the person by a facet");
    let fr = f.store.get_facet(facet).await.unwrap().unwrap();
    assert_eq!((fr.person_id, fr.jurisdiction.as_str()), (person, "t-b"));
    let view = cw.cases().facet_view(&fr).unwrap();
    assert_eq!(view.first_name.as_deref(), Some("Ana"));
    let e = f
        .store
        .get_exposure(named.exposure_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e.jurisdiction, "t-b");
    assert!(e.shown_person_id.is_some());
    let labs = f.store.lab_results_for_person(person).await.unwrap();
    assert!(labs.iter().all(|l| l.jurisdiction == "t-b"));
    let notes = f
        .store
        .entries(tracedesk_store::EntryOwner::Case(case), None)
        .await
        .unwrap();
    assert!(notes.iter().all(|n| n.jurisdiction == "t-b"));
    let after = f.store.tasks_for_case(case).await.unwrap();
    for old in &before {
        let now = after.iter().find(|t| t.id == old.id).unwrap();
        assert_eq!(now.status, "canceled");
    }
    let fresh: Vec<_> = after.iter().filter(|t| t.jurisdiction == "t-b").collect();
    assert_eq!(fresh.len(), before.len());
    assert!(fresh.iter().all(|t| t.status == "pending"));
    assert!(matches!(
        cw.cases().transfer_case(case, "t-b").await,
        Err(CaseworkError::Invalid(_))
    ));
}

/// Clusters keep their name sealed and their members once each; the graph
/// joins member cases by transmission and member contacts by naming.
pub async fn clusters_hold_members_once(f: &Fixture) {
    use tracedesk_store::ClusterMember;
    let cw = &f.cw;
    let (a, named, converted) = converted_pair(cw, "CM").await;
    let b = converted.case_id.unwrap();
    let c = cw
        .cases()
        .create_cluster(
            &tracedesk_casework::clusters::ClusterInput {
                name: Some("Harbour office party".into()),
                setting: Some("event".into()),
                starts: Some(days_ago(6).to_string()),
                ends: Some(days_ago(5).to_string()),
                jurisdiction: None,
            },
            "root",
        )
        .await
        .unwrap();
    let row = cw.cases().cluster_row(c.id).await.unwrap().unwrap();
    assert!(!String::from_utf8_lossy(&row.name).contains("Harbour"));
    for m in [
        ClusterMember::Case(a),
        ClusterMember::Case(b),
        ClusterMember::Case(a),
        ClusterMember::Exposure(named.exposure_id),
    ] {
        let m = cw.cases().member_row(m).await.unwrap().unwrap();
        cw.cases().add_cluster_member(&row, &m).await.unwrap();
    }
    let (members, edges) = cw.cases().cluster_graph(c.id).await.unwrap();
    assert_eq!(members.len(), 3, "each member once");
    assert!(
        edges
            .iter()
            .any(|e| e.kind == "transmission" && e.from == a && e.to == b)
    );
    assert!(
        edges
            .iter()
            .any(|e| e.kind == "named" && e.to == named.exposure_id)
    );
    assert_eq!(
        cw.cases().list_clusters(&["root".into()]).await.unwrap()[0].name,
        "Harbour office party"
    );
}

/// The epidemic curve: cases by specimen date, counted per day within the
/// jurisdictions asked for only, from the day asked; none asked, none
/// counted.
pub async fn the_case_curve_counts_by_day_within_scope(f: &Fixture) {
    let cw = &f.cw;
    for code in ["curve-a", "curve-b"] {
        cw.staff()
            .add_jurisdiction(code, code, Some("root"))
            .await
            .unwrap();
    }
    let day = |d: &str| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
    let inputs: Vec<LabResultInput> = [
        ("Ada", "2026-11-10", "curve-a"),
        ("Bea", "2026-11-10", "curve-a"),
        ("Cai", "2026-11-12", "curve-a"),
        ("Dov", "2026-11-12", "curve-b"),
        ("Eli", "2026-11-01", "curve-a"),
    ]
    .iter()
    .enumerate()
    .map(|(i, (first, specimen, j))| LabResultInput {
        specimen_date: Some((*specimen).into()),
        jurisdiction: Some((*j).into()),
        ..lab(
            first,
            "Curve",
            Some(&format!("1980-01-1{i}")),
            None,
            &format!("CURVE-{i}"),
            "positive",
        )
    })
    .collect();
    let out = cw.cases().ingest_lab_results(&inputs).await;
    assert!(out.iter().all(|o| o.case_created), "{out:?}");
    let a = vec!["curve-a".to_string()];
    let curve = f.store.case_curve(&a, day("2026-11-05")).await.unwrap();
    assert_eq!(
        curve,
        vec![(day("2026-11-10"), 2), (day("2026-11-12"), 1)],
        "curve-a from the 5th"
    );
    let both = vec!["curve-a".to_string(), "curve-b".to_string()];
    let curve = f.store.case_curve(&both, day("2026-11-01")).await.unwrap();
    assert_eq!(
        curve,
        vec![
            (day("2026-11-01"), 1),
            (day("2026-11-10"), 2),
            (day("2026-11-12"), 2)
        ]
    );
    assert!(
        f.store
            .case_curve(&[], day("2026-11-01"))
            .await
            .unwrap()
            .is_empty()
    );
}

/// The CDC indicators' counts: cases reported since a time within the
/// jurisdictions asked for (by time-ordered id), a case moved on to
/// isolating counted interviewed on time, a milestone kept once however
/// often it is reached, a late one counted as interviewed but not on time;
/// none asked, none counted; nothing made after, nothing counted. And the
/// transmission links the floor draws, by the same scope and time.
pub async fn milestones_count_once_toward_the_indicators(f: &Fixture) {
    use tracedesk_store::Milestone;
    let cw = &f.cw;
    for code in ["ind-a", "ind-b"] {
        cw.staff()
            .add_jurisdiction(code, code, Some("root"))
            .await
            .unwrap();
    }
    // The fixture's clock is fixed in the past; ids are minted now, so
    // both fall after this.
    let since = Utc.with_ymd_and_hms(2026, 11, 20, 14, 59, 0).unwrap();
    let inputs: Vec<LabResultInput> = ["ind-a", "ind-a", "ind-a", "ind-b"]
        .iter()
        .enumerate()
        .map(|(i, j)| LabResultInput {
            jurisdiction: Some((*j).into()),
            ..lab(
                &format!("Ind{i}"),
                "Icator",
                Some(&format!("1981-02-1{i}")),
                None,
                &format!("IND-{i}"),
                "positive",
            )
        })
        .collect();
    let out = cw.cases().ingest_lab_results(&inputs).await;
    assert!(out.iter().all(|o| o.case_created), "{out:?}");
    let case = |i: usize| out[i].case_id.unwrap();
    let patch = tracedesk_casework::CasePatch {
        status: Some("isolating".into()),
        ..Default::default()
    };
    cw.cases().patch_case(case(0), &patch).await.unwrap();
    let row = f.store.get_case(case(0)).await.unwrap().unwrap();
    // Reached again later: still the first, on-time milestone.
    let again = Milestone::new(
        Milestone::CASE_INTERVIEWED,
        case(0),
        "ind-a",
        row.created_at,
        row.created_at + chrono::Duration::hours(30),
    );
    f.store.add_milestone(&again).await.unwrap();
    let late_row = f.store.get_case(case(2)).await.unwrap().unwrap();
    let late = Milestone::new(
        Milestone::CASE_INTERVIEWED,
        case(2),
        "ind-a",
        late_row.created_at,
        late_row.created_at + chrono::Duration::hours(25),
    );
    assert!(!late.on_time);
    f.store.add_milestone(&late).await.unwrap();

    let a = vec!["ind-a".to_string()];
    let now = chrono::Utc::now();
    let c = f.store.indicator_counts(&a, since, now).await.unwrap();
    assert_eq!(
        (c.cases, c.interviewed, c.interviewed_on_time),
        (3, 2, 1),
        "{c:?}"
    );
    assert_eq!((c.contacts, c.notified_on_time, c.monitored), (0, 0, 0));
    let b = vec!["ind-b".to_string()];
    let c = f.store.indicator_counts(&b, since, now).await.unwrap();
    assert_eq!((c.cases, c.interviewed), (1, 0), "{c:?}");
    let c = f
        .store
        .indicator_counts(&a, now + chrono::Duration::minutes(1), now)
        .await
        .unwrap();
    assert_eq!(
        (c.cases, c.interviewed),
        (0, 0),
        "nothing made after: {c:?}"
    );
    assert_eq!(
        f.store.indicator_counts(&[], since, now).await.unwrap(),
        tracedesk_store::IndicatorCounts::default()
    );

    // Transmission links: the case that named a contact who became a
    // case, within the jurisdictions asked for only.
    let (named_by, _, converted) = converted_pair(cw, "IND-LINK").await;
    let became = converted.case_id.unwrap();
    let root = vec!["root".to_string()];
    let links = f.store.transmission_links(&root, since, 100).await.unwrap();
    assert_eq!(links, vec![(named_by, became)]);
    assert!(
        f.store
            .transmission_links(&a, since, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        f.store
            .transmission_links(&root, now + chrono::Duration::minutes(1), 100)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Lab reports that could not be recorded are kept sealed, listed oldest
/// first (page by page), opened whole, marked when replayed, and purged
/// once the lab results' retention period has passed.
pub async fn dead_letters_are_kept_replayed_and_purged(f: &Fixture) {
    use tracedesk_casework::retention::RetentionPolicy;
    let cases = f.cw.cases();
    let body = "MSH|^~\\&|LAB|L|ELR|DOH|20261101||ORU^R01|C1|P|2.5.1\rPID|1||||Deadletter^Secretname||19990101\r";
    let a = cases
        .keep_dead_letter(
            "mllp",
            "AE",
            "PID-7: the date of birth is not a calendar date",
            body,
        )
        .await
        .unwrap();
    let b = cases
        .keep_dead_letter("file", "AR", "MSH-9.1: only ORU messages", "MSH|^~\\&|B\r")
        .await
        .unwrap();
    let list = cases.dead_letters(false, None, 10).await.unwrap();
    assert_eq!(list.iter().map(|d| d.id).collect::<Vec<_>>(), [a, b]);
    assert_eq!(
        (list[0].source.as_str(), list[0].ack_code.as_str()),
        ("mllp", "AE")
    );
    assert!(list[0].reason.starts_with("PID-7"));
    let next = cases.dead_letters(false, Some(a), 10).await.unwrap();
    assert_eq!(next.iter().map(|d| d.id).collect::<Vec<_>>(), [b]);
    let (d, text) = cases.open_dead_letter(a).await.unwrap();
    assert_eq!((d.id, text.as_str()), (a, body));
    // Sealed at rest.
    let row = f.store.get_dead_letter(a).await.unwrap().unwrap();
    assert!(
        !row.message.windows(10).any(|w| w == b"Deadletter"),
        "the message is stored in the clear"
    );
    cases.dead_letter_replayed(a, "AA").await.unwrap();
    let open = cases.dead_letters(false, None, 10).await.unwrap();
    assert_eq!(open.iter().map(|d| d.id).collect::<Vec<_>>(), [b]);
    let all = cases.dead_letters(true, None, 10).await.unwrap();
    assert_eq!(all[0].replay_code.as_deref(), Some("AA"));
    assert!(all[0].replayed_at.is_some());
    assert!(matches!(
        cases.dead_letter_replayed(Uuid::now_v7(), "AA").await,
        Err(CaseworkError::NotFound(_))
    ));
    // Within the period nothing goes; after it, every letter does.
    let r = purge(&f.cw, Some(RetentionPolicy::default()), false).await;
    assert_eq!(r.dead_letters, 0);
    let later = f.cw.clone().with_clock(Arc::new(|| {
        Utc.with_ymd_and_hms(2027, 6, 1, 12, 0, 0).unwrap()
    }));
    let dry = purge(&later, Some(RetentionPolicy::default()), true).await;
    assert_eq!(dry.dead_letters, 2);
    assert_eq!(cases.dead_letters(true, None, 10).await.unwrap().len(), 2);
    let r = purge(&later, Some(RetentionPolicy::default()), false).await;
    assert_eq!(r.dead_letters, 2);
    assert!(cases.dead_letters(true, None, 10).await.unwrap().is_empty());
}

/// Record linkage at intake: a person written another way (accents,
/// a nickname, day and month swapped) is found through blind-index keys
/// and kept as the same person or a possible match, a stranger is not;
/// the keys hold no name; the whole-store job resumes where it stopped and
/// finds nothing twice; a reviewer decides an open pair once; a purge takes
/// the keys and pairs with the person.
pub async fn linkage_finds_the_same_person_written_another_way(f: &Fixture) {
    use tracedesk_casework::linkage::status;
    let cases = f.cw.cases();
    let one = |first: &str, last: &str, dob: &str, phone: Option<&str>, acc: &str| {
        lab(first, last, Some(dob), phone, acc, "positive")
    };
    let out = cases
        .ingest_lab_results(&[one(
            "John",
            "García",
            "1985-04-07",
            Some("+12125550101"),
            "LK-1",
        )])
        .await;
    let john = out[0].person.unwrap();
    // Not the exact name and date intake matches on, so a new person…
    let out = cases
        .ingest_lab_results(&[
            one("Jon", "Garcia", "1985-04-07", None, "LK-2"),
            one("Juan", "Garsia", "1985-07-04", None, "LK-3"),
            one("Mei", "Chen", "1990-01-02", None, "LK-4"),
        ])
        .await;
    assert!(out.iter().all(|o| o.person_created), "{out:?}");
    // Linked in the background, after the intake answered.
    cases.linkage_settled().await;
    let (jon, juan, mei) = (
        out[0].person.unwrap(),
        out[1].person.unwrap(),
        out[2].person.unwrap(),
    );
    // …found at intake to be John.
    let all = vec![tracedesk_identity::jurisdiction::ROOT.to_string()];
    let pairs = cases
        .link_reviews(all.clone(), None, None, Some(100))
        .await
        .unwrap()
        .items;
    let pair = |a: Uuid, b: Uuid| {
        pairs
            .iter()
            .find(|r| (r.person_a, r.person_b) == (a.min(b), a.max(b)))
            .cloned()
    };
    let same = pair(john, jon).expect("Jon Garcia is linked to John García");
    assert_eq!(same.status, status::SAME, "{same:?}");
    assert!(pair(john, mei).is_none() && pair(jon, mei).is_none());
    assert!(pairs.iter().all(|r| r.person_a < r.person_b));
    // Linking again finds nothing new: a pair is kept once.
    for p in [john, jon, mei] {
        let again = cases
            .link_person(p, &tracedesk_linkage::Scorer::default())
            .await
            .unwrap();
        assert!(
            again.same.is_empty() && again.possible.is_empty(),
            "found again: {again:?}"
        );
    }
    // The side-by-side view opens both and grades each field.
    let row = cases.link_review(same.id).await.unwrap().unwrap();
    let sides = cases.link_sides(&row).await.unwrap();
    assert_eq!((sides.a.id, sides.b.id), (same.person_a, same.person_b));
    let level = |f: &str| sides.fields.iter().find(|x| x.field == f).map(|x| x.level);
    assert_eq!(level("dob"), Some("exact"));
    assert_eq!(level("first_name"), Some("alias"), "Jon reads as John");
    assert_eq!(level("phone"), Some("missing"));
    // The whole-store job: from the start it finds no new pair (intake
    // found them), and a run stopped half way goes on from there.
    let scorer = tracedesk_linkage::Scorer::default();
    let first = cases.link_all(&scorer, true, |_| {}).await.unwrap();
    assert_eq!(
        (first.persons, first.same, first.possible),
        (4, 0, 0),
        "{first:?}"
    );
    assert!(!first.resumed);
    f.store
        .set_link_progress(tracedesk_casework::linkage::JOB, Some(jon), Utc::now())
        .await
        .unwrap();
    let resumed = cases.link_all(&scorer, false, |_| {}).await.unwrap();
    assert!(resumed.resumed);
    assert_eq!(resumed.persons, 2, "Juan and Mei, after Jon");
    // Juan Garsia, day and month swapped, is a possible match of both:
    // a reviewer decides a pair once.
    let open = pair(john, juan).expect("Juan is a possible match of John");
    assert_eq!(open.status, status::OPEN, "{open:?}");
    assert_eq!(
        pair(jon, juan).map(|p| p.status),
        Some(status::OPEN.to_string())
    );
    let reviewer = Uuid::now_v7();
    let d = cases
        .by(reviewer)
        .decide_link(open.id, status::DISTINCT)
        .await
        .unwrap();
    assert_eq!(
        (d.status.as_str(), d.decided_by),
        (status::DISTINCT, Some(reviewer))
    );
    assert!(matches!(
        cases.decide_link(open.id, status::SAME).await,
        Err(CaseworkError::Conflict(_))
    ));
    let open_now = cases
        .link_reviews(all.clone(), Some(status::OPEN), None, Some(100))
        .await
        .unwrap();
    assert_eq!(open_now.items.len(), 1);
    // A pair shows only to a caller over both persons' jurisdictions.
    let none = cases
        .link_reviews(vec!["elsewhere".into()], None, None, Some(100))
        .await
        .unwrap();
    assert!(none.items.is_empty());
    // Sunset: keys and pairs go with the persons. John's keys, as the
    // vault derives them, are held before and gone after.
    let johns: Vec<Vec<u8>> = tracedesk_linkage::keys::keys(&tracedesk_linkage::Person::new(
        "John",
        "García",
        "1985-04-07".parse().ok(),
        Some("+12125550101"),
        None,
        None,
    ))
    .iter()
    .map(|k| f.vault.blind(tracedesk_vault::BlindKind::LinkKey, k))
    .collect();
    let held = f.store.link_key_holders(&johns).await.unwrap();
    assert!(
        held.iter().any(|(_, p)| *p == john),
        "John's keys are stored"
    );
    assert!(
        johns.iter().all(|k| !k.windows(6).any(|w| w == b"garcia")),
        "keys are MACs, not text"
    );
    purge(&f.cw, None, false).await;
    let left = cases
        .link_reviews(all, None, None, Some(100))
        .await
        .unwrap();
    assert!(left.items.is_empty(), "{:?}", left.items);
    assert!(f.store.link_key_holders(&johns).await.unwrap().is_empty());
}

/// Merging the later of two records of one person into the earlier moves
/// every row that names it (case, result, contact record, tasks, note,
/// message), and the merged record's name and phone find the survivor;
/// unmerging moves back exactly those rows and what was made since on a
/// moved case; a merge across jurisdictions, or of two persons each with
/// a record in one other jurisdiction, is refused with nothing changed.
pub async fn merges_move_a_persons_records_and_unmerges_move_them_back(f: &Fixture) {
    use tracedesk_casework::investigation::{NoteInput, NoteOn};
    use tracedesk_casework::linkage::status;
    use tracedesk_store::{MergeRefusal, PersonMergeRow};
    let cases = f.cw.cases();
    let (store, root) = (&f.store, tracedesk_identity::jurisdiction::ROOT);
    let out = cases
        .ingest_lab_results(&[lab(
            "John",
            "García",
            Some("1985-04-07"),
            Some("+12125550101"),
            "MG-1",
            "positive",
        )])
        .await;
    let (john, john_case) = (out[0].person.unwrap(), out[0].case_id.unwrap());
    // Jon is first named as a contact, then tests positive; his case gets
    // a note, and he a text.
    let (mei_case, mei) = positive(&f.cw, "Mei", "Chen", "1990-01-02", "MG-3").await;
    let named = cases
        .add_contact(
            mei_case,
            &ContactInput {
                phone: Some("+12125550199".into()),
                ..contact("Jon", "Garcia", "1985-04-07", &[days_ago(2)])
            },
        )
        .await
        .unwrap();
    let (jon, exposure) = (named.person, named.exposure_id);
    assert!(named.person_created && jon > john);
    let out = cases
        .ingest_lab_results(&[lab(
            "Jon",
            "Garcia",
            Some("1985-04-07"),
            None,
            "MG-2",
            "positive",
        )])
        .await;
    let (jon_case, jon_lab) = (out[0].case_id.unwrap(), out[0].lab_result_id.unwrap());
    assert_eq!(out[0].person, Some(jon));
    cases
        .add_note(
            NoteOn::Case(jon_case),
            &NoteInput {
                text: Some("called twice".into()),
            },
        )
        .await
        .unwrap();
    cases.linkage_settled().await;
    let pair = cases
        .link_reviews(vec![root.into()], Some(status::SAME), None, Some(100))
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|r| (r.person_a, r.person_b) == (john, jon))
        .expect("linkage found John and Jon");
    let jons_tasks: Vec<Uuid> = {
        let mut t = store.tasks_for_case(jon_case).await.unwrap();
        t.extend(
            store
                .tasks_for_case(mei_case)
                .await
                .unwrap()
                .into_iter()
                .filter(|t| t.exposure_id == Some(exposure)),
        );
        t.iter().map(|t| t.id).collect()
    };
    assert_eq!(jons_tasks.len(), 2, "his interview and his notification");
    let jon_ref = cases.person_ref(jon).await.unwrap().unwrap();
    f.cw.messages()
        .send(
            &jon_ref,
            root,
            &tracedesk_casework::messaging::SendInput {
                body: Some("Please call us back.".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let jons_messages = store.person_messages(jon, None, 50).await.unwrap();
    assert_eq!(jons_messages.len(), 1, "a text to him is queued");

    // The merge.
    let row = cases.link_review(pair.id).await.unwrap().unwrap();
    let reviewer = Uuid::now_v7();
    let m = cases.by(reviewer).merge_pair(&row).await.unwrap();
    assert_eq!(
        (m.survivor_id, m.merged_id, m.merged_by),
        (john, jon, Some(reviewer))
    );
    assert!(
        m.moved >= 6,
        "case, result, contact record, two tasks, a note, a message: {m:?}"
    );
    let person_of_case =
        |c: Uuid| async move { store.get_case(c).await.unwrap().unwrap().person_id };
    // Jon's case, contact record and tasks are with `p`; John's case with John.
    let jons_records_with = |p: Uuid| {
        let tasks = jons_tasks.clone();
        async move {
            assert_eq!(person_of_case(jon_case).await, p);
            assert_eq!(person_of_case(john_case).await, john);
            let e = store.get_exposure(exposure).await.unwrap().unwrap();
            assert_eq!(e.contact_person_id, p);
            for t in tasks {
                assert_eq!(store.get_task(t).await.unwrap().unwrap().person_id, p);
            }
        }
    };
    jons_records_with(john).await;
    let labs = store.lab_results_for_person(john).await.unwrap();
    assert!(labs.iter().any(|l| l.id == jon_lab));
    assert!(store.lab_results_for_person(jon).await.unwrap().is_empty());
    let entries = store
        .entries(tracedesk_store::EntryOwner::Case(jon_case), None)
        .await
        .unwrap();
    assert!(entries.iter().all(|e| e.person_id == john) && !entries.is_empty());
    assert!(
        store
            .person_messages(jon, None, 50)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.person_messages(john, None, 50).await.unwrap().len() >= jons_messages.len());
    // The merged record stays, marked; its id, name and phone find John.
    let merged = store.get_person(jon).await.unwrap().unwrap();
    assert_eq!(merged.merged_into, Some(john));
    assert!(
        merged.first_name.is_some(),
        "sealed as it was, for an unmerge"
    );
    match cases.person_ref(jon).await.unwrap() {
        Some(tracedesk_casework::PersonRef::Person(p)) => assert_eq!(p.id, john),
        _ => panic!("a merged id answers with the survivor"),
    }
    let found = cases
        .find_persons(&tracedesk_casework::PersonSearch {
            first_name: Some("Jon".into()),
            last_name: Some("Garcia".into()),
            dob: Some("1985-04-07".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.iter().map(|p| p.id).collect::<Vec<_>>(), vec![john]);
    let again = cases
        .ingest_lab_results(&[lab(
            "Jon",
            "Garcia",
            Some("1985-04-07"),
            None,
            "MG-4",
            "positive",
        )])
        .await;
    assert_eq!(again[0].person, Some(john), "intake follows the merge");
    assert!(!again[0].person_created);
    let after_lab = again[0].lab_result_id.unwrap();
    // A text from Jon's number reaches John's thread.
    let reply =
        f.cw.messages()
            .receive_text(&tracedesk_casework::messaging::InboundText {
                from: "+12125550199".into(),
                to: "+15005550006".into(),
                body: "I can talk after 5".into(),
                provider_sid: "SM-merge-1".into(),
            })
            .await
            .unwrap();
    assert_eq!(reply.person_id, Some(john), "{reply:?}");
    // Merged once: a second merge of the pair is refused.
    assert!(matches!(
        cases.merge_pair(&row).await,
        Err(CaseworkError::Conflict(_))
    ));
    let listed = cases
        .person_merges(vec![root.into()], Some(jon), None, Some(10))
        .await
        .unwrap();
    assert_eq!(
        listed.items.iter().map(|x| x.id).collect::<Vec<_>>(),
        vec![m.id]
    );
    assert!(
        cases
            .person_merges(vec!["elsewhere".into()], None, None, Some(10))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(
        cases.link_review(pair.id).await.unwrap().unwrap().status,
        status::SAME
    );

    // The unmerge.
    let u = cases.by(reviewer).unmerge(m.id).await.unwrap();
    assert_eq!(u.unmerged_by, Some(reviewer));
    assert!(u.unmerged_at.is_some());
    jons_records_with(jon).await;
    assert_eq!(
        store.person_messages(jon, None, 50).await.unwrap().len(),
        jons_messages.len()
    );
    assert!(
        store
            .get_person(jon)
            .await
            .unwrap()
            .unwrap()
            .merged_into
            .is_none()
    );
    // Every result is with its case's person: the result that came after
    // the merge went back only if it joined Jon's case.
    for p in [john, jon] {
        for l in store.lab_results_for_person(p).await.unwrap() {
            if let Some(c) = l.case_id {
                assert_eq!(person_of_case(c).await, p, "a result follows its case");
            }
        }
    }
    let with = |p: Uuid| async move {
        store
            .lab_results_for_person(p)
            .await
            .unwrap()
            .iter()
            .any(|l| l.id == after_lab)
    };
    assert!(with(john).await || with(jon).await);
    assert_eq!(
        cases.link_review(pair.id).await.unwrap().unwrap().status,
        status::DISTINCT,
        "undone: the pair is two people, and no job merges it again"
    );
    assert!(matches!(
        cases.unmerge(m.id).await,
        Err(CaseworkError::Conflict(_))
    ));
    assert!(matches!(
        cases
            .merge_pair(&cases.link_review(pair.id).await.unwrap().unwrap())
            .await,
        Err(CaseworkError::Conflict(_))
    ));

    // Refusals change nothing.
    for (code, parent) in [("mg-home", root), ("mg-away", root)] {
        f.cw.staff()
            .add_jurisdiction(code, code, Some(parent))
            .await
            .unwrap();
    }
    let at = |first: &str, j: &str, acc: &str| LabResultInput {
        jurisdiction: Some(j.into()),
        ..lab(first, "Okafor", Some("1970-03-03"), None, acc, "positive")
    };
    let home = cases
        .ingest_lab_results(&[at("Ada", "mg-home", "MG-5")])
        .await[0]
        .person
        .unwrap();
    let away = cases
        .ingest_lab_results(&[at("Ade", "mg-away", "MG-6")])
        .await[0]
        .person
        .unwrap();
    let before = store.counts().await.unwrap();
    let attempt = |s: Uuid, g: Uuid, j: &str| PersonMergeRow {
        id: Uuid::now_v7(),
        survivor_id: s,
        merged_id: g,
        jurisdiction: j.into(),
        review_id: None,
        merged_by: None,
        merged_at: Utc::now(),
        moved: 0,
        unmerged_by: None,
        unmerged_at: None,
    };
    assert_eq!(
        store
            .merge_persons(&attempt(home, away, "mg-home"))
            .await
            .unwrap(),
        Err(MergeRefusal::AcrossJurisdictions)
    );
    // Mei named Jon as her contact: they are two people.
    assert_eq!(
        store.merge_persons(&attempt(mei, jon, root)).await.unwrap(),
        Err(MergeRefusal::ContactOfTheOther)
    );
    // Two root persons, each with a record in mg-away: refused.
    let p1 = cases
        .ingest_lab_results(&[lab(
            "Bo",
            "Lind",
            Some("1960-06-06"),
            None,
            "MG-7",
            "positive",
        )])
        .await[0]
        .person
        .unwrap();
    let p2 = cases
        .ingest_lab_results(&[lab(
            "Bo",
            "Linde",
            Some("1960-06-06"),
            None,
            "MG-8",
            "positive",
        )])
        .await[0]
        .person
        .unwrap();
    for (first, last, acc) in [("Bo", "Lind", "MG-9"), ("Bo", "Linde", "MG-10")] {
        let out = cases
            .ingest_lab_results(&[LabResultInput {
                jurisdiction: Some("mg-away".into()),
                ..lab(first, last, Some("1960-06-06"), None, acc, "positive")
            }])
            .await;
        assert!(!out[0].person_created || out[0].person != out[0].person_id);
    }
    assert_eq!(store.facet_ids(&[p1, p2]).await.unwrap().len(), 2);
    let before2 = store.counts().await.unwrap();
    assert_eq!(
        store.merge_persons(&attempt(p1, p2, root)).await.unwrap(),
        Err(MergeRefusal::FacetsMeet)
    );
    assert_eq!(store.counts().await.unwrap(), before2);
    assert!(
        store
            .get_person(p2)
            .await
            .unwrap()
            .unwrap()
            .merged_into
            .is_none()
    );
    assert!(before.persons < before2.persons);
    assert!(
        store
            .list_person_merges(&tracedesk_store::PersonMergeFilter {
                jurisdictions: vec![root.into(), "mg-home".into(), "mg-away".into()],
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap()
            .len()
            == 1,
        "refusals keep no merge"
    );
}

/// Two merges of one record at once (two data managers, or a manager and
/// the job): one wins, the other is refused, and every row of the record
/// is with the winner's survivor — none split between them.
pub async fn racing_merges_of_one_record_leave_it_whole(f: &Fixture) {
    use tracedesk_store::{MergeRefusal, PersonMergeRow};
    let cases = f.cw.cases();
    let person = |first: &str, acc: &str| {
        let l = lab(first, "Abara", Some("1992-09-09"), None, acc, "positive");
        async move { cases.ingest_lab_results(&[l]).await[0].person.unwrap() }
    };
    let (s1, s2) = (person("Uche", "RM-1").await, person("Chidi", "RM-2").await);
    let m = person("Obi", "RM-3").await;
    let more = cases
        .ingest_lab_results(&[lab(
            "Obi",
            "Abara",
            Some("1992-09-09"),
            None,
            "RM-4",
            "negative",
        )])
        .await;
    assert_eq!(more[0].person, Some(m));
    let row = |s: Uuid| PersonMergeRow {
        id: Uuid::now_v7(),
        survivor_id: s,
        merged_id: m,
        jurisdiction: tracedesk_identity::jurisdiction::ROOT.into(),
        review_id: None,
        merged_by: None,
        merged_at: Utc::now(),
        moved: 0,
        unmerged_by: None,
        unmerged_at: None,
    };
    let (a, b) = (row(s1), row(s2));
    let (x, y) = tokio::join!(f.store.merge_persons(&a), f.store.merge_persons(&b));
    let (x, y) = (x.unwrap(), y.unwrap());
    let winner = match (&x, &y) {
        (Ok(_), Err(MergeRefusal::AlreadyMerged)) => s1,
        (Err(MergeRefusal::AlreadyMerged), Ok(_)) => s2,
        other => panic!("exactly one merge wins: {other:?}"),
    };
    assert_eq!(
        f.store.get_person(m).await.unwrap().unwrap().merged_into,
        Some(winner)
    );
    assert!(f.store.lab_results_for_person(m).await.unwrap().is_empty());
    let loser = if winner == s1 { s2 } else { s1 };
    assert_eq!(
        f.store.lab_results_for_person(winner).await.unwrap().len(),
        3
    );
    assert_eq!(
        f.store.lab_results_for_person(loser).await.unwrap().len(),
        1
    );
}
