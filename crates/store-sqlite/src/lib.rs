//! SQLite backend: the embedded default (`./tracedesk-data/tracedesk.db`).
//!
//! One writer connection (transactions start `BEGIN IMMEDIATE`, so two
//! processes on one file queue on the busy timeout instead of dead-locking on
//! a lock upgrade) and a small pool of readers, all in WAL mode with foreign
//! keys on and `secure_delete` so deleted sealed bytes are overwritten.

mod rows;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool, Transaction};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;
use tracedesk_store::schema::SealedTable;
use tracedesk_store::{intake, *};
use uuid::Uuid;

use rows::*;

/// Rows per multi-row INSERT; keeps every statement under SQLite's
/// 32,766-parameter limit for our widest table (19 columns).
const CHUNK: usize = 500;

/// SQLite has no `LATERAL`; it keeps `CROSS JOIN` order instead.
const LATERAL_JOINS: bool = false;

/// SQLite's plans do not depend on bound values, so list statements stay
/// cached (see `list_rows_of`).
const PLAN_EACH_LIST_READ: bool = false;

/// How a key is matched against a subquery's ids (see PostgreSQL's): SQLite
/// probes the index for each id the subquery gives.
const IN_SUBQUERY: (&str, &str) = ("IN (", ")");

pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
}

fn err(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(e.into())
        }
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            StoreError::Conflict(d.message().to_string())
        }
        other => StoreError::Backend(other.into()),
    }
}

/// The steps of an `EXPLAIN QUERY PLAN` (id, parent, detail) whose cost
/// grows with a table: `SCAN x` of a table (not one of the small derived
/// tables a scoped list merges: `armN`, `page`, subqueries), and a read that
/// is sorted afterwards (`USE TEMP B-TREE FOR ORDER BY` beside it) unless a
/// selective key bounds it — it reads a whole jurisdiction or status range
/// to give the newest few.
fn full_scans(steps: &[(i64, i64, String)]) -> Vec<String> {
    let derived =
        |rest: &str| rest.starts_with("arm") || rest.starts_with("page") || rest.starts_with('(');
    let mut found: Vec<String> = steps
        .iter()
        .filter(|(_, _, d)| d.strip_prefix("SCAN ").is_some_and(|rest| !derived(rest)))
        .map(|(_, _, d)| d.clone())
        .collect();
    // A search bounded only by the page cursor walks the table from there;
    // one bounded only by a status walks that status (most of a table).
    found.extend(
        steps
            .iter()
            .filter(|(_, _, d)| {
                d.starts_with("SEARCH ")
                    && ["(id<?)", "(id>?)", "(status=?)", "(status=? AND id<?)"]
                        .iter()
                        .any(|only| d.ends_with(only))
            })
            .map(|(_, _, d)| d.clone()),
    );
    for (_, parent, d) in steps {
        if !d.starts_with("USE TEMP B-TREE FOR") {
            continue;
        }
        for (_, p, sibling) in steps {
            let unbounded_read = sibling.starts_with("MULTI-INDEX OR")
                || (sibling.starts_with("SEARCH ") && !selective(sibling));
            if p == parent && unbounded_read {
                found.push(format!("{sibling} (then sorted)"));
            }
        }
    }
    found
}

