//! PostgreSQL backend: for a nation's load, with any number of stateless
//! tracedesk nodes in front of one database.
//!
//! Intake transactions take a transaction-scoped advisory lock, so two nodes
//! matching the same new person at once cannot both create it.

mod bulk;
mod rows;
pub mod testing;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, QueryBuilder, Row, Transaction};
use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;
use tracedesk_store::schema::SealedTable;
use tracedesk_store::{intake, *};
use uuid::Uuid;

use rows::*;

/// Rows per multi-row INSERT; keeps every statement under PostgreSQL's
/// 65,535-parameter limit for our widest table (19 columns).
const CHUNK: usize = 500;

/// Scoped lists read held records per held person (see `sqlgen`).
const LATERAL_JOINS: bool = true;

/// List pages are planned for their own values, never from a cached
/// generic plan (see `list_rows_of`): an unnamed statement is planned at
/// bind time with the parameters.
const PLAN_EACH_LIST_READ: bool = true;

/// How a key is matched against a subquery's ids: as an array computed
/// first, so the outer read is always an index probe. Written as `IN
/// (subquery)`, the planner may merge-join the subquery with a walk of the
/// whole index when its statistics are stale (after a bulk load: 47 ms for
/// a case's tasks at 100,000 tasks, against 0.4 ms).
const IN_SUBQUERY: (&str, &str) = ("= ANY(ARRAY(", "))");

/// The steps of a text `EXPLAIN` whose cost grows with a table: a
/// sequential scan; an index scan with no `Index Cond` (a walk of the whole
/// index in its order, filtering as it goes); and, under a `Sort` and before
/// any `Limit`, a read of a table not bounded by a selective key (it reads a
/// whole jurisdiction or status range to give the newest few).
fn full_scans(lines: &[String]) -> Vec<String> {
    let depth = |l: &str| l.len() - l.trim_start().len();
    let node = |l: &str| {
        l.trim_start()
            .trim_start_matches("->")
            .trim_start()
            .to_string()
    };
    let is_node = |i: usize| i == 0 || lines[i].trim_start().starts_with("->");
    let details = |i: usize| {
        lines[i + 1..]
            .iter()
            .take_while(|l| !l.trim_start().starts_with("->"))
            .map(|l| l.trim().to_string())
            .collect::<Vec<_>>()
    };
    let reads_table = |n: &str| {
        n.contains("Scan") && !n.starts_with("Subquery Scan") && !n.starts_with("CTE Scan")
    };
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate().filter(|(i, _)| is_node(*i)) {
        let n = node(line);
        let conds = details(i);
        // An index condition that is only the page cursor walks the table
        // from there; one that is only a status walks that status.
        let bounded = conds.iter().any(|c| {
            c.starts_with("Index Cond:")
                && !(c.starts_with("Index Cond: (id <")
                    || c.starts_with("Index Cond: (id >")
                    || c.starts_with("Index Cond: (status =")
                    || (c.starts_with("Index Cond: ((status =")
                        && c.contains("AND (id <")
                        && c.matches(" AND ").count() == 1))
        });
        if n.starts_with("Seq Scan")
            || ((n.starts_with("Index Scan") || n.starts_with("Index Only Scan")) && !bounded)
        {
            found.push(line.clone());
        }
        if !n.starts_with("Sort") {
            continue;
        }
        // Below this sort, down to the first Limit on each path.
        let d = depth(line);
        let mut stop_below: Option<usize> = None;
        for (j, l) in lines.iter().enumerate().skip(i + 1) {
            if !is_node(j) {
                continue;
            }
            let dj = depth(l);
            if dj <= d {
                break;
            }
            if stop_below.is_some_and(|s| dj > s) {
                continue;
            }
            stop_below = None;
            let m = node(l);
            if m.starts_with("Limit") {
                stop_below = Some(dj);
                continue;
            }
            let sel = details(j).iter().any(|c| selective(c));
            if reads_table(&m) && !m.starts_with("Bitmap Index Scan") && !sel {
                found.push(format!("{} (then sorted)", l.trim()));
            }
        }
    }
    found
}

/// A condition bounded by one person, case, contact or holder.
fn selective(cond: &str) -> bool {
    [
        "person_id = ",
        "case_id = ",
        "contact_person_id = ",
        "assignee_id = ",
        "(id = ",
    ]
    .iter()
    .any(|k| cond.contains(k))
}

pub struct PostgresStore {
    pool: PgPool,
}

/// Advisory lock key serializing person matching across nodes.
const INTAKE_LOCK: i64 = 0x7472_6163_6564;

fn err(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => StoreError::Unavailable(e.into()),
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            StoreError::Conflict(d.message().to_string())
        }
        other => StoreError::Backend(other.into()),
    }
}

