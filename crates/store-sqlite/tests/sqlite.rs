//! The conformance suite and the raw-bytes privacy scan on SQLite.

use std::sync::Arc;
use tracedesk_conformance as conformance;
use tracedesk_store::Store;
use tracedesk_store_sqlite::SqliteStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("t.db")).await.unwrap();
    conformance::run_all(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_plaintext_in_database_file_or_wal() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("scan.db");
    let store = Arc::new(SqliteStore::open(&db).await.unwrap());
    store.migrate().await.unwrap();
    let cw = conformance::casework(store.clone(), dir.path());
    let secrets = conformance::seed_people(&cw, 1000).await;
    assert!(secrets.needles.len() > 3000);
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
