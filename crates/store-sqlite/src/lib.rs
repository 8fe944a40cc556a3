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

struct SoleLease;

#[async_trait]
impl tracedesk_store::Lease for SoleLease {
    async fn holds(&mut self) -> bool {
        true
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn migrate(&self) -> StoreResult<()> {
        sqlx::migrate!("./migrations")
            .run(&self.writer)
            .await
            .map_err(|e| StoreError::Migration(e.into()))
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.reader)
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn ingest_lab_results(&self, batch: &[LabIntake]) -> StoreResult<Vec<LabIntakeOutcome>> {
        let mut tx = self.begin().await?;
        let out = ingest_in(&mut tx, batch).await?;
        tx.commit().await.map_err(err)?;
        Ok(out)
    }

    async fn add_contact(&self, c: &ContactIntake) -> StoreResult<ContactIntakeOutcome> {
        let mut tx = self.begin().await?;
        let out = add_contact_in(&mut tx, c).await?;
        tx.commit().await.map_err(err)?;
        Ok(out)
    }

    async fn get_person(&self, id: Uuid) -> StoreResult<Option<PersonRow>> {
        sqlx::query(&format!(
            "SELECT {PERSON_COLUMNS} FROM persons WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.reader)
        .await
        .map_err(err)?
        .map(|r| person(&r))
        .transpose()
    }

    async fn get_persons(&self, ids: &[Uuid]) -> StoreResult<Vec<PersonRow>> {
        let mut q = persons_query(ids);
        q.build()
            .fetch_all(&self.reader)
            .await
            .map_err(err)?
            .iter()
            .map(person)
            .collect()
    }

    async fn get_exposure(&self, id: Uuid) -> StoreResult<Option<ExposureRow>> {
        exposure_by_id(&self.reader, id).await
    }

    async fn update_exposure(&self, e: &ExposureRow) -> StoreResult<()> {
        exposure_follow_up_set(&self.writer, e).await
    }

    async fn get_facet(&self, id: Uuid) -> StoreResult<Option<PersonFacetRow>> {
        let mut conn = self.reader.acquire().await.map_err(err)?;
        facet_by_id(&mut conn, id).await
    }

    async fn facet_ids(
        &self,
        persons: &[Uuid],
    ) -> StoreResult<std::collections::HashMap<(Uuid, String), Uuid>> {
        let mut conn = self.reader.acquire().await.map_err(err)?;
        facet_ids_in(&mut conn, persons).await
    }

    async fn find_persons(&self, key: PersonKey, blind: &[u8]) -> StoreResult<Vec<PersonRow>> {
        let col = key.column();
        sqlx::query(&format!(
            "SELECT {PERSON_COLUMNS} FROM persons WHERE {col} = ? ORDER BY id LIMIT 100"
        ))
        .bind(blind)
        .fetch_all(&self.reader)
        .await
        .map_err(err)?
        .iter()
        .map(person)
        .collect()
    }

    async fn get_case(&self, id: Uuid) -> StoreResult<Option<CaseRow>> {
        sqlx::query(&format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.reader)
            .await
            .map_err(err)?
            .map(|r| case(&r))
            .transpose()
    }

    async fn list_cases(&self, f: &CaseFilter) -> StoreResult<Vec<CaseRow>> {
        let mut q = cases_query("", f);
        q.build()
            .fetch_all(&self.reader)
            .await
            .map_err(err)?
            .iter()
            .map(case)
            .collect()
    }

    async fn explain_list(&self, list: &ListQuery) -> StoreResult<ListPlan> {
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

    async fn update_case(&self, c: &CaseRow) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE cases SET status = ?, updated_at = ?, onset_date = ?, asymptomatic = ?,
             specimen_date = ?, infectious_start = ?, isolation_end = ?, key_version = ?,
             symptoms = ?, notes = ? WHERE id = ?",
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
        .execute(&self.writer)
        .await
        .map_err(err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn lab_results_for_person(&self, person_id: Uuid) -> StoreResult<Vec<LabResultRow>> {
        sqlx::query(&format!(
            "SELECT {LAB_COLUMNS} FROM lab_results WHERE person_id = ? ORDER BY id"
        ))
        .bind(person_id)
        .fetch_all(&self.reader)
        .await
        .map_err(err)?
        .iter()
        .map(lab)
        .collect()
    }

    async fn list_exposures(&self, f: &ExposureFilter) -> StoreResult<Vec<ExposureRow>> {
        let mut q = exposures_query("", f);
        q.build()
            .fetch_all(&self.reader)
            .await
            .map_err(err)?
            .iter()
            .map(exposure)
            .collect()
    }

    async fn tasks_for_case(&self, case_id: Uuid) -> StoreResult<Vec<TaskRow>> {
        sqlx::query(&format!(
            "SELECT {TASK_COLUMNS} FROM tasks WHERE case_id = ? OR exposure_id IN
             (SELECT id FROM exposures WHERE case_id = ?) ORDER BY id"
        ))
        .bind(case_id)
        .bind(case_id)
        .fetch_all(&self.reader)
        .await
        .map_err(err)?
        .iter()
        .map(task)
        .collect()
    }

    async fn insert_token(&self, t: &TokenRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO api_tokens (id, name, hash, created_at, revoked_at, user_id) VALUES (?,?,?,?,?,?)",
        )
        .bind(t.id)
        .bind(&t.name)
        .bind(&t.hash)
        .bind(t.created_at)
        .bind(t.revoked_at)
        .bind(t.user_id)
        .execute(&self.writer)
        .await
        .map_err(err)?;
        Ok(())
    }

    async fn token_by_hash(&self, hash: &[u8]) -> StoreResult<Option<TokenRow>> {
        sqlx::query(
            "SELECT id, name, hash, created_at, revoked_at, user_id FROM api_tokens WHERE hash = ?",
        )
        .bind(hash)
        .fetch_optional(&self.reader)
        .await
        .map_err(err)?
        .map(|r| token(&r))
        .transpose()
    }

    async fn list_tokens(&self) -> StoreResult<Vec<TokenRow>> {
        sqlx::query(
            "SELECT id, name, hash, created_at, revoked_at, user_id FROM api_tokens ORDER BY id",
        )
        .fetch_all(&self.reader)
        .await
        .map_err(err)?
        .iter()
        .map(token)
        .collect()
    }

    async fn revoke_token(&self, name: &str) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
        )
        .bind(chrono::Utc::now())
        .bind(name)
        .execute(&self.writer)
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
            "SELECT id, {cols} FROM {} WHERE key_version < ? AND id > ? ORDER BY id LIMIT ?",
            table.name
        ))
        .bind(i64::from(below))
        .bind(after.unwrap_or(Uuid::nil()))
        .bind(i64::from(limit))
        .fetch_all(&self.writer)
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
        let sets: Vec<String> = table.columns.iter().map(|c| format!("{c} = ?")).collect();
        let sql = format!(
            "UPDATE {} SET {}, key_version = ? WHERE id = ?",
            table.name,
            sets.join(", ")
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
            "SELECT COUNT(*) FROM {} WHERE key_version < ?",
            table.name
        ))
        .bind(i64::from(version))
        .fetch_one(&self.reader)
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
        .fetch_one(&self.reader)
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
        sqlx::query("CREATE TABLE IF NOT EXISTS bench_baseline (id BLOB PRIMARY KEY NOT NULL, payload BLOB NOT NULL)")
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        if !multi_row {
            for r in rows {
                sqlx::query("INSERT INTO bench_baseline (id, payload) VALUES (?, ?)")
                    .bind(r.id)
                    .bind(&r.payload)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
            }
            return tx.commit().await.map_err(err);
        }
        for chunk in rows.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new("INSERT INTO bench_baseline (id, payload) ");
            q.push_values(chunk, |mut b, r| {
                b.push_bind(r.id).push_bind(&r.payload);
            });
            q.build().execute(&mut *tx).await.map_err(err)?;
        }
        tx.commit().await.map_err(err)
    }

    async fn baseline_reset(&self) -> StoreResult<()> {
        sqlx::query("DROP TABLE IF EXISTS bench_baseline")
            .execute(&self.writer)
            .await
            .map_err(err)?;
        Ok(())
    }
}
