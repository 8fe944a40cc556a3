//! Row types exchanged with a store. `Sealed` fields are opaque vault output.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

pub type Sealed = Vec<u8>;
pub type Blind = Vec<u8>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRow {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub key_version: u32,
    pub first_name: Option<Sealed>,
    pub last_name: Option<Sealed>,
    pub dob: Option<Sealed>,
    pub phone: Option<Sealed>,
    pub email: Option<Sealed>,
    pub address: Option<Sealed>,
    pub language: Option<Sealed>,
    pub phone_bidx: Option<Blind>,
    pub email_bidx: Option<Blind>,
    pub name_dob_bidx: Option<Blind>,
    pub phone_name_bidx: Option<Blind>,
    /// Where the person's record belongs; scopes supervisors' access.
    pub jurisdiction: String,
    /// Set when retention purged the person's PHI; the row is then a stub.
    pub purged_at: Option<DateTime<Utc>>,
    /// The stub's age band (set at purge, when the birth date goes).
    pub age_band: Option<String>,
    /// Set when this record was merged into another (the survivor): the
    /// row stays, sealed as it was, for an unmerge.
    pub merged_into: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRow {
    pub id: Uuid,
    pub person_id: Uuid,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub report_date: NaiveDate,
    pub specimen_date: NaiveDate,
    pub onset_date: Option<NaiveDate>,
    pub asymptomatic: bool,
    pub infectious_start: NaiveDate,
    pub isolation_end: NaiveDate,
    pub key_version: u32,
    pub symptoms: Option<Sealed>,
    pub notes: Option<Sealed>,
    pub jurisdiction: String,
    /// The person's id as this record's jurisdiction knows them, when that
    /// is a facet's (the person was first recorded elsewhere).
    pub shown_person_id: Option<Uuid>,
    /// The facts of the symptom-based isolation end (sealed JSON).
    pub clinical: Option<Sealed>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabResultRow {
    pub id: Uuid,
    pub person_id: Uuid,
    pub case_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub specimen_date: NaiveDate,
    pub key_version: u32,
    pub accession: Sealed,
    pub accession_bidx: Blind,
    pub result: Sealed,
    pub test_type: Option<Sealed>,
    pub lab: Option<Sealed>,
    pub ordering_provider: Option<Sealed>,
    /// Whose result it is: the jurisdiction that submitted it.
    pub jurisdiction: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExposureRow {
    pub id: Uuid,
    pub case_id: Uuid,
    pub contact_person_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub first_exposure: NaiveDate,
    pub last_exposure: NaiveDate,
    pub setting: String,
    pub status: String,
    pub quarantine_end: NaiveDate,
    pub key_version: u32,
    pub notes: Option<Sealed>,
    /// The naming case's jurisdiction.
    pub jurisdiction: String,
    /// When the contact tested negative (the 7-day quarantine option).
    pub negative_test_date: Option<NaiveDate>,
    /// The person's id as this record's jurisdiction knows them, when that
    /// is a facet's (the person was first recorded elsewhere).
    pub shown_person_id: Option<Uuid>,
    /// The contact's own case (converted, or already a case when named):
    /// a transmission edge from `case_id` to it.
    pub contact_case_id: Option<Uuid>,
    /// A household exposure that goes on while the case isolates: the
    /// quarantine end follows the case's isolation end.
    pub ongoing: bool,
    /// For a contact of a contact: the record of the contact who named them.
    pub source_exposure_id: Option<Uuid>,
    /// Steps from the case: 1 for its own contacts, 2 for theirs.
    pub depth: i32,
}

/// The people who live with a case (`households`), its address sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HouseholdRow {
    pub id: Uuid,
    pub case_id: Uuid,
    pub jurisdiction: String,
    pub created_at: DateTime<Utc>,
    pub key_version: u32,
    pub address: Option<Sealed>,
}

/// A cluster or event (`clusters`): a named setting with a date range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterRow {
    pub id: Uuid,
    pub jurisdiction: String,
    /// An `ExposureSetting` name.
    pub setting: String,
    pub starts: NaiveDate,
    pub ends: NaiveDate,
    pub created_at: DateTime<Utc>,
    pub key_version: u32,
    pub name: Sealed,
}

/// What a cluster holds: a case or a contact record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClusterMember {
    Case(Uuid),
    Exposure(Uuid),
}

