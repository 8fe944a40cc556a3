-- Whether a case-work task has been handed to task routing. The node that
-- leads routing takes unrouted pending tasks (from lab intake, named
-- contacts) and routes them; the same transaction that logs their routing
-- sets the flag, so a task is routed once even across crashes.
ALTER TABLE tasks ADD COLUMN routed INTEGER NOT NULL DEFAULT 0;
CREATE INDEX tasks_unrouted ON tasks (created_at, id) WHERE routed = FALSE;
