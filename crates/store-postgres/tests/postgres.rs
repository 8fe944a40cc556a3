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
