//! What each API route (and each staff page that shows records) needs of its caller before its handler runs, in one
//! table: the `Call` extractor checks it (and audits a refusal) for every
//! route, so no handler can forget the check, and the audit entry each
//! route makes (`guard`). A route missing from the
//! table is refused (500), and a test keeps the table and the router equal.

use tracedesk_identity::access::Capability;

/// A route's requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// The role must have this capability.
    Cap(Capability),
    /// Either capability.
    Either(Capability, Capability),
    /// Entitlement to the record the route's `{id}` names, by the rule of
    /// its kind (`guard::entitle`): the role alone cannot decide.
    Own(Record),
    /// The capability, then entitlement to the record `{id}` names.
    CapOn(Capability, Record),
    /// Any signed-in caller (their own tasks, who they are).
    Caller,
    /// The capability, held over the whole tree (the root jurisdiction):
    /// for what belongs to no jurisdiction — texts from unknown numbers,
    /// the program's message templates.
    Root(Capability),
}

/// What a route's `{id}` names, and so which rule entitles a caller to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    /// A case: entitlement to its person in its jurisdiction.
    Case,
    /// A contact record: entitlement to the contact in its jurisdiction.
    Contact,
    /// A person or a facet of one.
    Person,
    /// A pair of persons record linkage found: a supervisor over both
    /// persons' jurisdictions.
    LinkReview,
    /// A merge of two records of one person: a supervisor over its
    /// jurisdiction (both records', since a merge never crosses one).
    Merge,
    /// A FHIR Observation: a lab result (entitlement to its person in the
    /// jurisdiction that submitted it) or a contact record (as `Contact`).
    Observation,
    /// A case-work task, within the caller's jurisdictions.
    Task,
    /// A case-work task by entitlement to its person in its jurisdiction:
    /// the tracer who holds it (or holds the case it is about), a
    /// supervisor over its jurisdiction.
    Work,
    /// A referral, by entitlement to its person in its jurisdiction.
    Referral,
    /// A cluster, within the caller's jurisdictions (its members each by
    /// their own rule).
    Cluster,
    /// A staff user as a routing worker, within the caller's jurisdictions.
    Worker,
    /// The caller's own worker, or (for a supervisor) one of theirs.
    OwnWorker,
    /// A live routing task within the caller's jurisdictions.
    LiveTask,
    /// A live task the caller works, or (for a supervisor) one of theirs.
    OwnTask,
    /// A reservation offered to the caller.
    Offer,
    /// A text awaiting triage: on its sender's triage task, by that task's
    /// rule (its holder, a supervisor over the root); matched to no person
    /// at all, a supervisor over the root only.
    Unmatched,
}

/// The audit entry a route makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audit {
    /// Entries for the records the answer shows, before it leaves.
    Read(Action),
    /// An entry before the change, naming the record `{id}` names or else
    /// the kind of record written; then entries for the records it made.
    Write(Action, &'static str),
    /// No personal data (ids and scheduling only, the caller's own facts,
    /// routing statistics).
    Open,
}

use Audit::*;
use Capability::*;
use Needs::*;
use Record as R;
use tracedesk_store::audit::Action;
use tracedesk_store::audit::Action as A;

/// A routing step on a task or a worker.
const TO_TASK: Audit = Write(A::Routing, "task");
const TO_WORKER: Audit = Write(A::Routing, "worker");

