-- Routing lets go of a case-work task when case work takes it back: its
-- case closed, or a supervisor assigned it by hand or returned it to the
-- queue. `withdrawal` holds the reason until the routing leader has
-- canceled the task in its engine; then it is cleared and `routed` is
-- false again (routing no longer holds the task; a pending one is routed
-- anew). Until then routing's progress leaves case work's status and
-- assignee alone.
ALTER TABLE tasks ADD COLUMN withdrawal TEXT;
-- Before this column, "canceled and not routed" meant "withdraw it".
UPDATE tasks SET withdrawal = 'case closed', routed = TRUE
    WHERE status = 'canceled' AND routed = FALSE;
DROP INDEX tasks_unrouted;
CREATE INDEX tasks_to_route ON tasks (created_at, id)
    WHERE routed = FALSE AND status = 'pending' AND withdrawal IS NULL;
CREATE INDEX tasks_withdrawn ON tasks (created_at, id) WHERE withdrawal IS NOT NULL;
