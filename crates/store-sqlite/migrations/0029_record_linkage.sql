-- Record linkage (issue 16): each person's blocking keys as keyed blind
-- indexes (HMAC under the vault's blind-index key, never text), the pairs
-- the matcher found with what was decided about them, and where the batch
-- job over the whole store got to, so it can be resumed.
CREATE TABLE link_keys (
    key        BLOB NOT NULL,
    person_id  BLOB NOT NULL,
    PRIMARY KEY (key, person_id)
) WITHOUT ROWID;
CREATE INDEX link_keys_person ON link_keys (person_id);

CREATE TABLE link_reviews (
    id             BLOB PRIMARY KEY,
    person_a       BLOB NOT NULL,
    person_b       BLOB NOT NULL,
    jurisdiction_a TEXT NOT NULL,
    jurisdiction_b TEXT NOT NULL,
    score          REAL NOT NULL,
    status         TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    decided_by     BLOB,
    decided_at     TEXT,
    UNIQUE (person_a, person_b)
);
CREATE INDEX link_reviews_status ON link_reviews (status, id);
CREATE INDEX link_reviews_b ON link_reviews (person_b);

CREATE TABLE link_progress (
    job        TEXT PRIMARY KEY,
    cursor     BLOB,
    updated_at TEXT NOT NULL
);
