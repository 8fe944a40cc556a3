-- Reaching people (issue 14): one table is both the outbox and every
-- person's thread. An outbound message is written (sealed address and
-- body) with the action that caused it, then claimed by one dispatcher,
-- sent and moved along by the provider's status callbacks; an inbound one
-- is stored before its webhook is answered. `address_bidx` is the blind
-- index of the phone number or email, so replies and opt-outs find the
-- person without the address in the clear.
CREATE TABLE messages (
    id              BLOB PRIMARY KEY NOT NULL,
    direction       TEXT NOT NULL CHECK (direction IN ('out', 'in')),
    channel         TEXT NOT NULL,
    status          TEXT NOT NULL,
    priority        INTEGER NOT NULL,
    person_id       BLOB REFERENCES persons (id),
    task_id         BLOB REFERENCES tasks (id),
    jurisdiction    TEXT,
    template        TEXT,
    sender          TEXT,
    address_bidx    BLOB NOT NULL,
    key_version     INTEGER NOT NULL,
    address         BLOB NOT NULL,
    body            BLOB NOT NULL,
    segments        INTEGER NOT NULL,
    provider_sid    TEXT UNIQUE,
    error_code      TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    claimed_by      TEXT,
    claim_until     TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL
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
    address_bidx BLOB PRIMARY KEY NOT NULL,
    opted_out    INTEGER NOT NULL,
    keyword      TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
