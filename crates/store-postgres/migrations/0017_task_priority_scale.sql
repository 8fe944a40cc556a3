-- Task priority has one source now, the domain's TaskKind::default_priority,
-- on routing's scale (a step is an hour of due time). Tasks made before
-- carried the old case-work numbers (80/60/50/40/30); give them the new ones.
UPDATE tasks SET priority = CASE kind
    WHEN 'symptomatic_followup' THEN 10
    WHEN 'callback_request' THEN 5
    ELSE 0 END;
