-- Tasks of a contact record are looked up by it (the tasks of a case and
-- its contacts, withdrawing a record's tasks, converting a contact, ending
-- monitoring): without this index each look-up read the whole task table.
-- Found by `tracedesk bench reads` at 100,000 cases (issue 13).
CREATE INDEX tasks_exposure ON tasks (exposure_id) WHERE exposure_id IS NOT NULL;