/// One member of a household: a person, and the contact record that
/// names them on the case (none for the case's own person).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HouseholdMember {
    pub person_id: Uuid,
    pub exposure_id: Option<Uuid>,
}

/// One append-only entry of case work (`case_entries`): a note, an
/// outreach attempt, a referral, interview answers, a data-quality finding.
/// Its body is sealed JSON; `kind` and `status` are names, never values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRow {
    pub id: Uuid,
    pub kind: String,
    /// Whose record it belongs to (the person's own id).
    pub person_id: Uuid,
    pub case_id: Option<Uuid>,
    pub exposure_id: Option<Uuid>,
    pub task_id: Option<Uuid>,
    pub jurisdiction: String,
    /// The staff user who wrote it (`None`: tracedesk itself).
    pub author_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    /// Where a referral or support request stands, if the kind has one.
    pub status: Option<String>,
    pub key_version: u32,
    pub body: Sealed,
}

/// Which entries to read: those of one record, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryOwner {
    Case(Uuid),
    Exposure(Uuid),
    Task(Uuid),
    Person(Uuid),
}

/// An identity fact learned about a known person after their record was
/// made (`person_points`): a new phone or email, a date of birth the first
/// record lacked; sealed under its own id, with the blind index that finds
/// the person by it. The store keeps each (person, kind, index) once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PointRow {
    pub id: Uuid,
    /// Replaced by the matched person at intake.
    pub person_id: Uuid,
    /// The jurisdiction that learned it (and may see it).
    pub jurisdiction: String,
    pub key: crate::PersonKey,
    pub bidx: Blind,
    pub created_at: DateTime<Utc>,
    pub key_version: u32,
    /// The sealed value (`person_points.value`), when the key has one to
    /// show (phone, email, date of birth).
    pub value: Option<Sealed>,
}

/// What one jurisdiction recorded of a person first recorded in another:
/// their identity as that jurisdiction submitted it. Its fields are sealed
/// as the person row it would have been (table `persons`, under the
/// facet's id), and its id is the person's id as that jurisdiction knows
/// them, so a match is invisible to the submitter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonFacetRow {
    pub id: Uuid,
    pub person_id: Uuid,
    pub jurisdiction: String,
    pub created_at: DateTime<Utc>,
    pub key_version: u32,
    pub first_name: Option<Sealed>,
    pub last_name: Option<Sealed>,
    pub dob: Option<Sealed>,
    pub phone: Option<Sealed>,
    pub email: Option<Sealed>,
    pub address: Option<Sealed>,
    pub language: Option<Sealed>,
}

