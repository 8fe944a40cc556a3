-- Indexes that let every list page read at most a page per arm of its scope
-- (see sqlgen::cases_query): newest first within a jurisdiction, with and
-- without a status filter, and a user's tasks newest first.
CREATE INDEX cases_jurisdiction_status ON cases (jurisdiction, status, id);
CREATE INDEX exposures_jurisdiction ON exposures (jurisdiction, id);
CREATE INDEX exposures_jurisdiction_status ON exposures (jurisdiction, status, id);
DROP INDEX tasks_assignee;
CREATE INDEX tasks_assignee ON tasks (assignee_id, status, id) WHERE assignee_id IS NOT NULL;
CREATE INDEX tasks_assignee_newest ON tasks (assignee_id, id) WHERE assignee_id IS NOT NULL;