/// A search bounded by one person, case, contact or holder.
fn selective(detail: &str) -> bool {
    [
        "person_id=",
        "case_id=",
        "contact_person_id=",
        "assignee_id=",
        "(id=",
    ]
    .iter()
    .any(|k| detail.contains(k))
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`.
    /// Opens (or creates) the database at `path`. A directory it creates is
    /// the owner's alone (0700) and so is a new database file (0600): SQLite
    /// gives its WAL and shared-memory files the database file's mode.
    pub async fn open(path: &Path) -> StoreResult<Self> {
        let unavailable = |p: &Path, e: std::io::Error| {
            StoreError::Unavailable(format!("{}: {e}", p.display()).into())
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.exists()
        {
            let mut b = std::fs::DirBuilder::new();
            b.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
            b.create(dir).map_err(|e| unavailable(dir, e))?;
        }
        if !path.exists() {
            let mut o = std::fs::OpenOptions::new();
            o.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
            match o.open(path) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(unavailable(path, e)),
            }
        }
        let opts = SqliteConnectOptions::new().filename(path);
        Self::with_options(opts).await
    }

    /// Opens from a `sqlite://PATH` URL.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("invalid SQLite URL: {e}").into()))?;
        Self::with_options(opts).await
    }

    async fn with_options(opts: SqliteConnectOptions) -> StoreResult<Self> {
        // 16 KiB pages: intake's random blind-index inserts dirty fewer pages
        // per transaction than with 4 KiB (+25% intake; see docs/benchmarks.md).
        // It only takes effect when the file is created.
        let opts = opts
            .create_if_missing(true)
            .page_size(16_384)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("secure_delete", "ON");
        // Blind indexes are random, so inserts land all over their B-trees:
        // a larger page cache than SQLite's 2 MiB default keeps them in memory,
        // and checkpointing every 64 MiB of WAL rather than every 4 MiB writes
        // a page rewritten by several transactions back to the file once.
        // `journal_size_limit` truncates the WAL back to that size afterwards.
        let writer_opts = opts
            .clone()
            .pragma("cache_size", "-131072")
            .pragma("wal_autocheckpoint", "4096")
            .pragma("journal_size_limit", "67108864");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(writer_opts)
            .await
            .map_err(err)?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts.read_only(true))
            .await
            .map_err(err)?;
        Ok(Self { writer, reader })
    }

    async fn begin(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        self.writer.begin_with("BEGIN IMMEDIATE").await.map_err(err)
    }

    /// SQLite has one writer; BEGIN IMMEDIATE is the log's write lock.
    async fn audit_tx(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        self.begin().await
    }

    async fn write_tx(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        self.begin().await
    }

    fn write_pool(&self) -> &SqlitePool {
        &self.writer
    }

    /// One process uses a SQLite file: it always leads (a second process
    /// appending would be refused by the log's sequence numbers).
    async fn routing_lease(&self) -> StoreResult<Option<Box<dyn tracedesk_store::Lease>>> {
        Ok(Some(Box::new(SoleLease)))
    }

    fn read_pool(&self) -> &SqlitePool {
        &self.reader
    }

    /// After a purge: VACUUM rewrites the file without free pages (and
    /// `secure_delete` has already zeroed freed cells), then the WAL, which
    /// still holds old page images, is checkpointed and truncated.
    /// `Store::settle`: the WAL checkpointed into the main file.
    async fn settle_files(&self) -> StoreResult<()> {
        self.checkpoint().await
    }

    async fn compact_files(&self) -> StoreResult<()> {
        self.checkpoint().await?;
        sqlx::query("VACUUM")
            .execute(&self.writer)
            .await
            .map_err(err)?;
        self.checkpoint().await
    }

    /// Checkpoints the WAL into the main file; used by tests and before backups.
    pub async fn checkpoint(&self) -> StoreResult<()> {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.writer)
            .await
            .map_err(err)?;
        Ok(())
    }
}

/// One connection writes, so a lock-free append cannot overtake a locked one.
const AUDIT_TRY_LOCK: Option<i64> = None;
tracedesk_store::audit_store_impl!(SqliteStore);
tracedesk_store::sql_common!(Sqlite);
tracedesk_store::identity_store_impl!(SqliteStore, Sqlite);
tracedesk_store::retention_store_impl!(SqliteStore, Sqlite);
tracedesk_store::routing_store_impl!(SqliteStore, Sqlite);
/// One connection writes, so claims never meet: no row locks to skip.
const SKIP_LOCKED: &str = "";
tracedesk_store::message_store_impl!(SqliteStore, Sqlite);
tracedesk_store::monitoring_store_impl!(SqliteStore, Sqlite);

/// SQLite has no array parameters: the shared multi-row `VALUES`.
async fn bulk_insert_messages(
    tx: &mut Transaction<'_, Sqlite>,
    rows: &[MessageRow],
) -> StoreResult<Vec<Uuid>> {
    insert_messages_values(tx, rows).await
}

async fn bulk_upsert_monitoring(
    tx: &mut Transaction<'_, Sqlite>,
    rows: &[MonitoringRow],
) -> StoreResult<()> {
    upsert_monitoring_values(tx, rows).await
}

struct SoleLease;

#[async_trait]
impl tracedesk_store::Lease for SoleLease {
    async fn holds(&mut self) -> bool {
        true
    }
}

/// What differs between the backends (see `tracedesk_store::store_impl!`).
impl SqliteStore {
    async fn intake_tx(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        self.begin().await
    }

    async fn explain(&self, list: &ListQuery) -> StoreResult<ListPlan> {
        let mut q = list_query("EXPLAIN QUERY PLAN ", list);
        let steps: Vec<(i64, i64, String)> = q
            .build()
            .fetch_all(&self.reader)
            .await
            .map_err(err)?
            .iter()
            .map(|r| {
                Ok((
                    r.try_get(0).map_err(err)?,
                    r.try_get(1).map_err(err)?,
                    r.try_get(3).map_err(err)?,
                ))
            })
            .collect::<StoreResult<_>>()?;
        Ok(ListPlan {
            full_scans: full_scans(&steps),
            lines: steps.into_iter().map(|(_, _, d)| d).collect(),
        })
    }
}

/// The benchmark baseline's table.
/// The task feed's two reads (withdrawn, then waiting tasks), each through
/// its partial index: without statistics SQLite's planner preferred
/// `tasks_status` and sorted every pending task (`sqlrouting`).
const TASKS_TO_ROUTE: [&str; 2] = [
    "tasks t INDEXED BY tasks_withdrawn",
    "tasks t INDEXED BY tasks_to_route",
];

const BASELINE_TABLE: &str = "CREATE TABLE IF NOT EXISTS bench_baseline (id BLOB PRIMARY KEY NOT NULL, payload BLOB NOT NULL)";

tracedesk_store::store_impl!(SqliteStore, Sqlite, "sqlite");
