//! A scheduler round's writes on PostgreSQL, set-based: each column bound
//! as one array and the rows made by `UNNEST`, so thousands of rows are one
//! statement whose text never changes (prepared once per connection). The
//! shared code's multi-row `VALUES` binds a parameter per field — 24 for a
//! message — which costs both sides: placeholders written and parsed, and
//! every row's expressions set up by the executor (measured on the
//! 1,000,000-check-in pass, `docs/benchmarks.md`).

use chrono::{DateTime, Utc};
use sqlx::{Postgres, Row, Transaction};
use tracedesk_store::sqlrows::{MESSAGE_COLUMNS, MONITORING_COLUMNS};
use tracedesk_store::{MessageRow, MonitoringRow, StoreResult};
use uuid::Uuid;

use crate::err;

/// Rows per statement: large enough to amortize a round trip, small enough
/// to keep each statement's arrays a few megabytes.
const ROWS: usize = 5_000;

fn column<R, T>(rows: &[R], f: impl Fn(&R) -> T) -> Vec<T> {
    rows.iter().map(f).collect()
}

/// `insert_messages_in` for PostgreSQL: an inbound message whose provider
/// id is stored already is skipped; returns the ids written.
pub(crate) async fn insert_messages(
    tx: &mut Transaction<'_, Postgres>,
    rows: &[MessageRow],
) -> StoreResult<Vec<Uuid>> {
    let mut ids = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(ROWS) {
        let written = sqlx::query(&format!(
            "INSERT INTO messages ({MESSAGE_COLUMNS}) SELECT * FROM UNNEST(\
             $1::uuid[], $2::text[], $3::text[], $4::text[], $5::int4[], \
             $6::uuid[], $7::uuid[], $8::text[], $9::text[], $10::text[], $11::bytea[], \
             $12::int8[], $13::bytea[], $14::bytea[], $15::int4[], $16::text[], $17::text[], \
             $18::int4[], $19::timestamptz[], $20::text[], $21::timestamptz[], \
             $22::timestamptz[], $23::timestamptz[], $24::timestamptz[]) \
             ON CONFLICT (provider_sid) DO NOTHING RETURNING id"
        ))
        .bind(column(chunk, |m| m.id))
        .bind(column(chunk, |m| m.direction.clone()))
        .bind(column(chunk, |m| m.channel.clone()))
        .bind(column(chunk, |m| m.status.clone()))
        .bind(column(chunk, |m| m.priority))
        .bind(column(chunk, |m| m.person_id))
        .bind(column(chunk, |m| m.task_id))
        .bind(column(chunk, |m| m.jurisdiction.clone()))
        .bind(column(chunk, |m| m.template.clone()))
        .bind(column(chunk, |m| m.sender.clone()))
        .bind(column(chunk, |m| m.address_bidx.clone()))
        .bind(column(chunk, |m| i64::from(m.key_version)))
        .bind(column(chunk, |m| m.address.clone()))
        .bind(column(chunk, |m| m.body.clone()))
        .bind(column(chunk, |m| m.segments))
        .bind(column(chunk, |m| m.provider_sid.clone()))
        .bind(column(chunk, |m| m.error_code.clone()))
        .bind(column(chunk, |m| m.attempts))
        .bind(column(chunk, |m| m.next_attempt_at))
        .bind(column(chunk, |m| m.claimed_by.clone()))
        .bind(column(chunk, |m| m.claim_until))
        .bind(column(chunk, |m| m.created_at))
        .bind(column(chunk, |m| m.updated_at))
        .bind(column(chunk, |m| m.expires_at))
        .fetch_all(&mut **tx)
        .await
        .map_err(err)?;
        for r in written {
            ids.push(r.try_get::<Uuid, _>(0).map_err(err)?);
        }
    }
    Ok(ids)
}

/// `upsert_monitoring_in` for PostgreSQL: each record written whole (a new
/// one inserted, a known one's schedule, list and last answer replaced).
pub(crate) async fn upsert_monitoring(
    tx: &mut Transaction<'_, Postgres>,
    rows: &[MonitoringRow],
) -> StoreResult<()> {
    for chunk in rows.chunks(ROWS) {
        let times = |f: fn(&MonitoringRow) -> Option<DateTime<Utc>>| column(chunk, f);
        sqlx::query(&format!(
            "INSERT INTO monitoring ({MONITORING_COLUMNS}) SELECT * FROM UNNEST(\
             $1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], \
             $6::text[], $7::text[], $8::text[], $9::text[], $10::timestamptz[], \
             $11::timestamptz[], $12::timestamptz[], $13::int4[], $14::int4[], $15::int8[], \
             $16::bytea[], $17::timestamptz[], $18::timestamptz[]) \
             ON CONFLICT (id) DO UPDATE SET channel = excluded.channel, \
             checkin_window = excluded.checkin_window, time_zone = excluded.time_zone, \
             state = excluded.state, bucket = excluded.bucket, \
             next_due_at = excluded.next_due_at, last_sent_at = excluded.last_sent_at, \
             last_reply_at = excluded.last_reply_at, silent_days = excluded.silent_days, \
             unclear = excluded.unclear, key_version = excluded.key_version, \
             last_report = excluded.last_report, updated_at = excluded.updated_at"
        ))
        .bind(column(chunk, |m| m.id))
        .bind(column(chunk, |m| m.person_id))
        .bind(column(chunk, |m| m.facet_id))
        .bind(column(chunk, |m| m.jurisdiction.clone()))
        .bind(column(chunk, |m| m.channel.clone()))
        .bind(column(chunk, |m| m.checkin_window.clone()))
        .bind(column(chunk, |m| m.time_zone.clone()))
        .bind(column(chunk, |m| m.state.clone()))
        .bind(column(chunk, |m| m.bucket.clone()))
        .bind(column(chunk, |m| m.next_due_at))
        .bind(times(|m| m.last_sent_at))
        .bind(times(|m| m.last_reply_at))
        .bind(column(chunk, |m| m.silent_days))
        .bind(column(chunk, |m| m.unclear))
        .bind(column(chunk, |m| i64::from(m.key_version)))
        .bind(column(chunk, |m| m.last_report.clone()))
        .bind(column(chunk, |m| m.created_at))
        .bind(column(chunk, |m| m.updated_at))
        .execute(&mut **tx)
        .await
        .map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every column is bound once, in the order the shared column lists
    /// name them (the binds above follow the same lists).
    #[test]
    fn one_array_per_column() {
        for (columns, arrays) in [(MESSAGE_COLUMNS, 24), (MONITORING_COLUMNS, 18)] {
            assert_eq!(columns.split(", ").count(), arrays, "{columns}");
        }
    }
}
