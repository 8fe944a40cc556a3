-- tracedesk SQLite schema, version 1.
-- Columns of type BLOB named after a person attribute hold vault-sealed values;
-- *_bidx columns hold keyed blind indexes. Nothing here is plaintext PHI.

CREATE TABLE persons (
    id              BLOB PRIMARY KEY NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    key_version     INTEGER NOT NULL,
    first_name      BLOB,
    last_name       BLOB,
    dob             BLOB,
    phone           BLOB,
    email           BLOB,
    address         BLOB,
    language        BLOB,
    phone_bidx      BLOB,
    email_bidx      BLOB,
    name_dob_bidx   BLOB,
    phone_name_bidx BLOB
);
CREATE INDEX persons_phone_bidx ON persons (phone_bidx) WHERE phone_bidx IS NOT NULL;
CREATE INDEX persons_email_bidx ON persons (email_bidx) WHERE email_bidx IS NOT NULL;
CREATE INDEX persons_name_dob_bidx ON persons (name_dob_bidx) WHERE name_dob_bidx IS NOT NULL;
CREATE INDEX persons_phone_name_bidx ON persons (phone_name_bidx) WHERE phone_name_bidx IS NOT NULL;

CREATE TABLE cases (
    id               BLOB PRIMARY KEY NOT NULL,
    person_id        BLOB NOT NULL REFERENCES persons (id),
    status           TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    report_date      TEXT NOT NULL,
    specimen_date    TEXT NOT NULL,
    onset_date       TEXT,
    asymptomatic     INTEGER NOT NULL,
    infectious_start TEXT NOT NULL,
    isolation_end    TEXT NOT NULL,
    key_version      INTEGER NOT NULL,
    symptoms         BLOB,
    notes            BLOB
);
CREATE INDEX cases_person ON cases (person_id, status);
CREATE INDEX cases_status ON cases (status, id);

CREATE TABLE lab_results (
    id             BLOB PRIMARY KEY NOT NULL,
    person_id      BLOB NOT NULL REFERENCES persons (id),
    case_id        BLOB REFERENCES cases (id),
    created_at     TEXT NOT NULL,
    specimen_date  TEXT NOT NULL,
    key_version    INTEGER NOT NULL,
    accession      BLOB NOT NULL,
    accession_bidx BLOB NOT NULL UNIQUE,
    result         BLOB NOT NULL,
    test_type      BLOB,
    lab            BLOB
);
CREATE INDEX lab_results_person ON lab_results (person_id);

CREATE TABLE exposures (
    id                BLOB PRIMARY KEY NOT NULL,
    case_id           BLOB NOT NULL REFERENCES cases (id),
    contact_person_id BLOB NOT NULL REFERENCES persons (id),
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    first_exposure    TEXT NOT NULL,
    last_exposure     TEXT NOT NULL,
    setting           TEXT NOT NULL,
    status            TEXT NOT NULL,
    quarantine_end    TEXT NOT NULL,
    key_version       INTEGER NOT NULL,
    notes             BLOB
);
CREATE INDEX exposures_case ON exposures (case_id);
CREATE INDEX exposures_contact ON exposures (contact_person_id);
CREATE INDEX exposures_status ON exposures (status, id);

CREATE TABLE tasks (
    id          BLOB PRIMARY KEY NOT NULL,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,
    priority    INTEGER NOT NULL,
    person_id   BLOB NOT NULL REFERENCES persons (id),
    case_id     BLOB REFERENCES cases (id),
    exposure_id BLOB REFERENCES exposures (id),
    created_at  TEXT NOT NULL,
    due_at      TEXT NOT NULL
);
CREATE INDEX tasks_case ON tasks (case_id);
CREATE INDEX tasks_status ON tasks (status, due_at);

CREATE TABLE api_tokens (
    id         BLOB PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    hash       BLOB NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
