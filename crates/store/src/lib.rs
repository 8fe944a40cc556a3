//! The storage trait every tracedesk backend implements.
//!
//! A store only ever sees sealed bytes, blind indexes and non-identifying
//! metadata (ids, statuses, dates used for scheduling). Sealing happens above
//! it, in `tracedesk-casework`, so a backend cannot leak plaintext even by
//! mistake. Multi-step operations that must not race (matching a person and
//! creating a case) are single trait calls that the backend runs in one
//! transaction.

pub mod intake;
pub mod messages;
pub mod monitoring;
mod rows;
pub mod schema;
pub mod sqlgen;
pub mod sqlidentity;
pub mod sqlmerge;
pub mod sqlmessages;
pub mod sqlmonitoring;
pub mod sqlretention;
pub mod sqlrouting;
pub mod sqlrows;
pub mod sqlstore;

pub use messages::{Claimed, ConsentRow, MessageRow, SendOutcome, TemplateRow, UnknownSender};
pub use monitoring::{
    DueCheckin, ExposureMove, MonitoringDefaults, MonitoringRound, MonitoringRow, MonitoringStore,
};
pub use rows::*;
pub use tracedesk_audit as audit;
pub use tracedesk_domain as domain;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Storage errors. Messages never contain PHI (the store never holds any in
/// plaintext) but may contain SQL-level detail, so the HTTP layer logs them
/// and shows a generic message.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("database unavailable: {0}")]
    Unavailable(#[source] Source),
    #[error("migration failed: {0}")]
    Migration(#[source] Source),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Backend(#[source] Source),
}

/// The error beneath a store error, kept whole (driver error, I/O error)
/// so a log of the chain shows where it came from; a plain message where
/// there is no error value.
pub type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

pub type StoreResult<T> = Result<T, StoreError>;

/// Which blind index a person look-up uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PersonKey {
    Phone,
    Email,
    NameDob,
    PhoneName,
}

impl PersonKey {
    pub fn column(self) -> &'static str {
        match self {
            PersonKey::Phone => "phone_bidx",
            PersonKey::Email => "email_bidx",
            PersonKey::NameDob => "name_dob_bidx",
            PersonKey::PhoneName => "phone_name_bidx",
        }
    }

    pub const ALL: [PersonKey; 4] = [
        PersonKey::NameDob,
        PersonKey::PhoneName,
        PersonKey::Phone,
        PersonKey::Email,
    ];

    /// The key whose blind-index column is `column`.
    pub fn of_column(column: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.column() == column)
    }
}

/// The audit log's storage; every `Store` is one.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Chains and appends audit entries in one transaction that holds the
    /// log's write lock, so concurrent writers (other nodes too) never fork
    /// the chain. The log is append-only: the schema refuses UPDATE and DELETE.
    async fn append_audit(&self, drafts: &[audit::Draft]) -> StoreResult<Vec<audit::Entry>>;
    /// Appends after a head the caller already knows (its own last append),
    /// in one statement and one round trip, without taking the log's lock.
    /// The sequence number's uniqueness keeps the chain whole: if anyone
    /// appended since, this fails with `Conflict` and nothing is written,
    /// and the caller falls back to `append_audit`.
    async fn append_audit_after(
        &self,
        head: (i64, [u8; 32]),
        drafts: &[audit::Draft],
    ) -> StoreResult<Vec<audit::Entry>>;
    /// Entries after `after_seq`, in sequence order.
    async fn audit_entries(&self, after_seq: i64, limit: u32) -> StoreResult<Vec<audit::Entry>>;
    /// The newest entry's sequence number and hash.
    async fn audit_head(&self) -> StoreResult<Option<(i64, [u8; 32])>>;
    /// Stores a signed checkpoint. A linked one must link to the newest
    /// checkpoint stored (checked under the log's lock): `Conflict` when
    /// another signer got there first.
    async fn add_audit_checkpoint(&self, cp: &audit::Checkpoint) -> StoreResult<()>;
    async fn last_audit_checkpoint(&self) -> StoreResult<Option<audit::Checkpoint>>;
    async fn audit_checkpoints(&self) -> StoreResult<Vec<audit::Checkpoint>>;
    /// Every entry about one person, oldest first (the disclosure record).
    async fn audit_for_person(&self, person: Uuid) -> StoreResult<Vec<audit::Entry>>;
}

