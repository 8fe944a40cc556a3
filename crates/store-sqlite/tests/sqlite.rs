//! The conformance suite and the raw-bytes privacy scan on SQLite.

use std::sync::Arc;
use tracedesk_conformance as conformance;
use tracedesk_store::RoutingStore as _;
use tracedesk_store::{RetentionStore, Store};
use tracedesk_store_sqlite::SqliteStore;

/// Each conformance scenario on its own database file.
async fn open_store(
    _scenario: &str,
) -> Option<(Arc<dyn Store>, Box<dyn std::any::Any + Send + Sync>)> {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("t.db")).await.unwrap();
    Some((Arc::new(store), Box::new(dir)))
}

tracedesk_conformance::conformance_tests!(open_store);

/// A migrated store in the file `name` of a new directory, and case work
/// over it, for the scans.
async fn scanned(
    name: &str,
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    Arc<SqliteStore>,
    tracedesk_casework::Casework,
) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(name);
    let store = Arc::new(SqliteStore::open(&db).await.unwrap());
    store.migrate().await.unwrap();
    let cw = conformance::casework(store.clone(), dir.path());
    (dir, db, store, cw)
}

/// The directory the store makes is the owner's alone (0700), and so are
/// the database and the WAL and shared-memory files SQLite gives its mode.
#[tokio::test]
async fn the_database_files_are_the_owners_alone() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("new-data");
    let db = data.join("t.db");
    let store = SqliteStore::open(&db).await.unwrap();
    store.migrate().await.unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    for f in ["t.db", "t.db-wal", "t.db-shm"] {
        let p = data.join(f);
        if p.exists() {
            assert_eq!(mode(&p), 0o600, "{f}");
        }
    }
    assert_eq!(mode(&db), 0o600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_plaintext_in_database_file_or_wal() {
    let (dir, db, store, cw) = scanned("scan.db").await;
    let mut secrets = conformance::seed_people(&cw, 1000).await;
    assert!(secrets.needles.len() > 3000);
    // Staff names and usernames are personal data too.
    cw.staff()
        .add_user(tracedesk_casework::NewUser::new(
            "tmokoenavance",
            "Thandiwe Mokoena-Vance",
            tracedesk_identity::Role::Tracer,
            "root",
        ))
        .await
        .unwrap();
    secrets.needles.push("tmokoenavance".into());
    secrets.needles.push("Mokoena-Vance".into());
    let counts = store.counts().await.unwrap();
    assert_eq!(counts.cases, 1000);
    assert_eq!(counts.exposures, 1000);

    // Before a checkpoint the rows sit in the WAL; scan both files as they are.
    let wal = std::fs::read(dir.path().join("scan.db-wal")).unwrap();
    conformance::assert_no_plaintext(&wal, &secrets.needles, "the WAL");
    store.checkpoint().await.unwrap();
    let main = std::fs::read(&db).unwrap();
    assert!(main.len() > 1_000_000, "the rows are in the file");
    conformance::assert_no_plaintext(&main, &secrets.needles, "the database file");
    conformance::assert_lookups(&cw, &secrets).await;
}

#[test]
fn scan_catches_plaintext() {
    // The scan itself must be able to fail.
    let needles = vec!["Ana García".to_string()];
    let r = std::panic::catch_unwind(|| {
        conformance::assert_no_plaintext(b"xx Ana Garc\xc3\xada yy", &needles, "x")
    });
    assert!(r.is_err());
}

/// Retention purge, then sunset: the purged persons' sealed values and
/// blind indexes are gone from the file and the WAL, look-ups miss them,
/// and the counts and line list still include them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_and_sunset_leave_no_bytes_behind() {
    use tracedesk_casework::PersonSearch;
    use tracedesk_casework::retention::RetentionPolicy;
    let (dir, db, store, cw) = scanned("purge.db").await;
    let (closed, open) = conformance::seed_for_retention(&cw, 200).await;
    let mut gone = Vec::new();
    for p in &closed {
        gone.extend(conformance::stored_bytes(&*store, *p).await);
    }
    let kept: Vec<Vec<u8>> = conformance::stored_bytes(&*store, open[0]).await;
    let sample = cw.cases().get_person(closed[0]).await.unwrap();
    let before = store.counts().await.unwrap();

    // Too early: nothing is due yet.
    let policy = RetentionPolicy::default();
    let r = conformance::purge(&cw, Some(policy), false).await;
    assert_eq!(r.persons, 0);
    // 31 days on, the closed cases' persons are due; a dry run writes nothing.
    let later = cw.clone().with_clock(Arc::new(|| {
        chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 12, 21, 15, 0, 0).unwrap()
    }));
    let dry = conformance::purge(&later, Some(policy), true).await;
    assert_eq!(
        (dry.persons, dry.cases, dry.dry_run),
        (closed.len() as u64, closed.len() as u64, true)
    );
    assert!(
        store
            .get_person(closed[0])
            .await
            .unwrap()
            .unwrap()
            .first_name
            .is_some()
    );
    let done = conformance::purge(&later, Some(policy), false).await;
    assert_eq!(
        done.persons,
        closed.len() as u64,
        "contacts still in quarantine and open cases stay"
    );

    let raw = std::fs::read(&db).unwrap();
    conformance::assert_absent(&raw, &gone, "the database file after purge");
    // The WAL is truncated by the compaction; whatever is left must be clean.
    if let Ok(wal) = std::fs::read(dir.path().join("purge.db-wal"))
        && !wal.is_empty()
    {
        conformance::assert_absent(&wal, &gone, "the WAL after purge");
    }
    // The scan can see what is still there.
    let found = std::panic::catch_unwind(|| conformance::assert_absent(&raw, &kept, "x"));
    assert!(
        found.is_err(),
        "an open case's sealed bytes are still in the file"
    );
    // Look-ups miss the purged; counts and the line list still include them.
    let by_phone = cw
        .cases()
        .find_persons(&PersonSearch {
            phone: sample.phone.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(by_phone.is_empty());
    let by_name = cw
        .cases()
        .find_persons(&PersonSearch {
            first_name: sample.first_name.clone(),
            last_name: sample.last_name.clone(),
            dob: sample.dob.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(by_name.is_empty());
    assert_eq!(store.counts().await.unwrap(), before);
    let stub = cw.cases().get_person(closed[0]).await.unwrap();
    assert_eq!((stub.first_name, stub.phone, stub.dob), (None, None, None));
    let list = cw
        .cases()
        .line_list(vec!["root".into()], &Default::default(), None, Some(500))
        .await
        .unwrap();
    assert_eq!(list.items.len(), 200);
    assert!(
        list.items.iter().all(|r| r.age_band != "unknown"),
        "stubs keep their age band"
    );
    // Sunset: everyone else too, and the routing log with its snapshot.
    let mut rest = Vec::new();
    for p in &open {
        rest.extend(conformance::stored_bytes(&*store, *p).await);
    }
    let d = tracedesk_casework::dispatch::Dispatch::open(
        store.clone(),
        // The keyring case work uses (conformance::casework's file).
        Arc::new(
            tracedesk_vault::Vault::open_or_create(&dir.path().join("master.key"))
                .unwrap()
                .0,
        ),
        tracedesk_routing::Workspace::public_health(),
        Arc::new(|| 1_800_000_000_000),
    )
    .await
    .unwrap();
    assert!(
        tracedesk_casework::task_feed::route_new_tasks(&cw, &d)
            .await
            .unwrap()
            > 0
    );
    d.snapshot().await.unwrap();
    drop(d);
    let routed: Vec<Vec<u8>> = store
        .routing_events(0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .chain(store.routing_snapshot().await.unwrap().map(|s| s.image))
        .collect();
    assert!(routed.len() > 1);
    rest.extend(routed);
    let s = conformance::purge(&later, None, false).await;
    assert!(s.routing_events > 0);
    assert!(store.routing_events(0, 10).await.unwrap().is_empty());
    assert!(store.routing_snapshot().await.unwrap().is_none());
    assert_eq!(s.persons, before.persons - closed.len() as u64);
    let raw = std::fs::read(&db).unwrap();
    conformance::assert_absent(&raw, &rest, "the database file after sunset");
    conformance::assert_absent(&raw, &gone, "the database file after sunset");
    assert_eq!(store.counts().await.unwrap(), before);
    assert!(
        store
            .purge_candidates(None, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}