impl PersonFacetRow {
    /// The facet a would-be person row becomes when its person was matched
    /// to `person` first recorded elsewhere.
    pub fn of(candidate: &PersonRow, person: Uuid) -> Self {
        Self {
            id: candidate.id,
            person_id: person,
            jurisdiction: candidate.jurisdiction.clone(),
            created_at: candidate.created_at,
            key_version: candidate.key_version,
            first_name: candidate.first_name.clone(),
            last_name: candidate.last_name.clone(),
            dob: candidate.dob.clone(),
            phone: candidate.phone.clone(),
            email: candidate.email.clone(),
            address: candidate.address.clone(),
            language: candidate.language.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRow {
    pub id: Uuid,
    pub kind: String,
    pub status: String,
    pub priority: i32,
    pub person_id: Uuid,
    pub case_id: Option<Uuid>,
    pub exposure_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub jurisdiction: String,
    /// The user the task is reserved or assigned to.
    pub assignee_id: Option<Uuid>,
    /// The person's id as this record's jurisdiction knows them, when that
    /// is a facet's (the person was first recorded elsewhere).
    pub shown_person_id: Option<Uuid>,
}

impl TaskRow {
    /// A new task waiting to be routed, made `at`: its kind's priority and
    /// SLA, about no case or contact record and under no facet until the
    /// caller says (`TaskRow { case_id: …, ..TaskRow::pending(…) }`).
    pub fn pending(
        kind: tracedesk_domain::TaskKind,
        person_id: Uuid,
        jurisdiction: &str,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            kind: kind.as_str().into(),
            status: tracedesk_domain::TaskStatus::Pending.as_str().into(),
            priority: kind.default_priority(),
            person_id,
            case_id: None,
            exposure_id: None,
            created_at: at,
            due_at: at + chrono::Duration::hours(kind.default_sla_hours()),
            jurisdiction: jurisdiction.into(),
            assignee_id: None,
            shown_person_id: None,
        }
    }

    /// This task as the matched person's: their id, and the id the
    /// submitting jurisdiction knows them by when that differs.
    pub fn for_person(&self, person: Uuid, shown: Option<Uuid>) -> Self {
        Self {
            person_id: person,
            shown_person_id: shown,
            ..self.clone()
        }
    }
}

/// One routing event, sealed (`schema::ROUTING_EVENTS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingEventRow {
    pub id: Uuid,
    /// Its place in the log, from 1.
    pub seq: i64,
    /// When it happened, in milliseconds since the Unix epoch.
    pub at: i64,
    pub event: Vec<u8>,
    pub key_version: i32,
}

/// The routing engine saved as of event `seq` (sealed as a whole,
/// context `routing_snapshots.image` and `id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingSnapshot {
    pub id: Uuid,
    /// The last event the image includes.
    pub seq: i64,
    /// When it was taken, in milliseconds since the Unix epoch.
    pub at: i64,
    pub image: Vec<u8>,
    pub key_version: i32,
}

/// Where a routed task stands now, for the case-work task list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskProgress {
    pub id: Uuid,
    /// A `TaskStatus` name.
    pub status: &'static str,
    /// The worker it is offered to or assigned to (left as it was when
    /// the task completed or was canceled).
    pub assignee: Option<Uuid>,
}

/// A case-work task not yet handed to routing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnroutedTask {
    pub task: TaskRow,
    /// The person's preferred language, sealed in `persons.language`.
    pub language: Option<Sealed>,
    /// Why routing must let go of it (case work took it back), if so.
    pub withdrawal: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub id: Uuid,
    pub name: String,
    pub hash: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The user whose role and scope the token carries.
    pub user_id: Option<Uuid>,
}