/// The routing engine's event log: appended as events happen, read in
/// order to rebuild the engine at start.
#[async_trait]
pub trait RoutingStore: Send + Sync {
    /// Appends events and records where their tasks now stand, in one
    /// transaction, so the case-work task list never disagrees with the
    /// routing log; `Conflict` when a `seq` is taken (another process
    /// appended first), and then nothing is written. Progress of a task
    /// that is not a case-work task changes nothing.
    async fn append_routing_events(
        &self,
        rows: &[RoutingEventRow],
        progress: &[TaskProgress],
    ) -> StoreResult<()>;
    /// Case-work tasks routing has yet to hear of, oldest first, with
    /// their person's sealed language: first those routing must let go of
    /// (`withdrawal` set), then new pending ones to route; up to `limit` of
    /// each.
    async fn unrouted_tasks(&self, limit: u32) -> StoreResult<Vec<UnroutedTask>>;
    /// Marks tasks as handed over without routing them (routing refused them).
    async fn set_tasks_routed(&self, ids: &[Uuid]) -> StoreResult<()>;
    /// Records that routing no longer holds these tasks (it had already
    /// let go of them when asked to withdraw them).
    async fn finish_withdrawals(&self, ids: &[Uuid]) -> StoreResult<()>;
    /// Cancels a case's unfinished tasks in the task list and has routing
    /// withdraw those it holds (the case closed). Returns how many.
    async fn withdraw_case_tasks(&self, case_id: Uuid) -> StoreResult<u64>;
    /// The same for a contact record's tasks (the contact's follow-up ended).
    async fn withdraw_exposure_tasks(&self, exposure_id: Uuid) -> StoreResult<u64>;
    /// The same for one task (a referral it served was settled).
    async fn withdraw_task(&self, id: Uuid) -> StoreResult<u64>;
    /// Replaces the routing snapshot with `snapshot`, in one transaction.
    async fn save_routing_snapshot(&self, snapshot: &RoutingSnapshot) -> StoreResult<()>;
    /// The newest routing snapshot, if a whole one is stored.
    async fn routing_snapshot(&self) -> StoreResult<Option<RoutingSnapshot>>;
    /// Deletes the routing log and its snapshots (sunset: routing ends with
    /// the program, and its events may name people's languages). Returns the
    /// events deleted.
    async fn clear_routing(&self) -> StoreResult<u64>;
    /// Events after `after_seq`, in order.
    async fn routing_events(&self, after_seq: i64, limit: u32)
    -> StoreResult<Vec<RoutingEventRow>>;
    /// Tries to become the one node that routes; `url` is where followers
    /// forward to. The lease lasts until it is dropped or its connection dies.
    async fn try_lead_routing(&self, url: &str) -> StoreResult<Option<Box<dyn Lease>>>;
    /// Where the current leader said it can be reached.
    async fn routing_leader(&self) -> StoreResult<Option<String>>;
}

/// Held by the node that leads routing.
#[async_trait]
pub trait Lease: Send + Sync {
    /// Whether the lease still holds (its connection is alive).
    async fn holds(&mut self) -> bool;
}