/// Every API route behind the caller middleware, by `METHOD /template`:
/// what it needs of its caller and the audit entry it makes (one row a
/// route, so the table reads as the access policy it is).
#[rustfmt::skip]
pub const TABLE: &[(&str, Needs, Audit)] = &[
    ("POST /api/v1/lab-results", Cap(SubmitLabs), Write(A::PhiWrite, "lab_result")),
    ("GET /api/v1/cases", Cap(WorkRecords), Read(A::PhiRead)),
    ("GET /api/v1/cases/{id}", Own(R::Case), Read(A::PhiRead)),
    ("PATCH /api/v1/cases/{id}", Own(R::Case), Write(A::PhiWrite, "case")),
    ("POST /api/v1/cases/{id}/contacts", Own(R::Case), Write(A::PhiWrite, "case")),
    ("GET /api/v1/cases/{id}/notes", Own(R::Case), Read(A::PhiRead)),
    ("POST /api/v1/cases/{id}/notes", Own(R::Case), Write(A::PhiWrite, "case")),
    ("PUT /api/v1/cases/{id}/investigator", CapOn(Supervise, R::Case), Write(A::PermissionChange, "case")),
    ("POST /api/v1/cases/{id}/transfer", CapOn(Supervise, R::Case), Write(A::PermissionChange, "case")),
    ("GET /api/v1/cases/{id}/chain", Own(R::Case), Read(A::PhiRead)),
    ("GET /api/v1/cases/{id}/household", Own(R::Case), Read(A::PhiRead)),
    ("GET /api/v1/cases/{id}/interview", Own(R::Case), Read(A::PhiRead)),
    ("PUT /api/v1/cases/{id}/interview", Own(R::Case), Write(A::PhiWrite, "case")),
    ("GET /api/v1/contacts/{id}/interview", CapOn(WorkRecords, R::Contact), Read(A::PhiRead)),
    ("PUT /api/v1/contacts/{id}/interview", CapOn(WorkRecords, R::Contact), Write(A::PhiWrite, "exposure")),
    ("GET /api/v1/questionnaires", Caller, Open),
    ("GET /api/v1/questionnaires/{name}", Caller, Open),
    ("GET /api/v1/cases/{id}/referrals", Own(R::Case), Read(A::PhiRead)),
    ("POST /api/v1/cases/{id}/referrals", Own(R::Case), Write(A::PhiWrite, "case")),
    ("GET /api/v1/contacts/{id}/referrals", CapOn(WorkRecords, R::Contact), Read(A::PhiRead)),
    ("POST /api/v1/contacts/{id}/referrals", CapOn(WorkRecords, R::Contact), Write(A::PhiWrite, "exposure")),
    ("PATCH /api/v1/referrals/{id}", CapOn(WorkRecords, R::Referral), Write(A::PhiWrite, "referral")),
    ("PUT /api/v1/cases/{id}/household", Own(R::Case), Write(A::PhiWrite, "case")),
    ("GET /api/v1/contacts", Cap(WorkRecords), Read(A::PhiRead)),
    ("PATCH /api/v1/contacts/{id}", CapOn(WorkRecords, R::Contact), Write(A::PhiWrite, "exposure")),
    ("GET /api/v1/contacts/{id}/notes", CapOn(WorkRecords, R::Contact), Read(A::PhiRead)),
    ("POST /api/v1/contacts/{id}/notes", CapOn(WorkRecords, R::Contact), Write(A::PhiWrite, "exposure")),
    ("POST /api/v1/contacts/{id}/contacts", CapOn(WorkRecords, R::Contact), Write(A::PhiWrite, "exposure")),
    ("GET /api/v1/contacts/{id}/warnings", CapOn(WorkRecords, R::Contact), Read(A::PhiRead)),
    ("POST /api/v1/persons/search", Cap(WorkRecords), Read(A::PhiRead)),
    ("GET /api/v1/persons/{id}", Own(R::Person), Read(A::PhiRead)),
    ("GET /api/v1/persons/{id}/messages", Own(R::Person), Read(A::PhiRead)),
    ("POST /api/v1/persons/{id}/messages", CapOn(WorkRecords, R::Person), Write(A::PhiWrite, "person")),
    ("GET /api/v1/messages/unmatched", Root(Supervise), Read(A::PhiRead)),
    ("POST /api/v1/messages/{id}/attach", CapOn(WorkRecords, R::Unmatched), Write(A::PhiWrite, "message")),
    ("GET /api/v1/templates", Root(Administer), Open),
    ("GET /api/v1/templates/{name}/{channel}/{language}", Root(Administer), Open),
    ("PUT /api/v1/templates/{name}/{channel}/{language}", Root(Administer), Write(A::Configuration, "template")),
    ("DELETE /api/v1/templates/{name}/{channel}/{language}", Root(Administer), Write(A::Configuration, "template")),
    ("GET /api/v1/sandbox/persons/{id}/phone", CapOn(WorkRecords, R::Person), Read(A::PhiRead)),
    ("POST /api/v1/sandbox/persons/{id}/phone", CapOn(WorkRecords, R::Person), Write(A::PhiWrite, "person")),
    ("POST /api/v1/sandbox/persons/{id}/keypad", CapOn(WorkRecords, R::Person), Write(A::PhiWrite, "person")),
    ("GET /api/v1/contacts/{id}/monitoring", CapOn(WorkRecords, R::Contact), Read(A::PhiRead)),
    ("PUT /api/v1/contacts/{id}/monitoring", CapOn(WorkRecords, R::Contact), Write(A::PhiWrite, "exposure")),
    ("GET /api/v1/monitoring", Cap(Supervise), Read(A::PhiRead)),
    ("GET /api/v1/line-list", Cap(LineList), Read(A::Export)),
    ("POST /api/v1/clusters", Cap(WorkRecords), Write(A::PhiWrite, "cluster")),
    ("GET /api/v1/clusters", Cap(WorkRecords), Read(A::PhiRead)),
    ("GET /api/v1/clusters/{id}", CapOn(WorkRecords, R::Cluster), Read(A::PhiRead)),
    ("POST /api/v1/clusters/{id}/members", CapOn(WorkRecords, R::Cluster), Write(A::PhiWrite, "cluster")),
    ("GET /api/v1/tasks", Caller, Open),
    ("POST /api/v1/tasks/{id}/assign", CapOn(Supervise, R::Task), Write(A::PermissionChange, "task")),
    ("GET /api/v1/tasks/{id}/attempts", CapOn(WorkRecords, R::Work), Read(A::PhiRead)),
    ("POST /api/v1/tasks/{id}/attempts", CapOn(WorkRecords, R::Work), Write(A::PhiWrite, "task")),
    ("POST /api/v1/tasks/{id}/calls", CapOn(WorkRecords, R::Work), Write(A::PhiWrite, "task")),
    ("POST /api/v1/break-glass", Cap(Capability::BreakGlass), Write(A::BreakGlass, "break_glass")),
    ("GET /api/v1/break-glass", Cap(Supervise), Read(A::PhiRead)),
    ("GET /api/v1/auth/me", Caller, Open),
    ("POST /api/v1/routing/workers", Cap(Supervise), TO_WORKER),
    ("PATCH /api/v1/routing/workers/{id}", CapOn(Supervise, R::Worker), TO_WORKER),
    ("POST /api/v1/routing/workers/{id}/activity", Own(R::OwnWorker), TO_WORKER),
    ("GET /api/v1/routing/workers/{id}/events", Own(R::OwnWorker), Open),
    ("POST /api/v1/routing/tasks", Either(Supervise, SubmitLabs), TO_TASK),
    ("GET /api/v1/routing/tasks", Cap(Supervise), Open),
    ("PATCH /api/v1/routing/tasks/{id}", CapOn(Supervise, R::LiveTask), TO_TASK),
    ("POST /api/v1/routing/tasks/{id}/cancel", CapOn(Supervise, R::LiveTask), TO_TASK),
    ("POST /api/v1/routing/tasks/{id}/wrap", Own(R::OwnTask), TO_TASK),
    ("POST /api/v1/routing/tasks/{id}/complete", Own(R::OwnTask), TO_TASK),
    ("POST /api/v1/routing/reservations/{id}/accept", Own(R::Offer), TO_TASK),
    ("POST /api/v1/routing/reservations/{id}/reject", Own(R::Offer), TO_TASK),
    ("GET /api/v1/routing/stats", Cap(Supervise), Open),
    ("GET /api/v1/routing/stats/stream", Cap(Supervise), Open),
    // The tracer desk's pages: the same rules as the API.
    ("GET /desk", Caller, Open),
    ("GET /desk/tasks/{id}", CapOn(WorkRecords, R::Work), Read(A::PhiRead)),
    ("POST /desk/tasks/{id}/messages", CapOn(WorkRecords, R::Work), Write(A::PhiWrite, "task")),
    // Working a task: only its holder acts (checked again in the handler).
    ("POST /desk/tasks/{id}/attempts", CapOn(WorkRecords, R::Work), Write(A::PhiWrite, "task")),
    ("POST /desk/tasks/{id}/call", CapOn(WorkRecords, R::Work), Write(A::PhiWrite, "task")),
    ("POST /desk/tasks/{id}/wrap-up", CapOn(WorkRecords, R::Work), Write(A::PhiWrite, "task")),
    ("POST /desk/segments", Caller, Open),
    ("POST /desk/activity", Caller, TO_WORKER),
    ("GET /desk/offers/stream", Caller, Open),
    ("POST /desk/offers/{id}/accept", Own(R::Offer), TO_TASK),
    ("POST /desk/offers/{id}/reject", Own(R::Offer), TO_TASK),
    // The case interview: the task's rule; what it writes lands on the case.
    ("GET /desk/tasks/{id}/interview", CapOn(WorkRecords, R::Work), Read(A::PhiRead)),
    ("POST /desk/tasks/{id}/interview", CapOn(WorkRecords, R::Work), Write(A::PhiWrite, "task")),
    ("POST /desk/tasks/{id}/contacts", CapOn(WorkRecords, R::Work), Write(A::PhiWrite, "task")),
    ("POST /desk/tasks/{id}/referrals", CapOn(WorkRecords, R::Work), Write(A::PhiWrite, "task")),
    // A person's page (the person's rule, break-glass included) and
    // break-glass from the browser.
    ("GET /desk/persons/{id}", Own(R::Person), Read(A::PhiRead)),
    ("POST /desk/break-glass", Cap(Capability::BreakGlass), Write(A::BreakGlass, "break_glass")),
    // The supervisor floor: counts, kinds and staff, no person.
    ("GET /floor", Cap(Supervise), Open),
    ("GET /floor/stream", Cap(Supervise), Open),
    ("POST /floor/tasks/{id}/return", CapOn(Supervise, R::Task), Write(A::PermissionChange, "task")),
    ("GET /floor/tasks/{id}", CapOn(Supervise, R::Task), Open),
    ("GET /floor/break-glass", Cap(Supervise), Read(A::PhiRead)),
    ("POST /floor/tasks/{id}/assign", CapOn(Supervise, R::Task), Write(A::PermissionChange, "task")),
    ("POST /floor/tasks/{id}/transfer", CapOn(Supervise, R::Task), Write(A::PermissionChange, "task")),
    // The monitoring line lists: as `GET /api/v1/monitoring`.
    ("GET /monitoring", Cap(Supervise), Read(A::PhiRead)),
    // Record linkage pages: as `/api/v1/linkage/…`.
    ("GET /linkage", Cap(Supervise), Read(A::PhiRead)),
    ("GET /linkage/pairs/{id}", CapOn(Supervise, R::LinkReview), Read(A::PhiRead)),
    ("POST /linkage/pairs/{id}/merge", CapOn(Supervise, R::LinkReview), Write(A::PhiWrite, "person_merge")),
    ("POST /linkage/pairs/{id}/distinct", CapOn(Supervise, R::LinkReview), Write(A::PhiWrite, "link_review")),
    ("GET /linkage/merges", Cap(Supervise), Read(A::PhiRead)),
    ("POST /linkage/merges/{id}/unmerge", CapOn(Supervise, R::Merge), Write(A::PhiWrite, "person_merge")),
    // The contact notification script: the task's rule.
    ("GET /desk/tasks/{id}/script", CapOn(WorkRecords, R::Work), Read(A::PhiRead)),
    ("POST /desk/tasks/{id}/script", CapOn(WorkRecords, R::Work), Write(A::PhiWrite, "task")),
    // Administration: accounts and templates belong to the whole program.
    ("GET /admin/users", Root(Administer), Open),
    ("POST /admin/users/unlock", Root(Administer), Write(A::PermissionChange, "user")),
    ("POST /admin/users/reset-mfa", Root(Administer), Write(A::PermissionChange, "user")),
    ("POST /admin/users/disable", Root(Administer), Write(A::PermissionChange, "user")),
    ("POST /admin/users/enable", Root(Administer), Write(A::PermissionChange, "user")),
    ("POST /admin/users/add", Root(Administer), Write(A::PermissionChange, "user")),
    ("GET /admin/teams", Root(Administer), Open),
    ("POST /admin/teams", Root(Administer), Write(A::PermissionChange, "team")),
    ("POST /admin/teams/members", Root(Administer), Write(A::PermissionChange, "team")),
    ("GET /admin/jurisdictions", Root(Administer), Open),
    ("POST /admin/jurisdictions", Root(Administer), Write(A::PermissionChange, "jurisdiction")),
    ("GET /admin/tokens", Root(Administer), Open),
    ("POST /admin/tokens", Root(Administer), Write(A::TokenCreate, "token")),
    ("POST /admin/tokens/revoke", Root(Administer), Write(A::TokenRevoke, "token")),
    ("GET /admin/status", Root(Administer), Open),
    ("GET /admin/audit/verify", Root(Administer), Open),
    ("POST /admin/audit/verify", Root(Administer), Write(A::Configuration, "audit_log")),
    ("GET /admin/templates", Root(Administer), Open),
    ("POST /admin/templates", Root(Administer), Write(A::Configuration, "template")),
    // The analysts' line list: as its API, an export per case shown.
    ("GET /lists", Cap(LineList), Read(A::Export)),
    ("GET /lists/cases.csv", Cap(LineList), Read(A::Export)),
    // The sandbox phone page: the person's rule, as its API.
    ("GET /sandbox/persons/{id}", CapOn(WorkRecords, R::Person), Read(A::PhiRead)),
    ("GET /sandbox/persons/{id}/arrivals", CapOn(WorkRecords, R::Person), Read(A::PhiRead)),
    ("POST /sandbox/persons/{id}/reply", CapOn(WorkRecords, R::Person), Write(A::PhiWrite, "person")),
    ("POST /sandbox/persons/{id}/keypad", CapOn(WorkRecords, R::Person), Write(A::PhiWrite, "person")),
    // Record linkage: data managers (supervisors) over both persons.
    ("GET /api/v1/linkage/reviews", Cap(Supervise), Read(A::PhiRead)),
    ("GET /api/v1/linkage/reviews/{id}", CapOn(Supervise, R::LinkReview), Read(A::PhiRead)),
    ("POST /api/v1/linkage/reviews/{id}/decision", CapOn(Supervise, R::LinkReview), Write(A::PhiWrite, "link_review")),
    ("POST /api/v1/linkage/reviews/{id}/merge", CapOn(Supervise, R::LinkReview), Write(A::PhiWrite, "person_merge")),
    ("GET /api/v1/linkage/merges", Cap(Supervise), Read(A::PhiRead)),
    ("GET /api/v1/linkage/merges/{id}", CapOn(Supervise, R::Merge), Read(A::PhiRead)),
    ("POST /api/v1/linkage/merges/{id}/unmerge", CapOn(Supervise, R::Merge), Write(A::PhiWrite, "person_merge")),
    // FHIR R4: the same rules as the JSON API's routes for the same records.
    ("POST /fhir", Cap(SubmitLabs), Write(A::PhiWrite, "lab_result")),
    ("GET /fhir/Patient", Cap(WorkRecords), Read(A::PhiRead)),
    ("POST /fhir/Patient/_search", Cap(WorkRecords), Read(A::PhiRead)),
    ("GET /fhir/Patient/{id}", Own(R::Person), Read(A::PhiRead)),
    ("GET /fhir/Observation", Cap(WorkRecords), Read(A::PhiRead)),
    ("GET /fhir/Observation/{id}", CapOn(WorkRecords, R::Observation), Read(A::PhiRead)),
    ("GET /fhir/Condition", Cap(WorkRecords), Read(A::PhiRead)),
    ("GET /fhir/Condition/{id}", Own(R::Case), Read(A::PhiRead)),
    // The bulk export: the line list's capability and its audit (each
    // case in a file an export); starting one and its status show no one.
    ("GET /fhir/$export", Cap(LineList), Open),
    ("GET /fhir/$export-status/{job}", Cap(LineList), Open),
    ("GET /fhir/$export-file/{job}/{kind}", Cap(LineList), Read(A::Export)),
];

