//! PostgreSQL backend: for a nation's load, with any number of stateless
//! tracedesk nodes in front of one database.
//!
//! Intake transactions take a transaction-scoped advisory lock, so two nodes
//! matching the same new person at once cannot both create it.

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
            .application_name("tracedesk");
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

    async fn begin_intake(&self) -> StoreResult<Transaction<'static, Postgres>> {
        self.begin_locked(INTAKE_LOCK).await
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

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn migrate(&self) -> StoreResult<()> {
        sqlx::migrate!("./migrations")
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Migration(e.into()))
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn ingest_lab_results(&self, batch: &[LabIntake]) -> StoreResult<Vec<LabIntakeOutcome>> {
        let mut tx = self.begin_intake().await?;
        let out = ingest_in(&mut tx, batch).await?;
        tx.commit().await.map_err(err)?;
        Ok(out)
    }

    async fn add_contact(&self, c: &ContactIntake) -> StoreResult<ContactIntakeOutcome> {
        let mut tx = self.begin_intake().await?;
        let out = add_contact_in(&mut tx, c).await?;
        tx.commit().await.map_err(err)?;
        Ok(out)
    }

    async fn get_person(&self, id: Uuid) -> StoreResult<Option<PersonRow>> {
        sqlx::query(&format!(
            "SELECT {PERSON_COLUMNS} FROM persons WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(err)?
        .map(|r| person(&r))
        .transpose()
    }

    async fn get_persons(&self, ids: &[Uuid]) -> StoreResult<Vec<PersonRow>> {
        let mut q = persons_query(ids);
        q.build()
            .fetch_all(&self.pool)
            .await
            .map_err(err)?
            .iter()
            .map(person)
            .collect()
    }

    async fn get_exposure(&self, id: Uuid) -> StoreResult<Option<ExposureRow>> {
        exposure_by_id(&self.pool, id).await
    }

    async fn update_exposure(&self, e: &ExposureRow) -> StoreResult<()> {
        exposure_follow_up_set(&self.pool, e).await
    }

    async fn get_facet(&self, id: Uuid) -> StoreResult<Option<PersonFacetRow>> {
        let mut conn = self.pool.acquire().await.map_err(err)?;
        facet_by_id(&mut conn, id).await
    }

    async fn facet_ids(
        &self,
        persons: &[Uuid],
    ) -> StoreResult<std::collections::HashMap<(Uuid, String), Uuid>> {
        let mut conn = self.pool.acquire().await.map_err(err)?;
        facet_ids_in(&mut conn, persons).await
    }

    async fn find_persons(&self, key: PersonKey, blind: &[u8]) -> StoreResult<Vec<PersonRow>> {
        let col = key.column();
        sqlx::query(&format!(
            "SELECT {PERSON_COLUMNS} FROM persons WHERE {col} = $1 ORDER BY id LIMIT 100"
        ))
        .bind(blind)
        .fetch_all(&self.pool)
        .await
        .map_err(err)?
        .iter()
        .map(person)
        .collect()
    }

    async fn get_case(&self, id: Uuid) -> StoreResult<Option<CaseRow>> {
        sqlx::query(&format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(err)?
            .map(|r| case(&r))
            .transpose()
    }

    async fn list_cases(&self, f: &CaseFilter) -> StoreResult<Vec<CaseRow>> {
        let mut q = cases_query("", f);
        q.build()
            .fetch_all(&self.pool)
            .await
            .map_err(err)?
            .iter()
            .map(case)
            .collect()
    }

    async fn explain_list(&self, list: &ListQuery) -> StoreResult<ListPlan> {
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

    async fn update_case(&self, c: &CaseRow) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE cases SET status = $1, updated_at = $2, onset_date = $3, asymptomatic = $4,
             specimen_date = $5, infectious_start = $6, isolation_end = $7, key_version = $8,
             symptoms = $9, notes = $10 WHERE id = $11",
        )
        .bind(&c.status)
        .bind(c.updated_at)
        .bind(c.onset_date)
        .bind(c.asymptomatic)
        .bind(c.specimen_date)
        .bind(c.infectious_start)
        .bind(c.isolation_end)
        .bind(i64::from(c.key_version))
        .bind(&c.symptoms)
        .bind(&c.notes)
        .bind(c.id)
        .execute(&self.pool)
        .await
        .map_err(err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn lab_results_for_person(&self, person_id: Uuid) -> StoreResult<Vec<LabResultRow>> {
        sqlx::query(&format!(
            "SELECT {LAB_COLUMNS} FROM lab_results WHERE person_id = $1 ORDER BY id"
        ))
        .bind(person_id)
        .fetch_all(&self.pool)
        .await
        .map_err(err)?
        .iter()
        .map(lab)
        .collect()
    }

    async fn list_exposures(&self, f: &ExposureFilter) -> StoreResult<Vec<ExposureRow>> {
        let mut q = exposures_query("", f);
        q.build()
            .fetch_all(&self.pool)
            .await
            .map_err(err)?
            .iter()
            .map(exposure)
            .collect()
    }

    async fn tasks_for_case(&self, case_id: Uuid) -> StoreResult<Vec<TaskRow>> {
        sqlx::query(&format!(
            "SELECT {TASK_COLUMNS} FROM tasks WHERE case_id = $1 OR exposure_id IN
             (SELECT id FROM exposures WHERE case_id = $2) ORDER BY id"
        ))
        .bind(case_id)
        .bind(case_id)
        .fetch_all(&self.pool)
        .await
        .map_err(err)?
        .iter()
        .map(task)
        .collect()
    }

    async fn insert_token(&self, t: &TokenRow) -> StoreResult<()> {
        sqlx::query("INSERT INTO api_tokens (id, name, hash, created_at, revoked_at, user_id) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(t.id)
            .bind(&t.name)
            .bind(&t.hash)
            .bind(t.created_at)
            .bind(t.revoked_at)
        .bind(t.user_id)
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn token_by_hash(&self, hash: &[u8]) -> StoreResult<Option<TokenRow>> {
        sqlx::query("SELECT id, name, hash, created_at, revoked_at, user_id FROM api_tokens WHERE hash = $1")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(err)?
            .map(|r| token(&r))
            .transpose()
    }

    async fn list_tokens(&self) -> StoreResult<Vec<TokenRow>> {
        sqlx::query(
            "SELECT id, name, hash, created_at, revoked_at, user_id FROM api_tokens ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(err)?
        .iter()
        .map(token)
        .collect()
    }

    async fn revoke_token(&self, name: &str) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL",
        )
        .bind(chrono::Utc::now())
        .bind(name)
        .execute(&self.pool)
        .await
        .map_err(err)?;
        Ok(done.rows_affected())
    }

    async fn sealed_batch(
        &self,
        table: &'static SealedTable,
        below: u32,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<SealedRow>> {
        let cols = table.columns.join(", ");
        sqlx::query(&format!(
            "SELECT id, {cols} FROM {} WHERE key_version < $1 AND id > $2 ORDER BY id LIMIT $3",
            table.name
        ))
        .bind(i64::from(below))
        .bind(after.unwrap_or(Uuid::nil()))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(err)?
        .iter()
        .map(|r| sealed_row(r, table))
        .collect()
    }

    async fn write_sealed(
        &self,
        table: &'static SealedTable,
        rows: &[SealedRow],
        version: u32,
    ) -> StoreResult<()> {
        let n = table.columns.len();
        let sets: Vec<String> = table
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c} = ${}", i + 1))
            .collect();
        let sql = format!(
            "UPDATE {} SET {}, key_version = ${} WHERE id = ${}",
            table.name,
            sets.join(", "),
            n + 1,
            n + 2
        );
        let mut tx = self.begin().await?;
        for row in rows {
            let mut q = sqlx::query(&sql);
            for v in &row.values {
                q = q.bind(v);
            }
            q.bind(i64::from(version))
                .bind(row.id)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
        }
        tx.commit().await.map_err(err)
    }

    async fn count_below_version(
        &self,
        table: &'static SealedTable,
        version: u32,
    ) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM {} WHERE key_version < $1",
            table.name
        ))
        .bind(i64::from(version))
        .fetch_one(&self.pool)
        .await
        .map_err(err)?;
        Ok(n.unsigned_abs())
    }

    async fn counts(&self) -> StoreResult<Counts> {
        let r = sqlx::query(&format!(
            "SELECT (SELECT COUNT(*) FROM persons), (SELECT COUNT(*) FROM cases),
                    (SELECT COUNT(*) FROM cases WHERE status NOT IN ({CLOSED_CASE_STATUSES})),
                    (SELECT COUNT(*) FROM lab_results), (SELECT COUNT(*) FROM exposures),
                    (SELECT COUNT(*) FROM tasks)"
        ))
        .fetch_one(&self.pool)
        .await
        .map_err(err)?;
        let n = |i: usize| -> StoreResult<u64> {
            Ok(r.try_get::<i64, _>(i).map_err(err)?.unsigned_abs())
        };
        Ok(Counts {
            persons: n(0)?,
            cases: n(1)?,
            open_cases: n(2)?,
            lab_results: n(3)?,
            exposures: n(4)?,
            tasks: n(5)?,
        })
    }

    async fn baseline_insert(&self, rows: &[BaselineRow], multi_row: bool) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query("CREATE TABLE IF NOT EXISTS bench_baseline (id UUID PRIMARY KEY, payload BYTEA NOT NULL)")
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        if !multi_row {
            for r in rows {
                sqlx::query("INSERT INTO bench_baseline (id, payload) VALUES ($1, $2)")
                    .bind(r.id)
                    .bind(&r.payload)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
            }
            return tx.commit().await.map_err(err);
        }
        for chunk in rows.chunks(CHUNK) {
            let mut q = QueryBuilder::<Postgres>::new("INSERT INTO bench_baseline (id, payload) ");
            q.push_values(chunk, |mut b, r| {
                b.push_bind(r.id).push_bind(&r.payload);
            });
            q.build().execute(&mut *tx).await.map_err(err)?;
        }
        tx.commit().await.map_err(err)
    }

    async fn baseline_reset(&self) -> StoreResult<()> {
        sqlx::query("DROP TABLE IF EXISTS bench_baseline")
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(())
    }
}