/// Staff accounts, teams, jurisdictions, sessions, login throttling,
/// break-glass grants and task assignment; every `Store` is one.
#[async_trait]
pub trait IdentityStore: Send + Sync {
    async fn insert_user(&self, user: &UserRow) -> StoreResult<()>;
    /// Writes every mutable field of the user; `NotFound` if absent.
    async fn update_user(&self, user: &UserRow) -> StoreResult<()>;
    async fn get_user(&self, id: Uuid) -> StoreResult<Option<UserRow>>;
    async fn user_by_username(&self, username_bidx: &[u8]) -> StoreResult<Option<UserRow>>;
    async fn list_users(&self) -> StoreResult<Vec<UserRow>>;
    /// Counts a failed login atomically and locks the account when the count
    /// reaches `lock_at`; returns the new count.
    async fn record_login_failure(
        &self,
        user: Uuid,
        at: DateTime<Utc>,
        lock_at: i32,
    ) -> StoreResult<i32>;
    async fn clear_login_failures(&self, user: Uuid) -> StoreResult<()>;
    /// Failures and the last failure time of a client address.
    async fn client_failures(&self, client: &str) -> StoreResult<Option<(i32, DateTime<Utc>)>>;
    async fn record_client_failure(&self, client: &str, at: DateTime<Utc>) -> StoreResult<i32>;
    async fn clear_client_failures(&self, client: &str) -> StoreResult<()>;
    /// Forgets failure counters of clients whose last failure is older than `before`.
    async fn prune_client_failures(&self, before: DateTime<Utc>) -> StoreResult<u64>;

    async fn upsert_jurisdiction(&self, j: &JurisdictionRow) -> StoreResult<()>;
    async fn list_jurisdictions(&self) -> StoreResult<Vec<JurisdictionRow>>;
    async fn insert_team(&self, team: &TeamRow) -> StoreResult<()>;
    async fn list_teams(&self) -> StoreResult<Vec<TeamRow>>;
    /// Adds (`member`) or removes a user from a team.
    async fn set_team_member(&self, team: Uuid, user: Uuid, member: bool) -> StoreResult<()>;
    /// (team, user) pairs.
    async fn team_memberships(&self) -> StoreResult<Vec<(Uuid, Uuid)>>;
    /// Everyone sharing a team with `user` (including `user`).
    async fn teammates(&self, user: Uuid) -> StoreResult<Vec<Uuid>>;

    async fn insert_session(&self, session: &SessionRow) -> StoreResult<()>;
    async fn session(&self, hash: &[u8]) -> StoreResult<Option<SessionRow>>;
    async fn touch_session(&self, hash: &[u8], at: DateTime<Utc>) -> StoreResult<()>;
    async fn delete_session(&self, hash: &[u8]) -> StoreResult<()>;
    /// Ends every session of a user (logout everywhere, disable, reset).
    async fn delete_user_sessions(&self, user: Uuid) -> StoreResult<u64>;

