-- Held records are read from the holders' tasks: a held person's records in
-- one jurisdiction, newest first (sqlgen::cases_query).
CREATE INDEX cases_person_jurisdiction ON cases (person_id, jurisdiction, id);
CREATE INDEX exposures_contact_jurisdiction ON exposures (contact_person_id, jurisdiction, id);
CREATE INDEX exposures_case_newest ON exposures (case_id, id);