/// One lab result to record, with everything pre-sealed by the caller.
#[derive(Debug, Clone)]
pub struct LabIntake {
    /// Inserted only when no existing person matches.
    pub person: PersonRow,
    /// Blind indexes to match on, in order of trust, each with its key.
    pub match_on: Vec<(crate::PersonKey, Blind)>,
    pub lab: LabResultRow,
    pub positive: bool,
    /// Inserted only for a positive with no open case; its `person_id` is
    /// replaced by the matched person.
    pub case: CaseRow,
    /// Interview task inserted with a new case.
    pub task: TaskRow,
    /// A positive within this many days of the specimen of the person's
    /// newest case in the jurisdiction (open or closed) joins that case;
    /// after it, a new case is opened.
    pub reinfection_days: u32,
    /// What the item says of the person, to add to a matched person when
    /// the person's record lacks it.
    pub points: Vec<PointRow>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabIntakeOutcome {
    pub lab_id: Uuid,
    pub person_id: Uuid,
    /// The person's id as the submitting jurisdiction knows them (a facet's
    /// id when the person was first recorded elsewhere).
    pub shown_person_id: Uuid,
    /// New to the submitting jurisdiction (a new person, or a new facet).
    pub person_created: bool,
    pub case_id: Option<Uuid>,
    pub case_created: bool,
    /// The accession was already recorded; nothing was written.
    pub duplicate: bool,
    /// For a duplicate: the lab result already recorded under it.
    pub duplicate_of: Option<Uuid>,
    /// Contact records this positive converted (their follow-up ended,
    /// their notification tasks canceled, the case linked to them).
    pub converted: Vec<Uuid>,
}

#[derive(Debug, Clone)]
pub struct ContactIntake {
    pub person: PersonRow,
    pub match_on: Vec<(crate::PersonKey, Blind)>,
    /// Its `contact_person_id` is replaced by the matched person.
    pub exposure: ExposureRow,
    pub task: TaskRow,
    /// Who is naming: the case's person, and for a contact of a contact
    /// the naming contact too; a contact matched to one of them is refused.
    pub namers: Vec<Uuid>,
    /// A note given with the naming; its person and contact record are set
    /// by the store (a merged naming's note joins the record it merged into).
    pub note: Option<EntryRow>,
    /// As in [`LabIntake::points`].
    pub points: Vec<PointRow>,
    /// The first notification, queued in the naming's transaction when the
    /// record is new (its person, task and jurisdiction are set by the
    /// store); none for a merged naming or an edge to a case.
    pub notification: Option<crate::MessageRow>,
}

/// How a named contact was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactResolution {
    /// A new contact record and its notification task.
    Named,
    /// The person was already named by this case: the dates were united
    /// into that record (`exposure_id`), and no task was made.
    Merged,
    /// The person is the case's own person: nothing was written.
    SelfContact,
    /// The person has an open case in the jurisdiction: the exposure is
    /// recorded as an edge to it, with no quarantine and no task.
    AlreadyACase(Uuid),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactIntakeOutcome {
    pub person_id: Uuid,
    /// As in [`LabIntakeOutcome::shown_person_id`].
    pub shown_person_id: Uuid,
    pub person_created: bool,
    pub exposure_id: Uuid,
    /// The notification task, when one was made.
    pub task_id: Option<Uuid>,
    pub resolution: ContactResolution,
    /// The record's dates and quarantine end as stored (merged ones united).
    pub first_exposure: NaiveDate,
    pub last_exposure: NaiveDate,
    pub quarantine_end: NaiveDate,
}

/// Keyset page request: rows strictly older than `before` (newest first).
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub status: Option<String>,
    pub person_id: Option<Uuid>,
    pub report_from: Option<NaiveDate>,
    pub report_to: Option<NaiveDate>,
    pub before: Option<Uuid>,
    pub limit: u32,
    /// Only rows the caller may see; `None` means every row (the CLI and
    /// internal jobs, never an API caller).
    pub scope: Option<ListScope>,
}

#[derive(Debug, Clone, Default)]
pub struct ExposureFilter {
    pub case_id: Option<Uuid>,
    pub contact_person_id: Option<Uuid>,
    /// Records whose contact became (or was) this case: the edges into it.
    pub contact_case_id: Option<Uuid>,
    pub status: Option<String>,
    pub before: Option<Uuid>,
    pub limit: u32,
    /// Only rows the caller may see; `None` means every row (the CLI and
    /// internal jobs, never an API caller).
    pub scope: Option<ListScope>,
}

/// A page of the tasks assigned to one user, newest first.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub assignee: Uuid,
    pub status: Option<String>,
    pub before: Option<Uuid>,
    pub limit: u32,
}

/// A list read, for `Store::explain_list`: the plan tests read each list's
/// query plan through the very builder the list uses.
#[derive(Debug, Clone)]
pub enum ListQuery {
    Cases(CaseFilter),
    Exposures(ExposureFilter),
    Tasks(TaskFilter),
}

/// A list read's query plan as the database reports it, and the steps that
/// read a whole table or index (which would make a page cost grow with the
/// table).
#[derive(Debug, Clone, Default)]
pub struct ListPlan {
    pub lines: Vec<String>,
    pub full_scans: Vec<String>,
}

/// A row's sealed columns, in the order of its `SealedTable::columns`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedRow {
    pub id: Uuid,
    pub values: Vec<Option<Sealed>>,
}

/// A case-work milestone the CDC indicators count: a case's interview
/// completed (`interviewed`) or a named contact notified (`notified`),
/// kept once per record. The kinds are not the task types' names, which
/// the routing log keeps sealed (a test looks for them in the files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Milestone {
    pub record_id: Uuid,
    pub kind: &'static str,
    pub jurisdiction: String,
    /// When the record was made: the case reported, the contact named.
    pub since_at: DateTime<Utc>,
    pub at: DateTime<Utc>,
    /// Within 24 hours of `since_at`.
    pub on_time: bool,
}

