//! The conformance suite and the pg_dump privacy scan on PostgreSQL.
//!
//! Needs `TRACEDESK_TEST_DATABASE_URL`; without it the tests say SKIPPED and
//! pass, unless `TRACEDESK_REQUIRE_POSTGRES=1` (CI), where they fail.

use std::sync::Arc;
use tracedesk_conformance as conformance;
use tracedesk_store::Store;
use tracedesk_store_postgres::PostgresStore;
use tracedesk_store_postgres::testing::{scratch_database, test_server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_suite() {
    let Some(server) = test_server("conformance suite") else {
        return;
    };
    let (url, _) = scratch_database(&server, "td_conf").await.unwrap();
    let store = PostgresStore::connect(&url).await.unwrap();
    conformance::run_all(Arc::new(store)).await;
    println!("PostgreSQL conformance suite ran");
}

fn pg_dump() -> std::path::PathBuf {
    match std::env::var("TRACEDESK_PG_BIN") {
        Ok(dir) => std::path::Path::new(&dir).join("pg_dump"),
        Err(_) => "pg_dump".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_plaintext_in_pg_dump() {
    let Some(server) = test_server("privacy scan") else {
        return;
    };
    let (url, _) = scratch_database(&server, "td_scan").await.unwrap();
    let store = Arc::new(PostgresStore::connect(&url).await.unwrap());
    store.migrate().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cw = conformance::casework(store.clone(), dir.path());
    let secrets = conformance::seed_people(&cw, 1000).await;
    assert_eq!(store.counts().await.unwrap().cases, 1000);
    let out = std::process::Command::new(pg_dump())
        .arg("--dbname")
        .arg(&url)
        .output()
        .expect("pg_dump runs");
    assert!(
        out.status.success(),
        "pg_dump failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.len() > 1_000_000, "the dump holds the rows");
    conformance::assert_no_plaintext(&out.stdout, &secrets.needles, "the pg_dump output");
    conformance::assert_lookups(&cw, &secrets).await;
}

/// Retention purge and sunset on PostgreSQL: stubs keep the counts, look-ups
/// miss the purged, and `pg_dump` (bytea as hex) holds none of their sealed
/// values or blind indexes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_and_sunset() {
    use tracedesk_casework::retention::RetentionPolicy;
    let Some(server) = test_server("retention purge") else {
        return;
    };
    let (url, _) = scratch_database(&server, "td_purge").await.unwrap();
    let store = Arc::new(PostgresStore::connect(&url).await.unwrap());
    store.migrate().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cw = conformance::casework(store.clone(), dir.path());
    let (closed, open) = conformance::seed_for_retention(&cw, 60).await;
    let mut gone = Vec::new();
    for p in &closed {
        gone.extend(conformance::stored_bytes(&*store, *p).await);
    }
    let before = store.counts().await.unwrap();
    let later = cw.clone().with_clock(Arc::new(|| {
        chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 12, 21, 15, 0, 0).unwrap()
    }));
    let r = later
        .purge(Some(RetentionPolicy::default()), false, "test", |_| {})
        .await
        .unwrap();
    assert_eq!(r.persons, closed.len() as u64);
    assert_eq!(store.counts().await.unwrap(), before);
    let hex: Vec<String> = gone.iter().map(hex::encode).collect();
    let dump = |url: &str| {
        let out = std::process::Command::new(pg_dump())
            .arg("--dbname")
            .arg(url)
            .output()
            .expect("pg_dump runs");
        assert!(out.status.success());
        out.stdout
    };
    conformance::assert_no_plaintext(&dump(&url), &hex, "pg_dump after purge");
    let s = later.purge(None, false, "test", |_| {}).await.unwrap();
    assert_eq!(s.persons, before.persons - closed.len() as u64);
    assert!(!open.is_empty());
    assert_eq!(store.counts().await.unwrap(), before);
}
