-- Record linkage (issue 16): each person's blocking keys as keyed blind
-- indexes (HMAC under the vault's blind-index key, never text), the pairs
-- the matcher found with what was decided about them, and where the batch
-- job over the whole store got to, so it can be resumed.
CREATE TABLE link_keys (
    key        BYTEA NOT NULL,
    person_id  UUID NOT NULL,
    PRIMARY KEY (key, person_id)
);
CREATE INDEX link_keys_person ON link_keys (person_id);
ALTER TABLE link_keys ALTER COLUMN key SET STATISTICS 0;

CREATE TABLE link_reviews (
    id             UUID PRIMARY KEY,
    person_a       UUID NOT NULL,
    person_b       UUID NOT NULL,
    jurisdiction_a TEXT NOT NULL,
    jurisdiction_b TEXT NOT NULL,
    score          DOUBLE PRECISION NOT NULL,
    status         TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    decided_by     UUID,
    decided_at     TIMESTAMPTZ,
    UNIQUE (person_a, person_b)
);
CREATE INDEX link_reviews_status ON link_reviews (status, id);
CREATE INDEX link_reviews_b ON link_reviews (person_b);

CREATE TABLE link_progress (
    job        TEXT PRIMARY KEY,
    cursor     UUID,
    updated_at TIMESTAMPTZ NOT NULL
);
