//! The minimum-necessary decision: may this user see or change this
//! person's PHI? Pure, so every cell of the role matrix is unit-tested here
//! and the server only gathers the facts and applies the answer.

use crate::Role;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// An authenticated user as access decisions see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: Uuid,
    pub role: Role,
    /// The user's jurisdiction and every one below it.
    pub scope: Vec<String>,
    /// Members of the teams this user belongs to (supervisors oversee them).
    pub team_members: Vec<Uuid>,
    /// Granted PHI access within `scope` beyond the role (analysts).
    pub phi_granted: bool,
}

impl Principal {
    /// The role's capabilities, plus record work for a PHI grant.
    pub fn can(&self, cap: Capability) -> bool {
        can(self.role, cap)
            || (self.phi_granted && self.role.is_staff() && cap == Capability::WorkRecords)
    }
}

/// What the store knows about one person's records, gathered for a
/// decision. Every fact carries the jurisdiction of the record it comes
/// from: entitlement is to a person's records *in a jurisdiction*, so a
/// record one jurisdiction holds never opens what another holds about the
/// same person (matching links them; it must not widen what anyone sees).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessFacts {
    /// The jurisdiction of the person's own record (where they were first
    /// recorded): entitlement there opens their identity as recorded.
    pub home: Option<String>,
    /// Jurisdictions of the person's cases, contact records and tasks.
    pub jurisdictions: Vec<String>,
    /// Users holding an active (reserved, assigned or wrapping) task for
    /// the person, with the task's jurisdiction.
    pub assignees: Vec<(Uuid, String)>,
    /// Users holding an active task for a case that named the person as a
    /// contact, with that case's jurisdiction: the tracer interviewing a
    /// case sees the contacts it names.
    pub case_assignees: Vec<(Uuid, String)>,
    /// The end of this user's break-glass access to the person, if any.
    pub break_glass_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Entitled by role and assignment.
    Allow,
    /// Not entitled, but inside a break-glass hour: allowed and flagged.
    BreakGlass,
    Deny,
}

impl Decision {
    pub fn allowed(self) -> bool {
        self != Decision::Deny
    }
}

/// Route-level permissions, before any record is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// Open and change individual PHI records (subject to `decide`).
    WorkRecords,
    /// Submit lab results.
    SubmitLabs,
    /// Read the de-identified line list.
    LineList,
    /// Assign tasks and review break-glass use.
    Supervise,
    /// Manage users, teams, jurisdictions and settings.
    Administer,
    /// Open a record one is not entitled to, stating a reason.
    BreakGlass,
}

impl Capability {
    /// Every capability, in the order the matrix test lists them.
    pub const ALL: [Self; 6] = [
        Self::WorkRecords,
        Self::SubmitLabs,
        Self::LineList,
        Self::Supervise,
        Self::Administer,
        Self::BreakGlass,
    ];
}

pub fn can(role: Role, cap: Capability) -> bool {
    use Capability::*;
    match role {
        Role::Tracer => matches!(cap, WorkRecords | BreakGlass),
        Role::Supervisor => matches!(
            cap,
            WorkRecords | SubmitLabs | LineList | Supervise | BreakGlass
        ),
        Role::Analyst => matches!(cap, LineList | BreakGlass),
        Role::Admin => matches!(cap, Administer | BreakGlass),
        Role::Integration => matches!(cap, SubmitLabs),
    }
}

/// The jurisdictions in which `p` is entitled to the person's records, by
/// role and assignment (break-glass aside), sorted and without repeats.
pub fn entitled_in(p: &Principal, f: &AccessFacts) -> Vec<String> {
    let all = f.home.iter().chain(&f.jurisdictions);
    let by_assignment = |users: &dyn Fn(&Uuid) -> bool| -> Vec<String> {
        f.assignees
            .iter()
            .chain(&f.case_assignees)
            .filter(|(u, _)| users(u))
            .map(|(_, j)| j.clone())
            .collect()
    };
    let mut out: Vec<String> = match p.role {
        Role::Tracer => by_assignment(&|u| *u == p.user_id),
        Role::Supervisor => {
            let mut js: Vec<String> = all.filter(|j| p.scope.contains(j)).cloned().collect();
            js.extend(by_assignment(&|u| p.team_members.contains(u)));
            js
        }
        // A PHI grant entitles by jurisdiction, like a supervisor without teams.
        Role::Analyst | Role::Admin if p.phi_granted => {
            all.filter(|j| p.scope.contains(j)).cloned().collect()
        }
        Role::Analyst | Role::Admin | Role::Integration => Vec::new(),
    };
    out.sort();
    out.dedup();
    out
}

fn with_break_glass(
    p: &Principal,
    f: &AccessFacts,
    entitled: bool,
    now: DateTime<Utc>,
) -> Decision {
    if entitled {
        Decision::Allow
    } else if p.role.is_staff() && f.break_glass_until.is_some_and(|t| t > now) {
        Decision::BreakGlass
    } else {
        Decision::Deny
    }
}

/// May `p` open the person's own record (their identity as first
/// recorded, and the records of every jurisdiction `p` is entitled in)?
/// Only with entitlement in the person's home jurisdiction, or by
/// break-glass.
pub fn decide(p: &Principal, f: &AccessFacts, now: DateTime<Utc>) -> Decision {
    let js = entitled_in(p, f);
    let home = f.home.as_ref().is_some_and(|h| js.contains(h));
    with_break_glass(p, f, home, now)
}

