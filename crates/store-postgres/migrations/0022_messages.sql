-- Reaching people (issue 14): one table is both the outbox and every
-- person's thread. An outbound message is written (sealed address and
-- body) with the action that caused it, then claimed by one dispatcher
-- (`FOR UPDATE SKIP LOCKED`, so nodes never claim the same message), sent
-- and moved along by the provider's status callbacks; an inbound one is
-- stored before its webhook is answered. `address_bidx` is the blind index
-- of the phone number or email, so replies and opt-outs find the person
-- without the address in the clear.
CREATE TABLE messages (
    id              UUID PRIMARY KEY,
    direction       TEXT NOT NULL CHECK (direction IN ('out', 'in')),
    channel         TEXT NOT NULL,
    status          TEXT NOT NULL,
    priority        INTEGER NOT NULL,
    person_id       UUID REFERENCES persons (id),
    task_id         UUID REFERENCES tasks (id),
    jurisdiction    TEXT,
    template        TEXT,
    sender          TEXT,
    address_bidx    BYTEA NOT NULL,
    key_version     BIGINT NOT NULL,
    address         BYTEA NOT NULL,
    body            BYTEA NOT NULL,
    segments        INTEGER NOT NULL,
    provider_sid    TEXT UNIQUE,
    error_code      TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    claimed_by      TEXT,
    claim_until     TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL
);
-- The dispatcher's queue: due messages, most urgent first.
CREATE INDEX messages_due ON messages (priority, next_attempt_at)
    WHERE status = 'queued';
-- Claims whose dispatcher died mid-send.
CREATE INDEX messages_sending ON messages (claim_until) WHERE status = 'sending';
CREATE INDEX messages_person ON messages (person_id, id) WHERE person_id IS NOT NULL;
CREATE INDEX messages_address ON messages (address_bidx, id);

-- The consent registry: an address that texted STOP is refused every send
-- until it texts START. Keyed by the blind index alone.
CREATE TABLE consents (
    address_bidx BYTEA PRIMARY KEY,
    opted_out    BOOLEAN NOT NULL,
    keyword      TEXT NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);

-- No planner statistics on sealed values and blind indexes (see 0012).
ALTER TABLE messages ALTER COLUMN address SET STATISTICS 0;
ALTER TABLE messages ALTER COLUMN body SET STATISTICS 0;
ALTER TABLE messages ALTER COLUMN address_bidx SET STATISTICS 0;
ALTER TABLE consents ALTER COLUMN address_bidx SET STATISTICS 0;