impl Milestone {
    pub const CASE_INTERVIEWED: &'static str = "interviewed";
    pub const CONTACT_NOTIFIED: &'static str = "notified";

    /// `kind` of `record_id` reached `at`, for a record made `since_at`.
    pub fn new(
        kind: &'static str,
        record_id: Uuid,
        jurisdiction: &str,
        since_at: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            record_id,
            kind,
            jurisdiction: jurisdiction.to_string(),
            since_at,
            at,
            on_time: at - since_at <= chrono::Duration::hours(24),
        }
    }
}

/// What the CDC indicators are computed from, for records made since a
/// time in some jurisdictions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndicatorCounts {
    /// Cases reported since.
    pub cases: u64,
    /// Of those, interviewed at all, and within 24 hours of the report.
    pub interviewed: u64,
    pub interviewed_on_time: u64,
    /// Contacts named since (not those already a case when named).
    pub contacts: u64,
    /// Of those, notified within 24 hours of being named.
    pub notified_on_time: u64,
    /// Contacts monitored now, and of them those who reported since the
    /// start of today (UTC).
    pub monitored: u64,
    pub reported_today: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub persons: u64,
    pub cases: u64,
    pub open_cases: u64,
    pub lab_results: u64,
    pub exposures: u64,
    pub tasks: u64,
}

/// An unsealed row of roughly the size of a sealed intake, for the baseline.
#[derive(Debug, Clone)]
pub struct BaselineRow {
    pub id: Uuid,
    pub payload: Vec<u8>,
}

/// Which rows of a list a caller may see (minimum necessary).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListScope {
    /// A tracer: persons with an active task assigned to this user, and the
    /// contacts named by their cases.
    Assignee(Uuid),
    /// A supervisor: records in these jurisdictions, and those with an active
    /// task assigned to one of these users.
    Within {
        jurisdictions: Vec<String>,
        team_members: Vec<Uuid>,
    },
}

/// Why case work took a task back from routing (`tasks.withdrawal`).
pub mod withdrawal {
    /// Its case was closed or refused: routing cancels it.
    pub const CASE_CLOSED: &str = "case closed";
    /// A supervisor gave it to someone: routing assigns it to them too.
    pub const BY_HAND: &str = "assigned by hand";
    /// A supervisor put it back: routing cancels it, then routes it anew.
    pub const RETURNED: &str = "returned to the queue";
    /// Its case moved to another jurisdiction: routing cancels it (a copy
    /// is routed there).
    pub const TRANSFERRED: &str = "transferred";
    /// A triage task whose sender was identified: routing cancels it (the
    /// call-back task made for the person is routed in its place).
    pub const IDENTIFIED: &str = "sender identified";
}

/// Moving a case, with its contact records, tasks, results, entries and
/// household, to another jurisdiction (one transaction).
#[derive(Debug, Clone)]
pub struct CaseTransfer {
    pub case_id: Uuid,
    pub to: String,
    /// How the receiving jurisdiction knows the case's person.
    pub case_shown: Option<Uuid>,
    /// Facets the receiving jurisdiction needs (the identity as the sending
    /// jurisdiction knew it, sealed under the facet's id).
    pub facets: Vec<PersonFacetRow>,
    /// Each contact record of the case, and how the receiving jurisdiction
    /// knows its contact.
    pub exposures: Vec<(Uuid, Option<Uuid>)>,
    /// Pending copies, in the receiving jurisdiction, of the unfinished
    /// tasks (which are canceled where they were).
    pub tasks: Vec<TaskRow>,
}

