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

/// What the store knows about one person's record, gathered for a decision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessFacts {
    /// The person's jurisdiction and those of their cases and tasks.
    pub jurisdictions: Vec<String>,
    /// Users holding an active (reserved, assigned or wrapping) task for the person.
    pub assignees: Vec<Uuid>,
    /// Users holding an active task for a case that named the person as a
    /// contact: the tracer interviewing a case sees the contacts it names.
    pub case_assignees: Vec<Uuid>,
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

/// May `p` read or write the person's PHI at `now`?
pub fn decide(p: &Principal, f: &AccessFacts, now: DateTime<Utc>) -> Decision {
    let entitled = match p.role {
        Role::Tracer => f.assignees.contains(&p.user_id) || f.case_assignees.contains(&p.user_id),
        Role::Supervisor => {
            f.jurisdictions.iter().any(|j| p.scope.contains(j))
                || f.assignees
                    .iter()
                    .chain(&f.case_assignees)
                    .any(|u| p.team_members.contains(u))
        }
        // A PHI grant entitles by jurisdiction, like a supervisor without teams.
        Role::Analyst | Role::Admin => {
            p.phi_granted && f.jurisdictions.iter().any(|j| p.scope.contains(j))
        }
        Role::Integration => false,
    };
    if entitled {
        Decision::Allow
    } else if p.role.is_staff() && f.break_glass_until.is_some_and(|t| t > now) {
        Decision::BreakGlass
    } else {
        Decision::Deny
    }
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
        f.assignees.push(Uuid::now_v7());
        assert_eq!(decide(&t, &f, now), Decision::Deny, "someone else's task");
        f.assignees.push(t.user_id);
        assert_eq!(decide(&t, &f, now), Decision::Allow);
        let mut named = facts("nj");
        named.case_assignees.push(t.user_id);
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
        f.assignees.push(member);
        assert_eq!(decide(&s, &f, now), Decision::Allow);
    }

    #[test]
    fn analysts_admins_and_integrations_see_no_records() {
        let now = Utc::now();
        for role in [Role::Analyst, Role::Admin, Role::Integration] {
            let mut u = user(role, &["root"]);
            let mut f = facts("root");
            f.assignees.push(u.user_id);
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

    #[test]
    fn capability_matrix() {
        use Capability::*;
        let expect = [
            (Role::Tracer, [true, false, false, false, false, true]),
            (Role::Supervisor, [true, true, true, true, false, true]),
            (Role::Analyst, [false, false, true, false, false, true]),
            (Role::Admin, [false, false, false, false, true, true]),
            (Role::Integration, [false, true, false, false, false, false]),
        ];
        for (role, row) in expect {
            for (cap, want) in [
                WorkRecords,
                SubmitLabs,
                LineList,
                Supervise,
                Administer,
                BreakGlass,
            ]
            .into_iter()
            .zip(row)
            {
                assert_eq!(can(role, cap), want, "{role} {cap:?}");
            }
        }
    }
}
