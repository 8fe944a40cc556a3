-- tracedesk PostgreSQL schema, version 1.
-- Columns of type BYTEA named after a person attribute hold vault-sealed values;
-- *_bidx columns hold keyed blind indexes. Nothing here is plaintext PHI.

CREATE TABLE persons (
    id              UUID PRIMARY KEY,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    key_version     BIGINT NOT NULL,
    first_name      BYTEA,
    last_name       BYTEA,
    dob             BYTEA,
    phone           BYTEA,
    email           BYTEA,
    address         BYTEA,
    language        BYTEA,
    phone_bidx      BYTEA,
    email_bidx      BYTEA,
    name_dob_bidx   BYTEA,
    phone_name_bidx BYTEA
);
CREATE INDEX persons_phone_bidx ON persons (phone_bidx) WHERE phone_bidx IS NOT NULL;
CREATE INDEX persons_email_bidx ON persons (email_bidx) WHERE email_bidx IS NOT NULL;
CREATE INDEX persons_name_dob_bidx ON persons (name_dob_bidx) WHERE name_dob_bidx IS NOT NULL;
CREATE INDEX persons_phone_name_bidx ON persons (phone_name_bidx) WHERE phone_name_bidx IS NOT NULL;

CREATE TABLE cases (
    id               UUID PRIMARY KEY,
    person_id        UUID NOT NULL REFERENCES persons (id),
    status           TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    report_date      DATE NOT NULL,
    specimen_date    DATE NOT NULL,
    onset_date       DATE,
    asymptomatic     BOOLEAN NOT NULL,
    infectious_start DATE NOT NULL,
    isolation_end    DATE NOT NULL,
    key_version      BIGINT NOT NULL,
    symptoms         BYTEA,
    notes            BYTEA
);
CREATE INDEX cases_person ON cases (person_id, status);
CREATE INDEX cases_status ON cases (status, id);

CREATE TABLE lab_results (
    id             UUID PRIMARY KEY,
    person_id      UUID NOT NULL REFERENCES persons (id),
    case_id        UUID REFERENCES cases (id),
    created_at     TIMESTAMPTZ NOT NULL,
    specimen_date  DATE NOT NULL,
    key_version    BIGINT NOT NULL,
    accession      BYTEA NOT NULL,
    accession_bidx BYTEA NOT NULL UNIQUE,
    result         BYTEA NOT NULL,
    test_type      BYTEA,
    lab            BYTEA
);
CREATE INDEX lab_results_person ON lab_results (person_id);

CREATE TABLE exposures (
    id                UUID PRIMARY KEY,
    case_id           UUID NOT NULL REFERENCES cases (id),
    contact_person_id UUID NOT NULL REFERENCES persons (id),
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    first_exposure    DATE NOT NULL,
    last_exposure     DATE NOT NULL,
    setting           TEXT NOT NULL,
    status            TEXT NOT NULL,
    quarantine_end    DATE NOT NULL,
    key_version       BIGINT NOT NULL,
    notes             BYTEA
);
CREATE INDEX exposures_case ON exposures (case_id);
CREATE INDEX exposures_contact ON exposures (contact_person_id);
CREATE INDEX exposures_status ON exposures (status, id);

CREATE TABLE tasks (
    id          UUID PRIMARY KEY,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,
    priority    INTEGER NOT NULL,
    person_id   UUID NOT NULL REFERENCES persons (id),
    case_id     UUID REFERENCES cases (id),
    exposure_id UUID REFERENCES exposures (id),
    created_at  TIMESTAMPTZ NOT NULL,
    due_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX tasks_case ON tasks (case_id);
CREATE INDEX tasks_status ON tasks (status, due_at);

CREATE TABLE api_tokens (
    id         UUID PRIMARY KEY,
    name       TEXT NOT NULL,
    hash       BYTEA NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);