/// Task statuses in which a task belongs to its assignee.
pub const ACTIVE_TASK_STATUSES: SqlList<TaskStatus> = SqlList(TaskStatus::ACTIVE);
/// `TaskStatus::HOLDING`: the statuses in which a task opens its person to
/// its assignee.
pub const HOLDING_TASK_STATUSES: SqlList<TaskStatus> = SqlList(TaskStatus::HOLDING);
/// Task statuses nothing moves a task out of.
pub const FINAL_TASK_STATUSES: SqlList<TaskStatus> = SqlList(TaskStatus::FINAL);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub id: Uuid,
    pub username: Sealed,
    pub username_bidx: Blind,
    pub display_name: Sealed,
    pub role: String,
    pub jurisdiction: String,
    /// argon2id PHC string.
    pub password_hash: String,
    pub must_change_password: bool,
    pub mfa_required: bool,
    pub totp_secret: Option<Sealed>,
    pub totp_confirmed: bool,
    pub totp_last_step: Option<i64>,
    pub failed_logins: i32,
    pub last_failed_at: Option<DateTime<Utc>>,
    pub locked_at: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub key_version: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// An analyst granted PHI access within their jurisdictions.
    pub phi_granted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JurisdictionRow {
    pub code: String,
    pub name: String,
    pub parent: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamRow {
    pub id: Uuid,
    pub name: String,
    pub jurisdiction: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// SHA-256 of the session token; the token itself is never stored.
    pub hash: Vec<u8>,
    pub user_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// False between the password step and the second factor.
    pub mfa_done: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakGlassRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub person_id: Uuid,
    pub opened_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub key_version: u32,
    pub reason: Sealed,
}

/// The stored facts an access decision about one person needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessRows {
    /// The person's own (home) jurisdiction.
    pub home: Option<String>,
    pub jurisdictions: Vec<String>,
    /// (user, jurisdiction of the task they hold).
    pub assignees: Vec<(Uuid, String)>,
    /// (user, jurisdiction of the naming case whose task they hold).
    pub case_assignees: Vec<(Uuid, String)>,
    pub break_glass_until: Option<DateTime<Utc>>,
}

/// A status set of the domain as an SQL list (`'a', 'b'`), so SQL follows
/// the one definition on the domain enum.
#[derive(Debug, Clone, Copy)]
pub struct SqlList<T: 'static>(pub &'static [T]);

impl<T: Copy + std::fmt::Display> std::fmt::Display for SqlList<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, v) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "'{v}'")?;
        }
        Ok(())
    }
}

use tracedesk_domain::lifecycle::{CaseStatus, ContactStatus, TaskStatus};

/// Case statuses in which a case is closed (matching, retention, counts).
pub const CLOSED_CASE_STATUSES: SqlList<CaseStatus> = SqlList(CaseStatus::CLOSED);
/// Contact statuses in which follow-up has ended (retention).
pub const CLOSED_EXPOSURE_STATUSES: SqlList<ContactStatus> = SqlList(ContactStatus::CLOSED);
/// Contact statuses under daily monitoring (ended when quarantine ends).
pub const MONITORED_EXPOSURE_STATUSES: SqlList<ContactStatus> = SqlList(ContactStatus::MONITORED);

/// When records of each type became old enough to purge: closed (or, for
/// lab-only persons, created) at or before these instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurgeCutoffs {
    pub cases: DateTime<Utc>,
    pub contacts: DateTime<Utc>,
    pub labs: DateTime<Utc>,
}

