-- Case investigation and contact follow-up (issue 13).

-- The contact lifecycle names the conversion `converted` now.
UPDATE exposures SET status = 'converted' WHERE status = 'converted_to_case';

-- The contact's own case: opened when a positive result converted them, or
-- the case they already were when named. Each such row is a transmission
-- edge from the naming case to this one.
ALTER TABLE exposures ADD COLUMN contact_case_id UUID REFERENCES cases (id);
CREATE INDEX exposures_contact_case ON exposures (contact_case_id)
    WHERE contact_case_id IS NOT NULL;
-- A household exposure that goes on while the case isolates at home: its
-- quarantine end follows the case's isolation end.
ALTER TABLE exposures ADD COLUMN ongoing BOOLEAN NOT NULL DEFAULT FALSE;

-- What the symptom-based isolation end depends on (fever-free since,
-- improving, severe), sealed.
ALTER TABLE cases ADD COLUMN clinical BYTEA;

-- Append-only entries of case work, each sealed on its own: notes, outreach
-- attempts, referrals and support requests, interview answers, data-quality
-- findings. `kind` and `status` are names, never values.
CREATE TABLE case_entries (
    id           UUID PRIMARY KEY,
    kind         TEXT NOT NULL,
    person_id    UUID NOT NULL REFERENCES persons (id),
    case_id      UUID REFERENCES cases (id),
    exposure_id  UUID REFERENCES exposures (id),
    task_id      UUID REFERENCES tasks (id),
    jurisdiction TEXT NOT NULL,
    author_id    UUID,
    created_at   TIMESTAMPTZ NOT NULL,
    status       TEXT,
    key_version  BIGINT NOT NULL,
    body         BYTEA NOT NULL
);
CREATE INDEX case_entries_case ON case_entries (case_id, id) WHERE case_id IS NOT NULL;
CREATE INDEX case_entries_exposure ON case_entries (exposure_id, id) WHERE exposure_id IS NOT NULL;
CREATE INDEX case_entries_task ON case_entries (task_id, id) WHERE task_id IS NOT NULL;
CREATE INDEX case_entries_person ON case_entries (person_id);

-- Identity facts learned about a known person after their record was made
-- (a new phone or email, a date of birth the first record lacked), each
-- sealed under its own id, with the blind index that finds the person by
-- it. `kind` is the blind index's column name.
CREATE TABLE person_points (
    id           UUID PRIMARY KEY,
    person_id    UUID NOT NULL REFERENCES persons (id),
    jurisdiction TEXT NOT NULL,
    kind         TEXT NOT NULL,
    bidx         BYTEA NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    key_version  BIGINT NOT NULL,
    value        BYTEA,
    UNIQUE (person_id, kind, bidx)
);
CREATE INDEX person_points_bidx ON person_points (bidx);

-- No planner statistics on sealed values and blind indexes (see 0012).
ALTER TABLE cases ALTER COLUMN clinical SET STATISTICS 0;
ALTER TABLE case_entries ALTER COLUMN body SET STATISTICS 0;
ALTER TABLE person_points
    ALTER COLUMN bidx SET STATISTICS 0,
    ALTER COLUMN value SET STATISTICS 0;
