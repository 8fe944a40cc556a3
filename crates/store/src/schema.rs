//! Which columns of which tables hold sealed values. Key rotation and the
//! plaintext scans iterate this list, so a new sealed column is added here
//! once and every backend's rotation picks it up.

/// A table with sealed columns; every such table has `id` and `key_version`.
#[derive(Debug)]
pub struct SealedTable {
    pub name: &'static str,
    /// The table name bound into each value's associated data: the table's
    /// own, except for facets, which keep the bytes of the person row they
    /// would have been.
    pub sealed_as: &'static str,
    pub columns: &'static [&'static str],
}

pub const PERSONS: SealedTable = SealedTable {
    name: "persons",
    sealed_as: "persons",
    columns: &[
        "first_name",
        "last_name",
        "dob",
        "phone",
        "email",
        "address",
        "language",
    ],
};

pub const LAB_RESULTS: SealedTable = SealedTable {
    name: "lab_results",
    sealed_as: "lab_results",
    columns: &[
        "accession",
        "result",
        "test_type",
        "lab",
        "ordering_provider",
    ],
};

pub const CASES: SealedTable = SealedTable {
    name: "cases",
    sealed_as: "cases",
    columns: &["symptoms", "notes", "clinical"],
};

pub const EXPOSURES: SealedTable = SealedTable {
    name: "exposures",
    sealed_as: "exposures",
    columns: &["notes"],
};

/// Staff accounts: usernames and names are personal data too.
pub const USERS: SealedTable = SealedTable {
    name: "users",
    sealed_as: "users",
    columns: &["username", "display_name", "totp_secret"],
};

pub const BREAK_GLASS: SealedTable = SealedTable {
    name: "break_glass",
    sealed_as: "break_glass",
    columns: &["reason"],
};

/// The routing engine's events: task attributes may name people.
pub const ROUTING_EVENTS: SealedTable = SealedTable {
    name: "routing_events",
    sealed_as: "routing_events",
    columns: &["event"],
};

/// What a jurisdiction recorded of a person first recorded elsewhere.
pub const PERSON_FACETS: SealedTable = SealedTable {
    name: "person_facets",
    sealed_as: "persons",
    columns: PERSONS.columns,
};

/// Entries of case work: notes, attempts, referrals, answers, findings.
pub const CASE_ENTRIES: SealedTable = SealedTable {
    name: "case_entries",
    sealed_as: "case_entries",
    columns: &["body"],
};

/// Identity facts learned about a person after their record was made.
pub const PERSON_POINTS: SealedTable = SealedTable {
    name: "person_points",
    sealed_as: "person_points",
    columns: &["value"],
};

/// The people who live with a case: their shared address.
pub const HOUSEHOLDS: SealedTable = SealedTable {
    name: "households",
    sealed_as: "households",
    columns: &["address"],
};

/// Clusters and events: their names.
pub const CLUSTERS: SealedTable = SealedTable {
    name: "clusters",
    sealed_as: "clusters",
    columns: &["name"],
};

/// Messages in and out: the person's address and the body.
pub const MESSAGES: SealedTable = SealedTable {
    name: "messages",
    sealed_as: "messages",
    columns: &["address", "body"],
};

/// Daily monitoring: what the contact's last check-in reply said.
pub const MONITORING: SealedTable = SealedTable {
    name: "monitoring",
    sealed_as: "monitoring",
    columns: &["last_report"],
};

/// Lab reports that could not be recorded: the whole message.
pub const DEAD_LETTERS: SealedTable = SealedTable {
    name: "elr_dead_letters",
    sealed_as: "elr_dead_letters",
    columns: &["message"],
};

pub const SEALED_TABLES: &[&SealedTable] = &[
    &PERSONS,
    &PERSON_FACETS,
    &LAB_RESULTS,
    &CASES,
    &EXPOSURES,
    &USERS,
    &BREAK_GLASS,
    &ROUTING_EVENTS,
    &CASE_ENTRIES,
    &PERSON_POINTS,
    &HOUSEHOLDS,
    &CLUSTERS,
    &MESSAGES,
    &MONITORING,
    &DEAD_LETTERS,
];
