-- One person, one record; but what a jurisdiction recorded about a person
-- first recorded elsewhere stays that jurisdiction's (security issue, item
-- 3). A facet holds the identity as that jurisdiction submitted it, sealed
-- (as the person row it would have been, under the facet's id); its id is
-- the person's id as that jurisdiction knows it.
CREATE TABLE person_facets (
    id           UUID PRIMARY KEY,
    person_id    UUID NOT NULL REFERENCES persons (id),
    jurisdiction TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    key_version  BIGINT NOT NULL,
    first_name   BYTEA,
    last_name    BYTEA,
    dob          BYTEA,
    phone        BYTEA,
    email        BYTEA,
    address      BYTEA,
    language     BYTEA,
    UNIQUE (person_id, jurisdiction)
);
ALTER TABLE person_facets
    ALTER COLUMN first_name SET STATISTICS 0,
    ALTER COLUMN last_name SET STATISTICS 0,
    ALTER COLUMN dob SET STATISTICS 0,
    ALTER COLUMN phone SET STATISTICS 0,
    ALTER COLUMN email SET STATISTICS 0,
    ALTER COLUMN address SET STATISTICS 0,
    ALTER COLUMN language SET STATISTICS 0;

-- Each lab result and contact record says whose it is, so a jurisdiction
-- sees only its own.
ALTER TABLE lab_results ADD COLUMN jurisdiction TEXT NOT NULL DEFAULT 'root';
UPDATE lab_results l SET jurisdiction = COALESCE(
    (SELECT c.jurisdiction FROM cases c WHERE c.id = l.case_id),
    (SELECT p.jurisdiction FROM persons p WHERE p.id = l.person_id),
    'root');
ALTER TABLE exposures ADD COLUMN jurisdiction TEXT NOT NULL DEFAULT 'root';
UPDATE exposures e SET jurisdiction = COALESCE(
    (SELECT c.jurisdiction FROM cases c WHERE c.id = e.case_id), 'root');
-- Who holds a task for a person *in a jurisdiction* is what access asks;
-- the pair index also serves look-ups by person alone, so it replaces the
-- person index instead of adding a second one to every task insert.
CREATE INDEX tasks_person_jurisdiction ON tasks (person_id, jurisdiction);
DROP INDEX tasks_person;

-- How each record's jurisdiction knows its person, written with the record:
-- the facet's id when the person was first recorded elsewhere, NULL when
-- it is the person's own id. Views read it without another look-up.
ALTER TABLE cases ADD COLUMN shown_person_id UUID;
ALTER TABLE exposures ADD COLUMN shown_person_id UUID;
ALTER TABLE tasks ADD COLUMN shown_person_id UUID;
