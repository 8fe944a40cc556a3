-- Contacts of contacts, and households (issue 13, item 3).

-- A contact named by another contact: the record it came from, and how far
-- from the case it is (1: named by the case itself). `case_id` stays the
-- case the chain started from.
ALTER TABLE exposures ADD COLUMN source_exposure_id BLOB REFERENCES exposures (id);
ALTER TABLE exposures ADD COLUMN depth INTEGER NOT NULL DEFAULT 1;

-- The people who live with a case: one household per case, its shared
-- address sealed.
CREATE TABLE households (
    id           BLOB PRIMARY KEY NOT NULL,
    case_id      BLOB NOT NULL UNIQUE REFERENCES cases (id),
    jurisdiction TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    key_version  INTEGER NOT NULL,
    address      BLOB
);
CREATE TABLE household_members (
    household_id BLOB NOT NULL REFERENCES households (id),
    person_id    BLOB NOT NULL REFERENCES persons (id),
    exposure_id  BLOB REFERENCES exposures (id),
    PRIMARY KEY (household_id, person_id)
);
CREATE INDEX household_members_person ON household_members (person_id);