impl PostgresStore {
    /// Connects to a `postgres://` URL. The password, if any, stays inside
    /// sqlx; errors carry sqlx's text, which does not echo it.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let opts = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("invalid PostgreSQL URL: {e}").into()))?
            .application_name("tracedesk")
            // Every read tracedesk makes is a few index probes into a working
            // set that sits in memory or on SSD. PostgreSQL's default
            // random_page_cost (4) prices those as disk seeks, and so walks
            // the primary key from a list page's cursor filtering for the
            // jurisdiction rather than read the jurisdiction's own index: for
            // a small jurisdiction a walk in proportion to the table (11-13 ms
            // against 2.7 ms for a root supervisor's deep page at 300,000
            // cases). 1.1 is the usual setting for SSD; it applies to
            // tracedesk's own sessions only.
            .options([("random_page_cost", "1.1")]);
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await
            .map_err(err)?;
        Ok(Self { pool })
    }

    async fn begin(&self) -> StoreResult<Transaction<'static, Postgres>> {
        self.pool.begin().await.map_err(err)
    }

    /// A transaction holding the advisory lock `key` until it ends.
    async fn begin_locked(&self, key: i64) -> StoreResult<Transaction<'static, Postgres>> {
        let mut tx = self.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(key)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        Ok(tx)
    }

    /// The intake's transaction: under its lock, and with table scans
    /// priced out. Every intake read is a look-up by key (accessions and
    /// persons by blind index, open cases and facets by person), but the
    /// blind-index columns keep no planner statistics (migration 0012: no
    /// sealed value is copied into `pg_statistic`), so the planner guesses
    /// each key matches 0.5% of the table and reads the whole table for a
    /// batch of a thousand keys — a cost that grew with the table (seen:
    /// 0.5–1 s a look-up at 1.6 million persons). Priced out, each batch
    /// probes the indexes and costs the same at any size.
    async fn begin_intake(&self) -> StoreResult<Transaction<'static, Postgres>> {
        let mut tx = self.begin_locked(INTAKE_LOCK).await?;
        sqlx::query("SET LOCAL enable_seqscan = off")
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        Ok(tx)
    }

    /// The audit chain is serialized across nodes by its own advisory lock.
    async fn audit_tx(&self) -> StoreResult<Transaction<'static, Postgres>> {
        self.begin_locked(AUDIT_LOCK).await
    }

    /// After a purge or sunset: plain VACUUM would only let PostgreSQL reuse
    /// the dead tuples' space, their bytes still on disk; VACUUM FULL
    /// (taking each table's exclusive lock while it runs) rewrites every table that holds sealed values or
    /// blind indexes (their TOAST and indexes too), so the old tuples leave
    /// the data files at once (PostgreSQL docs, "Routine Vacuuming"), then
    /// drops planner statistics of those tables: sealed columns gather none
    /// (migration 0012), but a database from before it may still hold some.
    /// What the WAL and backups hold is outside this (docs/security.md).
    /// Waits (up to a minute) until no other session of this database holds
    /// a snapshot or transaction older than now. VACUUM FULL copies every
    /// row some snapshot may still see — a deleted row included, bytes and
    /// all — so a purge compacted beside an older snapshot (a long read on
    /// another node, an autovacuum ANALYZE) would leave what it deleted.
    async fn wait_for_older_snapshots(&self) -> StoreResult<()> {
        let mark: String = sqlx::query_scalar("SELECT (txid_current() % 4294967296)::text")
            .fetch_one(&self.pool)
            .await
            .map_err(err)?;
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let older: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND pid <> pg_backend_pid() AND (age(backend_xmin) > age($1::xid) \
                 OR age(backend_xid) > age($1::xid))",
            )
            .bind(&mark)
            .fetch_one(&self.pool)
            .await
            .map_err(err)?;
            if older == 0 {
                return Ok(());
            }
            if std::time::Instant::now() > deadline {
                tracing::warn!(
                    sessions = older,
                    "purge: sessions with older snapshots are still open; rows they can see \
                     stay in the files until the next compaction"
                );
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `Store::settle`: `VACUUM (ANALYZE)` of the whole database, outside
    /// any transaction (VACUUM cannot run in one).
    async fn settle_files(&self) -> StoreResult<()> {
        sqlx::query("VACUUM (ANALYZE)")
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn compact_files(&self) -> StoreResult<()> {
        let tables = tracedesk_store::schema::SEALED_TABLES
            .iter()
            .map(|t| t.name)
            .chain(["routing_snapshots"])
            .collect::<Vec<_>>()
            .join(", ");
        self.wait_for_older_snapshots().await?;
        sqlx::query(&format!("VACUUM (FULL) {tables}"))
            .execute(&self.pool)
            .await
            .map_err(err)?;
        {
            // Needs a superuser (pg_statistic is the system's); without one
            // the statistics stay and the operator is told.
            let cleared = sqlx::query(&format!(
                "DELETE FROM pg_statistic WHERE starelid = ANY (ARRAY[{}]::regclass[])",
                tables
                    .split(", ")
                    .map(|t| format!("'{t}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .execute(&self.pool)
            .await;
            match cleared {
                Ok(_) => {
                    sqlx::query("VACUUM (FULL) pg_statistic")
                        .execute(&self.pool)
                        .await
                        .map_err(err)?;
                    sqlx::query(&format!("ANALYZE {tables}"))
                        .execute(&self.pool)
                        .await
                        .map_err(err)?;
                }
                Err(e) => tracing::warn!(
                    error = %e,
                    "purge: could not clear planner statistics of sealed tables (needs a \
                     superuser); run VACUUM FULL pg_statistic as one"
                ),
            }
        }
        Ok(())
    }

    async fn write_tx(&self) -> StoreResult<Transaction<'static, Postgres>> {
        self.begin().await
    }

    fn write_pool(&self) -> &PgPool {
        &self.pool
    }

    /// A session-level advisory lock on a connection of its own (not the
    /// pool's, which would keep the lock after returning the connection).
    async fn routing_lease(&self) -> StoreResult<Option<Box<dyn tracedesk_store::Lease>>> {
        let mut conn = self.pool.acquire().await.map_err(err)?.detach();
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(ROUTING_LOCK)
            .fetch_one(&mut conn)
            .await
            .map_err(err)?;
        if !got {
            return Ok(None);
        }
        Ok(Some(Box::new(PgLease { conn })))
    }

    fn read_pool(&self) -> &PgPool {
        &self.pool
    }
}

/// Advisory lock key serializing audit appends across nodes.
const AUDIT_LOCK: i64 = 0x7472_6163_6175;
/// Lock-free appends give way to a writer holding the audit lock.
const AUDIT_TRY_LOCK: Option<i64> = Some(AUDIT_LOCK);

tracedesk_store::audit_store_impl!(PostgresStore);
tracedesk_store::sql_common!(Postgres);
tracedesk_store::identity_store_impl!(PostgresStore, Postgres);
tracedesk_store::retention_store_impl!(PostgresStore, Postgres);
tracedesk_store::routing_store_impl!(PostgresStore, Postgres);
/// Nodes claiming the outbox at once pass over each other's locked rows
/// rather than wait for them or claim them twice.
const SKIP_LOCKED: &str = " FOR UPDATE SKIP LOCKED";
use bulk::{insert_messages as bulk_insert_messages, upsert_monitoring as bulk_upsert_monitoring};
tracedesk_store::message_store_impl!(PostgresStore, Postgres);
tracedesk_store::monitoring_store_impl!(PostgresStore, Postgres);

/// The advisory lock that makes one node the routing leader.
const ROUTING_LOCK: i64 = 0x7472_6163_6b72_6f75; // "trackrou"

struct PgLease {
    conn: sqlx::PgConnection,
}

#[async_trait]
impl tracedesk_store::Lease for PgLease {
    async fn holds(&mut self) -> bool {
        sqlx::query("SELECT 1")
            .execute(&mut self.conn)
            .await
            .is_ok()
    }
}

/// What differs between the backends (see `tracedesk_store::store_impl!`).
impl PostgresStore {
    async fn intake_tx(&self) -> StoreResult<Transaction<'static, Postgres>> {
        self.begin_intake().await
    }

    async fn explain(&self, list: &ListQuery) -> StoreResult<ListPlan> {
        let mut tx = self.pool.begin().await.map_err(err)?;
        // The test tables are tiny, where reading every row (or a bitmap of
        // them) is cheapest; at scale it is not. With those priced out the
        // planner shows whether an index serves the read in the page's
        // order — a plan that still reads a range and sorts it has none.
        for off in ["enable_seqscan", "enable_bitmapscan"] {
            sqlx::query(&format!("SET LOCAL {off} = off"))
                .execute(&mut *tx)
                .await
                .map_err(err)?;
        }
        let mut q = list_query("EXPLAIN ", list);
        let lines: Vec<String> = q
            .build()
            .fetch_all(&mut *tx)
            .await
            .map_err(err)?
            .iter()
            .map(|r| r.try_get::<String, _>(0).map_err(err))
            .collect::<StoreResult<_>>()?;
        tx.rollback().await.map_err(err)?;
        Ok(ListPlan {
            full_scans: full_scans(&lines),
            lines,
        })
    }
}

/// The benchmark baseline's table.
/// The task feed's two reads (`sqlrouting`): PostgreSQL's planner, with
/// statistics, picks the partial indexes itself.
const TASKS_TO_ROUTE: [&str; 2] = ["tasks t", "tasks t"];

const BASELINE_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS bench_baseline (id UUID PRIMARY KEY, payload BYTEA NOT NULL)";

tracedesk_store::store_impl!(PostgresStore, Postgres, "postgres");