    async fn insert_break_glass(&self, grant: &BreakGlassRow) -> StoreResult<()>;
    /// Break-glass grants opened by `users` since `since`, newest first.
    async fn break_glass_by_users(
        &self,
        users: &[Uuid],
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<BreakGlassRow>>;
    /// The facts deciding whether `user` may touch `person`'s record.
    async fn access_rows(&self, user: Uuid, person: Uuid) -> StoreResult<AccessRows>;

    async fn get_task(&self, id: Uuid) -> StoreResult<Option<TaskRow>>;
    /// Assigns a task by hand (`Some`: status `assigned`) or returns it to
    /// the queue (`None`: `pending`, to be routed anew); routing is asked to
    /// let go of it if it holds it. Returns the status set; `NotFound` if
    /// absent.
    async fn assign_task(&self, id: Uuid, assignee: Option<Uuid>) -> StoreResult<&'static str>;
    /// A page of one user's tasks, newest first.
    async fn list_tasks(&self, filter: &TaskFilter) -> StoreResult<Vec<TaskRow>>;
}

/// The outbox, every person's message thread and the consent registry.
/// Addresses and bodies arrive sealed; the store sees blind indexes,
/// statuses and times.
#[async_trait]
pub trait MessageStore: Send + Sync {
    /// Writes messages (outbound: queued; inbound: received) in one
    /// transaction. An inbound message whose `provider_sid` is already
    /// stored is skipped; returns the ids written.
    async fn insert_messages(&self, rows: &[MessageRow]) -> StoreResult<Vec<Uuid>>;
    /// Claims up to `limit` due messages for `node` until `until`, most
    /// urgent first: queued ones whose time has come, and ones another
    /// claim left `sending` past its lease (marked `uncertain`). Each is
    /// claimed by one node only, however many ask at once. A message past
    /// its expiry is marked expired instead.
    async fn claim_messages(
        &self,
        node: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Claimed>>;
    /// Records what sending a claimed message came to, if `node` still
    /// holds the claim; `false` (nothing written) if it does not.
    async fn finish_message(
        &self,
        id: Uuid,
        node: &str,
        outcome: &SendOutcome,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// [`finish_message`](Self::finish_message) for a dispatch pass's
    /// outcomes, in one transaction; returns how many were recorded.
    async fn finish_messages(
        &self,
        node: &str,
        outcomes: &[(Uuid, SendOutcome)],
        at: DateTime<Utc>,
    ) -> StoreResult<u64>;
    /// A provider's status for the message it knows as `provider_sid`,
    /// applied only if it moves the message forward (`messages::status::rank`).
    /// Returns whether it did; `NotFound` for an unknown id.
    async fn message_status(
        &self,
        provider_sid: &str,
        status: &str,
        error_code: Option<&str>,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
    async fn get_message(&self, id: Uuid) -> StoreResult<Option<MessageRow>>;
    /// A person's messages, newest first, before `before` if given.
    async fn person_messages(
        &self,
        person: Uuid,
        before: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<MessageRow>>;
    /// Messages to or from an address, newest first (the sandbox phone,
    /// and finding whom an inbound text answers).
    async fn address_messages(
        &self,
        address_bidx: &[u8],
        limit: u32,
    ) -> StoreResult<Vec<MessageRow>>;
    /// Counts of messages by status, inbound ones as `received` (for
    /// metrics and the benches).
    async fn message_counts(&self) -> StoreResult<Vec<(String, i64)>>;
    async fn set_consent(&self, row: &ConsentRow) -> StoreResult<()>;
    async fn consent(&self, address_bidx: &[u8]) -> StoreResult<Option<ConsentRow>>;
    /// Inbound texts awaiting triage, newest first, before `before` if
    /// given: those on an open `triage` task, and any matched to no person
    /// at all (stored before triage tasks, or when one could not be made).
    async fn unmatched_inbound(
        &self,
        before: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<MessageRow>>;
    /// Which of these addresses are opted out (one read for a dispatch
    /// pass's claim).
    async fn opted_out(&self, address_bidxs: &[Vec<u8>]) -> StoreResult<Vec<Vec<u8>>>;
    /// The messages that served a task (its outreach attempts by message),
    /// newest first, at most `limit`.
    async fn task_messages(&self, task: Uuid, limit: u32) -> StoreResult<Vec<MessageRow>>;
    /// Attaches an inbound text matched to no person to `task`'s person
    /// and jurisdiction (triage), writing the task in the same
    /// transaction; `false`, and nothing written, if it is not such a text
    /// (any more: another caller attached it first).
    async fn attach_inbound(
        &self,
        id: Uuid,
        task: &TaskRow,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Inbound messages as `insert_messages` writes them, with the unknown
    /// senders some of them name (`person_id` is the sender's person): each
    /// sender's person and triage task are written only if one of its
    /// messages is (a duplicate delivery makes none). One transaction.
    async fn insert_inbound(
        &self,
        rows: &[MessageRow],
        senders: &[UnknownSender],
    ) -> StoreResult<Vec<Uuid>>;
    /// Puts an inbound message on `task`, written in the same transaction
    /// (a number whose triage task was finished writes again).
    async fn retask_inbound(&self, id: Uuid, task: &TaskRow) -> StoreResult<()>;
    /// Triage done: every message of the unknown sender `sender` moves to
    /// `callback`'s person, jurisdiction and task; the sender's stand-in
    /// record forgets the number (purged), its open triage task is
    /// withdrawn, and `callback` is written. `false`, and nothing written,
    /// if the sender was identified already.
    async fn identify_sender(
        &self,
        sender: Uuid,
        callback: &TaskRow,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// For each of these addresses, the newest message that says whose
    /// number it is: one sent to it, or one from it attached to a person
    /// (never a click-to-call's leg to a tracer). One read for a group of
    /// inbound texts.
    async fn last_known_messages(&self, address_bidxs: &[Vec<u8>]) -> StoreResult<Vec<MessageRow>>;
    /// The persons holding each of these phone indexes, as their own
    /// record's phone or a phone learned later: (index, person, their
    /// jurisdiction). One read for a group of inbound texts.
    async fn phone_holders(
        &self,
        phone_bidxs: &[Vec<u8>],
    ) -> StoreResult<Vec<(Vec<u8>, Uuid, String)>>;
    /// Every operator-edited template.
    async fn list_templates(&self) -> StoreResult<Vec<TemplateRow>>;
    /// Saves an edited template (replacing an earlier edit).
    async fn put_template(&self, row: &TemplateRow) -> StoreResult<()>;
    /// Deletes an edit (the built-in applies again); whether there was one.
    async fn delete_template(&self, name: &str, channel: &str, language: &str)
    -> StoreResult<bool>;
}

/// Retention: finding persons whose records are all closed long enough,
/// replacing their PHI with de-identified stubs, and compacting the files
/// so the purged bytes do not linger.
#[async_trait]
pub trait RetentionStore: Send + Sync {
    /// Unpurged persons, in id order after `after`, whose cases and contact
    /// records all closed by the cutoffs (and who were created by
    /// `cutoffs.labs`); with `None`, every unpurged person (sunset).
    async fn purge_candidates(
        &self,
        cutoffs: Option<PurgeCutoffs>,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<Uuid>>;
    /// Writes the stubs of these persons in one transaction.
    async fn purge_persons(&self, plans: &[PersonPurge], at: DateTime<Utc>) -> StoreResult<()>;
    /// Makes freed pages unrecoverable from the database files: SQLite
    /// vacuums and truncates its WAL; PostgreSQL rewrites every sealed table
    /// with VACUUM FULL (exclusive locks while it runs) and drops their
    /// planner statistics.
    async fn compact(&self) -> StoreResult<()>;
}

#[async_trait]
pub trait Store:
    AuditStore
    + IdentityStore
    + MessageStore
    + MonitoringStore
    + RetentionStore
    + RoutingStore
    + Send
    + Sync
    + 'static
{
    /// Short backend name for logs and metrics: `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Applies pending migrations of this backend.
    async fn migrate(&self) -> StoreResult<()>;

    /// A cheap round trip, for readiness checks.
    async fn ping(&self) -> StoreResult<()>;

    /// Records lab results in one transaction: for each item, skip it if its
    /// accession is known; match the person by the first matching key or
    /// insert the candidate; for a positive, attach to the person's open case
    /// or insert the candidate case and its interview task.
    async fn ingest_lab_results(&self, batch: &[LabIntake]) -> StoreResult<Vec<LabIntakeOutcome>>;

    /// For each item in turn, matches or inserts the contact person and
    /// inserts the exposure and its notification task — all in one
    /// transaction, so a batch is recorded whole or not at all.
    async fn add_contacts(&self, batch: &[ContactIntake])
    -> StoreResult<Vec<ContactIntakeOutcome>>;

    async fn get_person(&self, id: Uuid) -> StoreResult<Option<PersonRow>>;
    /// The persons with these ids (in no order; absent ones left out).
    async fn get_persons(&self, ids: &[Uuid]) -> StoreResult<Vec<PersonRow>>;
    /// A facet by its id (the person's id as its jurisdiction knows them).
    async fn get_facet(&self, id: Uuid) -> StoreResult<Option<PersonFacetRow>>;
    /// The facets of these persons, as (person, jurisdiction) → facet id.
    async fn facet_ids(
        &self,
        persons: &[Uuid],
    ) -> StoreResult<std::collections::HashMap<(Uuid, String), Uuid>>;
    async fn find_persons(&self, key: PersonKey, blind: &[u8]) -> StoreResult<Vec<PersonRow>>;

    async fn get_case(&self, id: Uuid) -> StoreResult<Option<CaseRow>>;
    async fn list_cases(&self, filter: &CaseFilter) -> StoreResult<Vec<CaseRow>>;
    /// The query plan of a list read (what the plan tests assert on).
    async fn explain_list(&self, list: &ListQuery) -> StoreResult<ListPlan>;
    /// Writes the mutable fields of a case; `NotFound` if it does not exist.
    async fn update_case(&self, case: &CaseRow) -> StoreResult<()>;

    async fn lab_results_for_person(&self, person: Uuid) -> StoreResult<Vec<LabResultRow>>;
    async fn get_lab_result(&self, id: Uuid) -> StoreResult<Option<LabResultRow>>;
    async fn list_exposures(&self, filter: &ExposureFilter) -> StoreResult<Vec<ExposureRow>>;
    async fn get_exposure(&self, id: Uuid) -> StoreResult<Option<ExposureRow>>;
    /// Writes a contact record's follow-up (status, exposure dates,
    /// setting, ongoing exposure, negative test date, quarantine end,
    /// contact case) and `updated_at`; `NotFound` if it does not exist.
    async fn update_exposure(&self, e: &ExposureRow) -> StoreResult<()>;
    async fn tasks_for_case(&self, case: Uuid) -> StoreResult<Vec<TaskRow>>;

    /// Appends entries of case work, with the tasks they make (a referral's
    /// support request), in one transaction.
    async fn add_entries(&self, entries: &[EntryRow], tasks: &[TaskRow]) -> StoreResult<()>;
    /// The entries of one record, oldest first; of one kind when given.
    async fn entries(&self, owner: EntryOwner, kind: Option<&str>) -> StoreResult<Vec<EntryRow>>;
    async fn get_entry(&self, id: Uuid) -> StoreResult<Option<EntryRow>>;
    /// Sets where an entry stands (a referral's progress); `NotFound` if
    /// absent. The body is never changed: entries are append-only.
    async fn set_entry_status(&self, id: Uuid, status: &str) -> StoreResult<()>;
    /// Writes a case's household and its members in one transaction (the
    /// household replaced whole: its address, and members added; none is
    /// ever removed, since the contact records stay).
    async fn put_household(
        &self,
        household: &HouseholdRow,
        members: &[HouseholdMember],
    ) -> StoreResult<()>;
    /// A case's household and its members.
    async fn household_of_case(
        &self,
        case: Uuid,
    ) -> StoreResult<Option<(HouseholdRow, Vec<HouseholdMember>)>>;
    /// The households a person belongs to (their ids and cases).
    async fn households_of_person(&self, person: Uuid) -> StoreResult<Vec<HouseholdRow>>;
    async fn insert_cluster(&self, c: &ClusterRow) -> StoreResult<()>;
    async fn get_cluster(&self, id: Uuid) -> StoreResult<Option<ClusterRow>>;
    /// Clusters of these jurisdictions, newest first (at most `limit`).
    async fn list_clusters(
        &self,
        jurisdictions: &[String],
        limit: u32,
    ) -> StoreResult<Vec<ClusterRow>>;
    /// Attaches a case or contact record to a cluster (again: no change).
    async fn add_cluster_member(
        &self,
        cluster: Uuid,
        member: ClusterMember,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn cluster_members(&self, cluster: Uuid) -> StoreResult<Vec<ClusterMember>>;
    /// The facts learned about a person after their record was made,
    /// oldest first.
    async fn person_points(&self, person: Uuid) -> StoreResult<Vec<PointRow>>;
    /// Makes `user` the case's investigator (`None`: nobody), in one
    /// transaction: every other hold on the case ends, and `user` holds it
    /// (an `investigation` task, assigned and never routed) while it is
    /// open. `NotFound` when the case does not exist.
    async fn set_investigator(
        &self,
        case: Uuid,
        user: Option<Uuid>,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Moves a case to another jurisdiction in one transaction: the case,
    /// its contact records, results, entries and household take the new
    /// jurisdiction; unfinished tasks (held ones too) are canceled and
    /// withdrawn from routing, and their pending copies inserted.
    async fn transfer_case(&self, t: &CaseTransfer) -> StoreResult<()>;
    /// Ends the monitoring of contacts whose quarantine ended before
    /// `today` (`ContactStatus::MONITORED` → `completed`), and cancels
    /// their unfinished tasks; returns the contact records ended.
    async fn end_monitoring(
        &self,
        today: chrono::NaiveDate,
        at: DateTime<Utc>,
    ) -> StoreResult<Vec<Uuid>>;

    async fn insert_token(&self, token: &TokenRow) -> StoreResult<()>;
    async fn token_by_hash(&self, hash: &[u8]) -> StoreResult<Option<TokenRow>>;
    async fn list_tokens(&self) -> StoreResult<Vec<TokenRow>>;
    /// Revokes every live token with this name; returns how many.
    async fn revoke_token(&self, name: &str) -> StoreResult<u64>;

    /// Rows of `table` with a key version below `below_version` and an id
    /// after `after`, in id order: a primary-key walk, so rotation needs no
    /// index on the key version.
    async fn sealed_batch(
        &self,
        table: &'static schema::SealedTable,
        below_version: u32,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<SealedRow>>;
    /// Writes re-sealed values back in one transaction and stamps `version`.
    async fn write_sealed(
        &self,
        table: &'static schema::SealedTable,
        rows: &[SealedRow],
        version: u32,
    ) -> StoreResult<()>;
    async fn count_below_version(
        &self,
        table: &'static schema::SealedTable,
        version: u32,
    ) -> StoreResult<u64>;

    async fn counts(&self) -> StoreResult<Counts>;

    /// The epidemic curve: cases by specimen date, from `from` on, in
    /// `jurisdictions` (none: an empty curve), oldest day first; days
    /// without cases are left out.
    async fn case_curve(
        &self,
        jurisdictions: &[String],
        from: chrono::NaiveDate,
    ) -> StoreResult<Vec<(chrono::NaiveDate, u64)>>;

    /// Keeps a case-work milestone, the first time only (a later one of
    /// the same kind for the same record is ignored).
    async fn add_milestone(&self, m: &Milestone) -> StoreResult<()>;

    /// Keeps a lab report that could not be recorded.
    async fn add_dead_letter(&self, d: &DeadLetterRow) -> StoreResult<()>;
    /// Dead letters, oldest first after `after`, at most `limit`; replayed
    /// ones only when `replayed` is true.
    async fn dead_letters(
        &self,
        replayed: bool,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<DeadLetterRow>>;
    async fn get_dead_letter(&self, id: Uuid) -> StoreResult<Option<DeadLetterRow>>;
    /// Deletes dead letters received before `before` (counts them only,
    /// when `dry_run`); how many.
    async fn purge_dead_letters(&self, before: DateTime<Utc>, dry_run: bool) -> StoreResult<u64>;
    /// Records a replay's outcome; `NotFound` if there is no such letter.
    async fn mark_dead_letter_replayed(
        &self,
        id: Uuid,
        at: DateTime<Utc>,
        code: &str,
    ) -> StoreResult<()>;

    /// Inserts sealed person rows as they are (a registry's load, the
    /// linkage benchmark): no matching, no records.
    async fn add_persons(&self, rows: &[PersonRow]) -> StoreResult<()>;
    /// Replaces these persons' record-linkage blocking keys (blind
    /// indexes), in one transaction.
    async fn set_link_keys(&self, keys: &[(Uuid, Vec<Blind>)]) -> StoreResult<()>;
    /// Who holds each of `keys`: (key, person) for every holder.
    async fn link_key_holders(&self, keys: &[Blind]) -> StoreResult<Vec<(Blind, Uuid)>>;
    /// Persons in id order after `after` (the linkage job's walk), at most
    /// `limit`, purged ones included (they have nothing to compare).
    async fn persons_after(&self, after: Option<Uuid>, limit: u32) -> StoreResult<Vec<PersonRow>>;
    /// Keeps pairs (each with `person_a < person_b`), in one transaction;
    /// for each, `false` when the pair was known already (and is left as
    /// it was).
    async fn add_link_reviews(&self, rows: &[LinkReviewRow]) -> StoreResult<Vec<bool>>;
    async fn get_link_review(&self, id: Uuid) -> StoreResult<Option<LinkReviewRow>>;
    async fn list_link_reviews(&self, f: &LinkReviewFilter) -> StoreResult<Vec<LinkReviewRow>>;
    /// Moves a pair from status `from` to `to`, by `by`; `false` if it was
    /// not in `from` (decided meanwhile).
    async fn decide_link_review(
        &self,
        id: Uuid,
        from: &str,
        to: &str,
        by: Option<Uuid>,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Merges `m.merged_id` into `m.survivor_id` in one transaction:
    /// every row naming the merged person (cases, lab results, contact
    /// records, tasks, case entries, messages, monitoring, identity points,
    /// facets, household memberships, earlier merges into them) moves to
    /// the survivor and is listed under `m.id`; the merged person's row is
    /// marked `merged_into` and loses its blocking keys. Refused, with
    /// nothing changed, across jurisdictions, when both have a facet in
    /// one jurisdiction, or when either is merged or purged. Returns how
    /// many rows moved.
    async fn merge_persons(&self, m: &PersonMergeRow) -> StoreResult<Result<u64, MergeRefusal>>;
    /// Undoes merge `id`: the rows it listed, and the rows made since that
    /// hang on a moved case or contact record, go back to the merged
    /// person, whose mark is cleared. Returns how many rows moved back.
    async fn unmerge_persons(
        &self,
        id: Uuid,
        by: Option<Uuid>,
        at: DateTime<Utc>,
    ) -> StoreResult<Result<u64, UnmergeRefusal>>;
    async fn get_person_merge(&self, id: Uuid) -> StoreResult<Option<PersonMergeRow>>;
    async fn list_person_merges(&self, f: &PersonMergeFilter) -> StoreResult<Vec<PersonMergeRow>>;
    /// Where job `job` got to.
    async fn link_progress(&self, job: &str) -> StoreResult<Option<Option<Uuid>>>;
    /// Records where job `job` got to (`None`: it has finished).
    async fn set_link_progress(
        &self,
        job: &str,
        cursor: Option<Uuid>,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// The CDC indicators' counts for cases and contacts made since
    /// `since` in `jurisdictions` (none: all zero); `today` is the start of
    /// the day that "reported today" counts from. Records are taken by
    /// their time-ordered ids, so this reads a range, not every record.
    async fn indicator_counts(
        &self,
        jurisdictions: &[String],
        since: DateTime<Utc>,
        today: DateTime<Utc>,
    ) -> StoreResult<IndicatorCounts>;

    /// Transmission links made since `since` in `jurisdictions`: (the case
    /// that named a contact, the case that contact is or became), from the
    /// contact records that link them, newest first, at most `limit`.
    async fn transmission_links(
        &self,
        jurisdictions: &[String],
        since: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<(Uuid, Uuid)>>;

    /// Benchmark support: plain inserts of unsealed rows into a scratch table,
    /// the baseline that sealed ingestion is compared with, in one
    /// transaction: one INSERT statement per row, or (`multi_row`) multi-row
    /// statements of up to 500 rows.
    async fn baseline_insert(&self, rows: &[BaselineRow], multi_row: bool) -> StoreResult<()>;
    async fn baseline_reset(&self) -> StoreResult<()>;

    /// Does now the maintenance a bulk load leaves for later, so what
    /// follows reads a settled database: PostgreSQL vacuums and analyzes
    /// (the autovacuum work that would otherwise run beside the next reads,
    /// and planner statistics that still describe the tables before the
    /// load); SQLite checkpoints its WAL (it plans from its own heuristics).
    async fn settle(&self) -> StoreResult<()>;
}

#[cfg(test)]
mod error_tests {
    use super::StoreError;
    use std::error::Error as _;

    /// A store error keeps the error beneath it, so a log of the chain shows
    /// the driver's own error, not only its text.
    #[test]
    fn store_errors_keep_their_source() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = StoreError::Unavailable(io.into());
        let source = e.source().expect("the cause is kept");
        assert!(source.downcast_ref::<std::io::Error>().is_some());
        assert_eq!(e.to_string(), "database unavailable: refused");
    }
}
