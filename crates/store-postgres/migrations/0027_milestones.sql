-- Case-work milestones for the CDC indicators (issue 15): when a case's
-- interview was completed and when a named contact was notified, each kept
-- once, with whether it came within 24 hours of the case's report or the
-- contact's naming. Ids, a jurisdiction and times only: no personal data,
-- so the figures outlive the records retention purges.
CREATE TABLE milestones (
    record_id    UUID NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('interviewed', 'notified')),
    jurisdiction TEXT NOT NULL,
    since_at     TIMESTAMPTZ NOT NULL,
    at           TIMESTAMPTZ NOT NULL,
    on_time      BOOLEAN NOT NULL,
    PRIMARY KEY (record_id, kind)
);
-- The indicators count one kind's milestones of a jurisdiction by when the
-- record was made.
CREATE INDEX milestones_since ON milestones (kind, jurisdiction, since_at);
