//! What an audit entry records. Stored by name, so the set can grow.

/// The kinds of event HIPAA's audit-control standard and New York's
/// contact-tracing law ask to be recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// PHI was shown (one record, or each record of a list page).
    PhiRead,
    /// PHI was created or changed.
    PhiWrite,
    /// PHI left tracedesk in bulk (a file, an export).
    Export,
    /// PHI was given to someone outside the health department.
    Disclosure,
    LoginSuccess,
    LoginFailure,
    PermissionChange,
    TokenCreate,
    TokenRevoke,
    KeyRotation,
    Purge,
    BreakGlass,
    /// A request was refused for lack of permission.
    Denied,
    /// A person took a task-routing step: added or changed a worker, set an
    /// activity, created, changed, canceled or moved on a task, or answered
    /// an offer (accepting one opens the task's person to the worker).
    Routing,
    /// An administrator changed what tracedesk says or does (a message
    /// template): no personal data, but the department answers for it.
    Configuration,
}

impl Action {
    pub const ALL: &'static [Action] = &[
        Action::PhiRead,
        Action::PhiWrite,
        Action::Export,
        Action::Disclosure,
        Action::LoginSuccess,
        Action::LoginFailure,
        Action::PermissionChange,
        Action::TokenCreate,
        Action::TokenRevoke,
        Action::KeyRotation,
        Action::Purge,
        Action::BreakGlass,
        Action::Denied,
        Action::Routing,
        Action::Configuration,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::PhiRead => "phi_read",
            Action::PhiWrite => "phi_write",
            Action::Export => "export",
            Action::Disclosure => "disclosure",
            Action::LoginSuccess => "login_success",
            Action::LoginFailure => "login_failure",
            Action::PermissionChange => "permission_change",
            Action::TokenCreate => "token_create",
            Action::TokenRevoke => "token_revoke",
            Action::KeyRotation => "key_rotation",
            Action::Purge => "purge",
            Action::BreakGlass => "break_glass",
            Action::Denied => "denied",
            Action::Routing => "routing",
            Action::Configuration => "configuration",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|a| a.as_str() == text)
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(*a));
            assert!(seen.insert(a.as_str()));
        }
        assert_eq!(Action::parse("nope"), None);
    }
}
