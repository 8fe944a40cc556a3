//! Rows of daily monitoring: how and when each monitored contact is
//! checked on, and which monitoring line list they are on.

use crate::{Blind, MessageRow, Sealed, TaskRow};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::StoreResult;

/// States of a monitoring record: checked on daily, or no longer.
pub mod state {
    pub const ACTIVE: &str = "active";
    pub const CLOSED: &str = "closed";
}

/// The monitoring line lists (Sara Alert's): who reported symptoms, who
/// did not answer their last check-in, who answered well, who is done.
pub mod bucket {
    pub const SYMPTOMATIC: &str = "symptomatic";
    pub const NON_REPORTING: &str = "non_reporting";
    pub const ASYMPTOMATIC: &str = "asymptomatic";
    pub const CLOSED: &str = "closed";
    pub const ALL: [&str; 4] = [SYMPTOMATIC, NON_REPORTING, ASYMPTOMATIC, CLOSED];
}

/// One contact record under monitoring; `id` is the exposure's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitoringRow {
    pub id: Uuid,
    /// The contact's own person id (replies find it by this).
    pub person_id: Uuid,
    /// The facet the jurisdiction knows the contact as, if any: its phone
    /// and language are the ones the check-in uses.
    pub facet_id: Option<Uuid>,
    pub jurisdiction: String,
    /// `sms` (the default), `email` or `web`.
    pub channel: String,
    /// `morning`, `afternoon` or `evening`, local.
    pub checkin_window: String,
    /// IANA time zone name.
    pub time_zone: String,
    pub state: String,
    pub bucket: String,
    pub next_due_at: DateTime<Utc>,
    pub last_sent_at: Option<DateTime<Utc>>,
    pub last_reply_at: Option<DateTime<Utc>>,
    /// Check-ins in a row that got no answer.
    pub silent_days: i32,
    /// Replies since the last check-in that were not understood.
    pub unclear: i32,
    pub key_version: u32,
    /// What the last reply said (JSON: well, or the symptoms named), sealed.
    pub last_report: Option<Sealed>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// How a newly monitored contact is checked on until someone says
/// otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitoringDefaults {
    pub channel: String,
    pub checkin_window: String,
    pub time_zone: String,
}

/// A monitoring record whose check-in is due, with what sending it needs:
/// the exposure's standing and the contact's sealed phone and language as
/// the jurisdiction knows them (the facet's, else the person's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueCheckin {
    pub row: MonitoringRow,
    pub exposure_status: String,
    pub quarantine_end: NaiveDate,
    /// `persons` or `person_facets`, and the row id and key version the
    /// phone and language below are sealed for.
    pub sealed_in: &'static str,
    pub sealed_id: Uuid,
    pub sealed_version: u32,
    pub phone: Option<Sealed>,
    pub email: Option<Sealed>,
    pub language: Option<Sealed>,
    /// The person row's phone index, when the phone is the person's.
    pub phone_bidx: Option<Blind>,
    /// The phone texted STOP.
    pub opted_out: bool,
}

/// A contact record's move along its lifecycle, made only if it still
/// stands where it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExposureMove {
    pub id: Uuid,
    pub from: String,
    pub to: String,
}

/// What one round of monitoring writes, in one transaction: the records
/// updated, the check-ins and answers queued, the follow-up tasks made,
/// the contact records moved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonitoringRound {
    pub rows: Vec<MonitoringRow>,
    pub messages: Vec<MessageRow>,
    pub tasks: Vec<TaskRow>,
    pub moves: Vec<ExposureMove>,
}

#[async_trait]
pub trait MonitoringStore: Send + Sync {
    /// Starts monitoring contact records in `monitoring` that have no
    /// record yet (those of `only`, or all), due at once; returns how many.
    async fn enroll_monitoring(
        &self,
        only: Option<&[Uuid]>,
        defaults: &MonitoringDefaults,
        at: DateTime<Utc>,
    ) -> StoreResult<u64>;
    /// Up to `limit` active records due by `now`, soonest first, after
    /// `after` (the last of the previous round: a pass reads on through the
    /// index instead of over what it just moved).
    async fn due_checkins(
        &self,
        now: DateTime<Utc>,
        after: Option<(DateTime<Utc>, Uuid)>,
        limit: u32,
    ) -> StoreResult<Vec<DueCheckin>>;
    /// Writes a round whole: rows, messages, tasks and moves (a move whose
    /// record is no longer where it was read is skipped).
    async fn record_monitoring(&self, round: &MonitoringRound) -> StoreResult<()>;
    async fn get_monitoring(&self, id: Uuid) -> StoreResult<Option<MonitoringRow>>;
    /// A person's active monitoring records.
    async fn person_monitoring(&self, person_id: Uuid) -> StoreResult<Vec<MonitoringRow>>;
    /// A line list: records on `bucket` in `jurisdictions` (all with
    /// `None`), in id order after `after`.
    async fn monitoring_list(
        &self,
        bucket: &str,
        jurisdictions: Option<&[String]>,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<MonitoringRow>>;
}