/// May `p` open the person's records held in `jurisdiction` (a case, a
/// contact record, what that jurisdiction recorded of the person)?
pub fn decide_in(
    p: &Principal,
    f: &AccessFacts,
    jurisdiction: &str,
    now: DateTime<Utc>,
) -> Decision {
    let inside = entitled_in(p, f).iter().any(|j| j == jurisdiction);
    with_break_glass(p, f, inside, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn user(role: Role, scope: &[&str]) -> Principal {
        Principal {
            user_id: Uuid::now_v7(),
            role,
            scope: scope.iter().map(|s| s.to_string()).collect(),
            team_members: Vec::new(),
            phi_granted: false,
        }
    }

    fn facts(j: &str) -> AccessFacts {
        AccessFacts {
            home: Some(j.into()),
            jurisdictions: vec![j.into()],
            ..Default::default()
        }
    }

    #[test]
    fn tracer_needs_an_assignment() {
        let now = Utc::now();
        let t = user(Role::Tracer, &["ny", "ny-kings"]);
        let mut f = facts("ny-kings");
        assert_eq!(
            decide(&t, &f, now),
            Decision::Deny,
            "jurisdiction alone is not enough"
        );
        f.assignees.push((Uuid::now_v7(), "ny-kings".into()));
        assert_eq!(decide(&t, &f, now), Decision::Deny, "someone else's task");
        f.assignees.push((t.user_id, "ny-kings".into()));
        assert_eq!(decide(&t, &f, now), Decision::Allow);
        let mut named = facts("nj");
        named.case_assignees.push((t.user_id, "nj".into()));
        assert_eq!(decide(&t, &named, now), Decision::Allow);
    }

    #[test]
    fn supervisor_by_jurisdiction_or_team() {
        let now = Utc::now();
        let mut s = user(Role::Supervisor, &["ny", "ny-kings"]);
        assert_eq!(decide(&s, &facts("ny-kings"), now), Decision::Allow);
        let mut f = facts("nj");
        assert_eq!(decide(&s, &f, now), Decision::Deny);
        let member = Uuid::now_v7();
        s.team_members.push(member);
        f.assignees.push((member, "nj".into()));
        assert_eq!(decide(&s, &f, now), Decision::Allow);
    }

    #[test]
    fn analysts_admins_and_integrations_see_no_records() {
        let now = Utc::now();
        for role in [Role::Analyst, Role::Admin, Role::Integration] {
            let mut u = user(role, &["root"]);
            let mut f = facts("root");
            f.assignees.push((u.user_id, "root".into()));
            u.team_members.push(u.user_id);
            assert_eq!(decide(&u, &f, now), Decision::Deny, "{role}");
        }
    }

    #[test]
    fn a_phi_grant_opens_records_in_the_jurisdiction_only() {
        let now = Utc::now();
        let mut a = user(Role::Analyst, &["ny", "ny-kings"]);
        assert!(!a.can(Capability::WorkRecords));
        a.phi_granted = true;
        assert!(a.can(Capability::WorkRecords));
        assert_eq!(decide(&a, &facts("ny-kings"), now), Decision::Allow);
        assert_eq!(decide(&a, &facts("nj"), now), Decision::Deny);
        let mut i = user(Role::Integration, &["root"]);
        i.phi_granted = true;
        assert!(
            !i.can(Capability::WorkRecords),
            "machines never read records"
        );
        assert_eq!(decide(&i, &facts("root"), now), Decision::Deny);
    }

    #[test]
    fn break_glass_lasts_until_it_expires_and_not_for_machines() {
        let now = Utc::now();
        let t = user(Role::Tracer, &["ny"]);
        let mut f = facts("nj");
        f.break_glass_until = Some(now + Duration::minutes(30));
        assert_eq!(decide(&t, &f, now), Decision::BreakGlass);
        assert_eq!(decide(&t, &f, now + Duration::minutes(31)), Decision::Deny);
        let i = user(Role::Integration, &["root"]);
        assert_eq!(decide(&i, &f, now), Decision::Deny);
    }

    /// A record one jurisdiction holds about a person opens that
    /// jurisdiction's records only, never the person's own record or
    /// another jurisdiction's (a match across jurisdictions widens nothing).
    #[test]
    fn entitlement_is_per_jurisdiction() {
        let now = Utc::now();
        let bk = user(Role::Supervisor, &["ny-kings"]);
        let mut tracer = user(Role::Tracer, &["ny-kings"]);
        tracer.scope.clear();
        // A New Jersey person whom Brooklyn named as a contact.
        let f = AccessFacts {
            home: Some("nj".into()),
            jurisdictions: vec!["nj".into(), "ny-kings".into()],
            assignees: vec![(tracer.user_id, "ny-kings".into())],
            ..Default::default()
        };
        for who in [&bk, &tracer] {
            assert_eq!(entitled_in(who, &f), vec!["ny-kings".to_string()]);
            assert_eq!(
                decide(who, &f, now),
                Decision::Deny,
                "not the person's own record"
            );
            assert_eq!(decide_in(who, &f, "ny-kings", now), Decision::Allow);
            assert_eq!(decide_in(who, &f, "nj", now), Decision::Deny);
        }
        let nj = user(Role::Supervisor, &["nj"]);
        assert_eq!(decide(&nj, &f, now), Decision::Allow);
        assert_eq!(decide_in(&nj, &f, "ny-kings", now), Decision::Deny);
    }

    #[test]
    fn capability_matrix() {
        let expect = [
            (Role::Tracer, [true, false, false, false, false, true]),
            (Role::Supervisor, [true, true, true, true, false, true]),
            (Role::Analyst, [false, false, true, false, false, true]),
            (Role::Admin, [false, false, false, false, true, true]),
            (Role::Integration, [false, true, false, false, false, false]),
        ];
        for (role, row) in expect {
            for (cap, want) in Capability::ALL.into_iter().zip(row) {
                assert_eq!(can(role, cap), want, "{role} {cap:?}");
            }
        }
    }
}
