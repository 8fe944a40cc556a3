-- Texts from numbers tracedesk never wrote to and no record holds: stored
-- with no person, for staff to read (the triage list), newest first.
CREATE INDEX messages_unmatched ON messages (id) WHERE direction = 'in' AND person_id IS NULL;
