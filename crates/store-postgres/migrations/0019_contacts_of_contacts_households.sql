-- Contacts of contacts, and households (issue 13, item 3).

-- A contact named by another contact: the record it came from, and how far
-- from the case it is (1: named by the case itself). `case_id` stays the
-- case the chain started from.
ALTER TABLE exposures ADD COLUMN source_exposure_id UUID REFERENCES exposures (id);
ALTER TABLE exposures ADD COLUMN depth INTEGER NOT NULL DEFAULT 1;

-- The people who live with a case: one household per case, its shared
-- address sealed.
CREATE TABLE households (
    id           UUID PRIMARY KEY,
    case_id      UUID NOT NULL UNIQUE REFERENCES cases (id),
    jurisdiction TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    key_version  BIGINT NOT NULL,
    address      BYTEA
);
ALTER TABLE households ALTER COLUMN address SET STATISTICS 0;
CREATE TABLE household_members (
    household_id UUID NOT NULL REFERENCES households (id),
    person_id    UUID NOT NULL REFERENCES persons (id),
    exposure_id  UUID REFERENCES exposures (id),
    PRIMARY KEY (household_id, person_id)
);
CREATE INDEX household_members_person ON household_members (person_id);
