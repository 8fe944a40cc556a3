-- One person, one record; but what a jurisdiction recorded about a person
-- first recorded elsewhere stays that jurisdiction's (security issue, item
-- 3). A facet holds the identity as that jurisdiction submitted it, sealed
-- (as the person row it would have been, under the facet's id); its id is
-- the person's id as that jurisdiction knows it.
CREATE TABLE person_facets (
    id           BLOB PRIMARY KEY NOT NULL,
    person_id    BLOB NOT NULL REFERENCES persons (id),
    jurisdiction TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    key_version  INTEGER NOT NULL,
    first_name   BLOB,
    last_name    BLOB,
    dob          BLOB,
    phone        BLOB,
    email        BLOB,
    address      BLOB,
    language     BLOB,
    UNIQUE (person_id, jurisdiction)
);

-- Each lab result and contact record says whose it is, so a jurisdiction
-- sees only its own.
ALTER TABLE lab_results ADD COLUMN jurisdiction TEXT NOT NULL DEFAULT 'root';
UPDATE lab_results SET jurisdiction = COALESCE(
    (SELECT c.jurisdiction FROM cases c WHERE c.id = lab_results.case_id),
    (SELECT p.jurisdiction FROM persons p WHERE p.id = lab_results.person_id),
    'root');
ALTER TABLE exposures ADD COLUMN jurisdiction TEXT NOT NULL DEFAULT 'root';
UPDATE exposures SET jurisdiction = COALESCE(
    (SELECT c.jurisdiction FROM cases c WHERE c.id = exposures.case_id), 'root');
-- Who holds a task for a person *in a jurisdiction* is what access asks;
-- the pair index also serves look-ups by person alone, so it replaces the
-- person index instead of adding a second one to every task insert.
CREATE INDEX tasks_person_jurisdiction ON tasks (person_id, jurisdiction);
DROP INDEX tasks_person;

-- How each record's jurisdiction knows its person, written with the record:
-- the facet's id when the person was first recorded elsewhere, NULL when
-- it is the person's own id. Views read it without another look-up.
ALTER TABLE cases ADD COLUMN shown_person_id BLOB;
ALTER TABLE exposures ADD COLUMN shown_person_id BLOB;
ALTER TABLE tasks ADD COLUMN shown_person_id BLOB;
