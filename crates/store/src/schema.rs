//! Which columns of which tables hold sealed values. Key rotation and the
//! plaintext scans iterate this list, so a new sealed column is added here
//! once and every backend's rotation picks it up.

/// A table with sealed columns; every such table has `id` and `key_version`.
#[derive(Debug)]
pub struct SealedTable {
    pub name: &'static str,
    pub columns: &'static [&'static str],
}

pub const PERSONS: SealedTable = SealedTable {
    name: "persons",
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
    columns: &["accession", "result", "test_type", "lab"],
};

pub const CASES: SealedTable = SealedTable {
    name: "cases",
    columns: &["symptoms", "notes"],
};

pub const EXPOSURES: SealedTable = SealedTable {
    name: "exposures",
    columns: &["notes"],
};

/// Staff accounts: usernames and names are personal data too.
pub const USERS: SealedTable = SealedTable {
    name: "users",
    columns: &["username", "display_name", "totp_secret"],
};

pub const BREAK_GLASS: SealedTable = SealedTable {
    name: "break_glass",
    columns: &["reason"],
};

/// The routing engine's events: task attributes may name people.
pub const ROUTING_EVENTS: SealedTable = SealedTable {
    name: "routing_events",
    columns: &["event"],
};

pub const SEALED_TABLES: &[&SealedTable] = &[
    &PERSONS,
    &LAB_RESULTS,
    &CASES,
    &EXPOSURES,
    &USERS,
    &BREAK_GLASS,
    &ROUTING_EVENTS,
];
