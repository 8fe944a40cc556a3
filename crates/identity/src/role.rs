/// A user's role. Roles are fixed: what each may do is the access matrix in
/// `access`, documented in docs/security.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Works the tasks reserved or assigned to them.
    Tracer,
    /// Oversees teams within a jurisdiction.
    Supervisor,
    /// Sees de-identified line lists only.
    Analyst,
    /// Manages users and settings; reads no PHI by default.
    Admin,
    /// A machine account (a laboratory feed): may submit lab results, reads nothing, never logs in.
    Integration,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Tracer,
        Role::Supervisor,
        Role::Analyst,
        Role::Admin,
        Role::Integration,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Tracer => "tracer",
            Role::Supervisor => "supervisor",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
            Role::Integration => "integration",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Staff sign in with a password (and a second factor); integrations
    /// only hold API tokens.
    pub fn is_staff(self) -> bool {
        self != Role::Integration
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