/// The table's entry for `method` on the route template `path`: the
/// route's name (`METHOD /template`, the audit label) and its requirement.
pub fn of(method: &str, path: &str) -> Option<(&'static str, Needs, Audit)> {
    TABLE
        .iter()
        .find(|(r, _, _)| r.split_once(' ') == Some((method, path)))
        .map(|(r, n, a)| (*r, *n, *a))
}

/// Whether a role with `can` meets `needs` by role alone.
pub fn met(needs: Needs, can: impl Fn(Capability) -> bool) -> bool {
    match needs {
        Cap(c) | CapOn(c, _) | Root(c) => can(c),
        Either(a, b) => can(a) || can(b),
        Own(_) | Caller => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A route whose path names a record is entitled to it by the table's
    /// rule, never by the handler; a route that changes state writes its
    /// entry before it does; a read of personal data is audited.
    #[test]
    fn record_routes_are_entitled_and_writes_audited_first() {
        for (route, needs, audit) in TABLE {
            let (method, path) = route.split_once(' ').unwrap_or_default();
            let names_record = path.contains("{id}");
            let checked = matches!(needs, Own(_) | CapOn(..));
            assert_eq!(
                names_record, checked,
                "{route}: {{id}} without a record rule"
            );
            // A search sends its terms in a body, so that no name or phone
            // is ever in a URL; it changes nothing.
            // So is a draft's segment count.
            let reads = method == "GET"
                || *route == "POST /api/v1/persons/search"
                || *route == "POST /fhir/Patient/_search"
                || *route == "POST /desk/segments";
            if !reads {
                assert!(matches!(audit, Write(..)), "{route} changes state: Write");
            } else {
                assert!(!matches!(audit, Write(..)), "{route} is a read");
            }
        }
        // The reads of records are audited; the open ones show no one.
        for open in [
            "GET /api/v1/tasks",
            "GET /api/v1/auth/me",
            "GET /api/v1/routing/stats",
        ] {
            assert!(TABLE.iter().any(|(r, _, a)| *r == open && *a == Open));
        }
        for read in ["GET /api/v1/cases/{id}", "GET /api/v1/persons/{id}"] {
            assert!(
                TABLE
                    .iter()
                    .any(|(r, _, a)| *r == read && *a == Read(A::PhiRead))
            );
        }
    }
}
