-- Daily monitoring (issue 14): one row per contact record under
-- monitoring, keyed by the exposure's id. It holds how and when the contact
-- is checked on (channel, local window, IANA time zone), when the next
-- check-in is due, what the last reply said (sealed), and which monitoring
-- line list the record is on. The check-ins themselves are messages.
CREATE TABLE monitoring (
    id             UUID PRIMARY KEY REFERENCES exposures (id),
    person_id      UUID NOT NULL REFERENCES persons (id),
    facet_id       UUID,
    jurisdiction   TEXT NOT NULL,
    channel        TEXT NOT NULL,
    checkin_window TEXT NOT NULL,
    time_zone      TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('active', 'closed')),
    bucket         TEXT NOT NULL,
    next_due_at    TIMESTAMPTZ NOT NULL,
    last_sent_at   TIMESTAMPTZ,
    last_reply_at  TIMESTAMPTZ,
    silent_days    INTEGER NOT NULL DEFAULT 0,
    unclear        INTEGER NOT NULL DEFAULT 0,
    key_version    BIGINT NOT NULL,
    last_report    BYTEA,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
-- The scheduler's queue: active records whose check-in is due.
CREATE INDEX monitoring_due ON monitoring (next_due_at, id) WHERE state = 'active';
-- Line lists: one list, one jurisdiction, in id order.
CREATE INDEX monitoring_list ON monitoring (bucket, jurisdiction, id);
-- A reply finds the records of the person who sent it.
CREATE INDEX monitoring_person ON monitoring (person_id) WHERE state = 'active';
ALTER TABLE monitoring ALTER COLUMN last_report SET STATISTICS 0;
