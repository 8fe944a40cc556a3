//! The conformance suite and the pg_dump privacy scan on PostgreSQL.
//!
//! Needs `TRACEDESK_TEST_DATABASE_URL`; without it the tests say SKIPPED and
//! pass, unless `TRACEDESK_REQUIRE_POSTGRES=1` (CI), where they fail.

use std::sync::Arc;
use tracedesk_conformance as conformance;
use tracedesk_store::{RoutingStore, Store};
use tracedesk_store_postgres::PostgresStore;
use tracedesk_store_postgres::testing::{scratch_database, test_server};

/// The scans run alone: VACUUM FULL keeps a deleted row that a snapshot
/// might still see, and with the other tests' sessions beside it (the
/// scenarios, the pg_dump scan) the purge scan failed now and then.
static SCANNING: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// Each conformance scenario in its own scratch database.
async fn open_store(
    scenario: &str,
) -> Option<(Arc<dyn Store>, Box<dyn std::any::Any + Send + Sync>)> {
    let server = test_server(&format!("conformance: {scenario}"))?;
    let beside_others = SCANNING.read().await;
    let (url, _) = scratch_database(&server, "td_conf").await.unwrap();
    let store = PostgresStore::connect(&url).await.unwrap();
    Some((Arc::new(store), Box::new(beside_others)))
}

tracedesk_conformance::conformance_tests!(open_store);

/// What a scan works on: the database's URL, the store, the key
/// directory, case work over them, and the hold that keeps the scan alone.
type Scanned = (
    String,
    Arc<PostgresStore>,
    tempfile::TempDir,
    tracedesk_casework::Casework,
    tokio::sync::RwLockWriteGuard<'static, ()>,
);

/// A migrated scratch database, and case work over it, for a scan that
/// runs alone (`None`, after saying so, without a server).
async fn scanned(what: &str, name: &str) -> Option<Scanned> {
    let server = test_server(what)?;
    let alone = SCANNING.write().await;
    let (url, _) = scratch_database(&server, name).await.unwrap();
    let store = Arc::new(PostgresStore::connect(&url).await.unwrap());
    store.migrate().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cw = conformance::casework(store.clone(), dir.path());
    Some((url, store, dir, cw, alone))
}

fn pg_dump() -> std::path::PathBuf {
    match std::env::var("TRACEDESK_PG_BIN") {
        Ok(dir) => std::path::Path::new(&dir).join("pg_dump"),
        Err(_) => "pg_dump".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_plaintext_in_pg_dump() {
    let Some((url, store, _dir, cw, _alone)) = scanned("privacy scan", "td_scan").await else {
        return;
    };
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
    let Some((url, store, _dir, cw, _alone)) = scanned("retention purge", "td_purge").await else {
        return;
    };
    let (closed, open) = conformance::seed_for_retention(&cw, 60).await;
    let mut gone = Vec::new();
    for p in &closed {
        gone.extend(conformance::stored_bytes(&*store, *p).await);
    }
    // Planner statistics gathered now would sample sealed values.
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query("ANALYZE").execute(&pool).await.unwrap();
    pool.close().await;
    let before = store.counts().await.unwrap();
    let later = cw.clone().with_clock(Arc::new(|| {
        chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 12, 21, 15, 0, 0).unwrap()
    }));
    let r = conformance::purge(&later, Some(RetentionPolicy::default()), false).await;
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
    // Not only what a dump shows: the relation files themselves (heap,
    // TOAST, indexes, pg_statistic) hold none of their bytes.
    scan_files(&url, &gone, "the database files after purge").await;

    // Sunset: everyone else's too, and the routing log.
    let mut rest = Vec::new();
    for p in &open {
        rest.extend(conformance::stored_bytes(&*store, *p).await);
    }
    let event: Vec<u8> = (0..48u8).map(|i| i.wrapping_mul(37) ^ 0x5a).collect();
    store
        .append_routing_events(
            &[tracedesk_store::RoutingEventRow {
                id: uuid::Uuid::now_v7(),
                seq: 1,
                at: 0,
                event: event.clone(),
                key_version: 1,
            }],
            &[],
        )
        .await
        .unwrap();
    rest.push(event);
    let s = conformance::purge(&later, None, false).await;
    assert_eq!(s.persons, before.persons - closed.len() as u64);
    assert!(!open.is_empty());
    assert_eq!(store.counts().await.unwrap(), before);
    rest.extend(gone);
    scan_files(&url, &rest, "the database files after sunset").await;
}

/// Scans every file of the database's directory (all its relations:
/// tables, TOAST, indexes, catalogs such as pg_statistic) for `needles`,
/// after a checkpoint has written out what sat in memory. The WAL is not
/// scanned: it keeps old pages until recycled (docs/security.md).
async fn scan_files(url: &str, needles: &[Vec<u8>], what: &str) {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    sqlx::query("CHECKPOINT").execute(&pool).await.unwrap();
    let data: String = sqlx::query_scalar("SELECT current_setting('data_directory')")
        .fetch_one(&pool)
        .await
        .unwrap();
    let oid: sqlx::postgres::types::Oid =
        sqlx::query_scalar("SELECT oid FROM pg_database WHERE datname = current_database()")
            .fetch_one(&pool)
            .await
            .unwrap();
    pool.close().await;
    let dir = std::path::Path::new(&data)
        .join("base")
        .join(oid.0.to_string());
    let mut files = 0;
    let mut bytes = 0;
    for f in std::fs::read_dir(&dir).unwrap() {
        let f = f.unwrap();
        if !f.file_type().unwrap().is_file() {
            continue;
        }
        let content = match std::fs::read(f.path()) {
            Ok(c) => c,
            // Unlinked meanwhile: an old file of a rewritten table.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => panic!("{}: {e}", f.path().display()),
        };
        if content.is_empty() {
            continue; // relations never written, or rewritten away
        }
        files += 1;
        bytes += content.len();
        conformance::assert_absent(
            &content,
            needles,
            &format!("{what} ({})", f.path().display()),
        );
    }
    assert!(
        files > 50 && bytes > 100_000,
        "{what}: scanned {files} files, {bytes} bytes"
    );
}
