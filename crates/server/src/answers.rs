//! The bodies routes answer with beyond the services' own views: typed, so
//! the handlers and the OpenAPI document (`openapi`) are made from the same
//! definitions and cannot drift apart.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tracedesk_casework::{
    CaseView, ContactView, LabOutcomeView, LabResultInput, LabResultView, PersonView,
};
use utoipa::ToSchema;
use uuid::Uuid;

/// A lab-results body: one result, or a batch of them. (The route reads the
/// items one by one, so that a bad item is reported at its index and the
/// others are still recorded; this type is what it accepts.)
#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum LabResults {
    One(Box<LabResultInput>),
    Batch(Vec<LabResultInput>),
}

/// What a batch of lab results came to, one outcome per item at its index.
#[derive(Serialize, ToSchema)]
pub struct LabBatch {
    pub recorded: usize,
    pub duplicates: usize,
    /// Accessions already recorded with another result or for another
    /// person: not recorded, kept for a data manager's review.
    pub conflicts: usize,
    pub rejected: usize,
    pub results: Vec<LabOutcomeView>,
}

/// A case and its contact records.
#[derive(Serialize, ToSchema)]
pub struct CaseWithContacts {
    pub case: CaseView,
    /// The contact records named on the case (at most 500).
    pub contacts: Vec<ContactView>,
    /// Implausible dates on the case and its results, kept for review.
    pub warnings: Vec<tracedesk_casework::WarningView>,
}

/// A person as the caller may see them, with the lab results of the
/// jurisdictions they are entitled in, and the cases and contact records
/// of theirs the caller may see.
#[derive(Serialize, ToSchema)]
pub struct PersonWithResults {
    /// As first recorded, or as the jurisdiction of a facet's id recorded
    /// them (a date of birth learned later fills a missing one).
    pub person: PersonView,
    pub lab_results: Vec<LabResultView>,
    /// Their cases (at most 500), newest first.
    pub cases: Vec<CaseView>,
    /// Where they were named as a contact (at most 500), newest first.
    pub exposures: Vec<ContactView>,
    /// Phones, emails and dates of birth learned after the record was
    /// made, oldest first: every one is kept, and each finds the person.
    pub identity_history: Vec<tracedesk_casework::PointView>,
    /// The households they belong to (of the jurisdictions the caller is
    /// entitled in).
    pub households: Vec<HouseholdRef>,
    /// Implausible dates on their records, kept for review.
    pub warnings: Vec<tracedesk_casework::WarningView>,
}

/// A household a person belongs to, and the case it is recorded on.
#[derive(Serialize, ToSchema)]
pub struct HouseholdRef {
    pub household_id: Uuid,
    pub case_id: Uuid,
}

/// Who investigates a case now.
#[derive(Serialize, ToSchema)]
pub struct Investigator {
    pub case_id: Uuid,
    pub investigator_id: Option<Uuid>,
}

/// The investigator to set (`null`: nobody).
#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvestigatorInput {
    #[schema(required = true)]
    pub user_id: Option<Uuid>,
}

/// A graph of cases: ids only.
#[derive(Serialize, ToSchema)]
pub struct CaseGraph {
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<tracedesk_casework::ChainEdge>,
    /// Linked cases the caller may not see (not shown, nor their edges).
    pub hidden: usize,
    /// The walk stopped at its limit of cases.
    pub truncated: bool,
}

#[derive(Serialize, ToSchema)]
pub struct GraphNode {
    pub id: Uuid,
}

/// A short list, all of it at once.
#[derive(Serialize, ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// A task after it was assigned by hand (or returned to the queue).
#[derive(Serialize, ToSchema)]
pub struct Assigned {
    pub id: Uuid,
    #[schema(schema_with = tracedesk_casework::api_schema::task_status)]
    pub status: &'static str,
    /// `null`: returned to the queue.
    pub assignee_id: Option<Uuid>,
}

/// An hour of access opened by break-glass.
#[derive(Serialize, ToSchema)]
pub struct Grant {
    pub id: Uuid,
    pub person_id: Uuid,
    pub expires_at: DateTime<Utc>,
}

/// The next step of signing in, with the CSRF token of the new session
/// (whose cookie comes with it).
#[derive(Serialize, ToSchema)]
pub struct SignInStep {
    /// `totp`, `enrol`, `change_password` or `done`.
    pub next: &'static str,
    pub csrf_token: String,
}

/// A TOTP secret to put in an authenticator app.
#[derive(Serialize, ToSchema)]
pub struct Enrolment {
    pub secret: String,
    pub otpauth_uri: String,
    /// The URI as an SVG QR code (`null` if it could not be drawn).
    pub qr_svg: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SessionsEnded {
    pub sessions_ended: u64,
}

/// Who is signed in (no secrets).
#[derive(Serialize, ToSchema)]
pub struct Me {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub jurisdiction: String,
}

/// What a routing step led to, in order: offered, accepted, assigned,
/// released, rejected, timed_out, rescinded, activity_changed, queued,
/// wrapping, completed or canceled, each with its ids.
#[derive(Serialize, ToSchema)]
pub struct Routed {
    #[schema(value_type = Vec<Object>)]
    pub decisions: Vec<tracedesk_routing::Decision>,
    /// The worker made (`POST /routing/workers`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker_id: Option<Uuid>,
    /// The task made (`POST /routing/tasks`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_id: Option<Uuid>,
}

/// A live routing task: ids and scheduling only, never its attributes.
#[derive(Serialize, ToSchema)]
pub struct LiveTask {
    pub id: Uuid,
    /// pending, reserved, assigned, wrapping, completed or canceled.
    pub state: &'static str,
    pub queue: Option<String>,
    pub channel: String,
    pub priority: i32,
    pub due: Option<DateTime<Utc>>,
    pub worker: Option<Uuid>,
    pub offered_to: Vec<Uuid>,
}

/// A cluster and the members the caller may see, as a graph of ids.
#[derive(Serialize, ToSchema)]
pub struct ClusterGraph {
    pub cluster: tracedesk_casework::clusters::ClusterView,
    pub nodes: Vec<ClusterNode>,
    pub edges: Vec<tracedesk_casework::clusters::MemberEdge>,
    /// Members the caller may not see (not shown, nor their edges).
    pub hidden: usize,
}

#[derive(Serialize, ToSchema)]
pub struct ClusterNode {
    pub id: Uuid,
    /// `case` or `contact` (a contact record's id).
    pub kind: &'static str,
}
