//! What each API route needs of its caller before its handler runs, in one
//! table: the `Call` extractor checks it (and audits a refusal) for every
//! route, so no handler can forget the check. A route missing from the
//! table is refused (500), and a test keeps the table and the router equal.

use tracedesk_identity::access::Capability;

/// A route's requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// The role must have this capability.
    Cap(Capability),
    /// Either capability.
    Either(Capability, Capability),
    /// The handler decides per record (entitlement to the record's person,
    /// or the caller's own worker, offer or task, else `Supervise` within
    /// their jurisdictions): the role alone cannot.
    PerRecord,
    /// Any signed-in caller (their own tasks, who they are).
    Caller,
}

use Capability::*;
use Needs::*;

/// Every API route behind the caller middleware, by `METHOD /template`.
pub const TABLE: &[(&str, Needs)] = &[
    ("POST /api/v1/lab-results", Cap(SubmitLabs)),
    ("GET /api/v1/cases", Cap(WorkRecords)),
    ("GET /api/v1/cases/{id}", PerRecord),
    ("PATCH /api/v1/cases/{id}", PerRecord),
    ("POST /api/v1/cases/{id}/contacts", PerRecord),
    ("GET /api/v1/contacts", Cap(WorkRecords)),
    ("PATCH /api/v1/contacts/{id}", Cap(WorkRecords)),
    ("POST /api/v1/persons/search", Cap(WorkRecords)),
    ("GET /api/v1/persons/{id}", PerRecord),
    ("GET /api/v1/line-list", Cap(LineList)),
    ("GET /api/v1/tasks", Caller),
    ("POST /api/v1/tasks/{id}/assign", Cap(Supervise)),
    ("POST /api/v1/break-glass", Cap(BreakGlass)),
    ("GET /api/v1/break-glass", Cap(Supervise)),
    ("GET /api/v1/auth/me", Caller),
    ("POST /api/v1/routing/workers", Cap(Supervise)),
    ("PATCH /api/v1/routing/workers/{id}", Cap(Supervise)),
    ("POST /api/v1/routing/workers/{id}/activity", PerRecord),
    ("GET /api/v1/routing/workers/{id}/events", PerRecord),
    ("POST /api/v1/routing/tasks", Either(Supervise, SubmitLabs)),
    ("GET /api/v1/routing/tasks", Cap(Supervise)),
    ("PATCH /api/v1/routing/tasks/{id}", Cap(Supervise)),
    ("POST /api/v1/routing/tasks/{id}/cancel", Cap(Supervise)),
    ("POST /api/v1/routing/tasks/{id}/wrap", PerRecord),
    ("POST /api/v1/routing/tasks/{id}/complete", PerRecord),
    ("POST /api/v1/routing/reservations/{id}/accept", PerRecord),
    ("POST /api/v1/routing/reservations/{id}/reject", PerRecord),
    ("GET /api/v1/routing/stats", Cap(Supervise)),
    ("GET /api/v1/routing/stats/stream", Cap(Supervise)),
];

/// The table's entry for `method` on the route template `path`: the
/// route's name (`METHOD /template`, the audit label) and its requirement.
pub fn of(method: &str, path: &str) -> Option<(&'static str, Needs)> {
    TABLE
        .iter()
        .find(|(r, _)| r.split_once(' ') == Some((method, path)))
        .map(|(r, n)| (*r, *n))
}

/// Whether a role with `can` meets `needs` by role alone.
pub fn met(needs: Needs, can: impl Fn(Capability) -> bool) -> bool {
    match needs {
        Cap(c) => can(c),
        Either(a, b) => can(a) || can(b),
        PerRecord | Caller => true,
    }
}