/// What purging one person writes: the de-identified stub values. Every
/// sealed PHI column and blind index of the person's rows is cleared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonPurge {
    pub person_id: Uuid,
    pub age_band: String,
    pub cases: Vec<CaseStub>,
    pub labs: Vec<LabStub>,
    pub exposures: Vec<ExposureStub>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseStub {
    pub id: Uuid,
    pub report_date: NaiveDate,
    pub specimen_date: NaiveDate,
    pub onset_date: Option<NaiveDate>,
    pub infectious_start: NaiveDate,
    pub isolation_end: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabStub {
    pub id: Uuid,
    pub specimen_date: NaiveDate,
    pub outcome: String,
    /// A random value: the accession's index must stay unique but must no
    /// longer find the result.
    pub accession_bidx: Blind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExposureStub {
    pub id: Uuid,
    pub first_exposure: NaiveDate,
    pub last_exposure: NaiveDate,
    pub quarantine_end: NaiveDate,
}

#[cfg(test)]
mod sql_list_tests {
    use super::*;

    #[test]
    fn status_sets_render_as_sql_lists() {
        assert_eq!(
            ACTIVE_TASK_STATUSES.to_string(),
            "'reserved', 'assigned', 'wrapping'"
        );
        assert_eq!(HOLDING_TASK_STATUSES.to_string(), "'assigned', 'wrapping'");
        assert_eq!(CLOSED_CASE_STATUSES.to_string(), "'closed', 'refused'");
    }
}

/// A lab report (an HL7 v2 message) that could not be recorded: sealed, with
/// the acknowledgement code it got and a reason naming segments and fields
/// only, kept until an operator replays it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterRow {
    pub id: Uuid,
    pub received_at: DateTime<Utc>,
    /// Where it came from: `mllp` or `file`.
    pub source: String,
    pub ack_code: String,
    pub reason: String,
    pub key_version: u32,
    pub message: Sealed,
    pub replayed_at: Option<DateTime<Utc>>,
    /// The acknowledgement code its replay got.
    pub replay_code: Option<String>,
}

/// A pair of persons the record-linkage matcher found, and what was
/// decided: `open` (a possible match, for review), `same` (the same person,
/// by the matcher or a reviewer), `distinct` (a reviewer said not).
#[derive(Debug, Clone, PartialEq)]
pub struct LinkReviewRow {
    pub id: Uuid,
    /// The earlier record.
    pub person_a: Uuid,
    /// The later record.
    pub person_b: Uuid,
    pub jurisdiction_a: String,
    pub jurisdiction_b: String,
    /// The Fellegi–Sunter score (log₂ odds).
    pub score: f64,
    pub status: String,
    pub created_at: DateTime<Utc>,
    /// Who decided (`None`: the matcher, or no one yet).
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTime<Utc>>,
}

/// Which pairs to list: a status, both persons within `jurisdictions`,
/// newest first before `before`.
#[derive(Debug, Clone, Default)]
pub struct LinkReviewFilter {
    pub status: Option<String>,
    pub jurisdictions: Vec<String>,
    pub before: Option<Uuid>,
    pub limit: u32,
}

/// One merge of two records of a person: `merged_id`'s rows were moved to
/// `survivor_id` (the list of them is kept, ids only, for an unmerge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonMergeRow {
    pub id: Uuid,
    pub survivor_id: Uuid,
    pub merged_id: Uuid,
    /// Both persons' home jurisdiction (a merge never crosses one).
    pub jurisdiction: String,
    /// The pair the merge was decided on, if any.
    pub review_id: Option<Uuid>,
    /// Who merged (`None`: a job).
    pub merged_by: Option<Uuid>,
    pub merged_at: DateTime<Utc>,
    /// How many rows moved to the survivor.
    pub moved: u64,
    pub unmerged_by: Option<Uuid>,
    pub unmerged_at: Option<DateTime<Utc>>,
}

/// Why two records could not be merged. Nothing was changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergeRefusal {
    /// Either person is unknown.
    Unknown,
    /// The two are one record already.
    Same,
    /// Either has been merged into another record already.
    AlreadyMerged,
    /// Either was purged by retention.
    Purged,
    /// Their home jurisdictions differ: a merge would show one
    /// jurisdiction's record to another.
    AcrossJurisdictions,
    /// Both have a record (a facet) in one other jurisdiction.
    FacetsMeet,
    /// One was named as a contact of the other's case: two people.
    ContactOfTheOther,
}

/// Why a merge could not be undone. Nothing was changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnmergeRefusal {
    Unknown,
    /// It was undone already.
    Undone,
    /// The survivor has since been merged into another record: that
    /// merge must be undone first.
    SurvivorMerged,
    /// Either record was purged by retention.
    Purged,
}

/// Which merges to list: of `jurisdictions`, optionally of one person
/// (survivor or merged), newest first before `before`.
#[derive(Debug, Clone, Default)]
pub struct PersonMergeFilter {
    pub jurisdictions: Vec<String>,
    pub person: Option<Uuid>,
    pub before: Option<Uuid>,
    pub limit: u32,
}
