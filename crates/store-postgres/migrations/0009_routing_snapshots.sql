-- The routing engine saved whole as of one event (`seq`), sealed, in parts
-- of a few megabytes. A restart restores it and replays only the events
-- after it. Only the newest snapshot is kept.
CREATE TABLE routing_snapshots (
    id          UUID NOT NULL,
    seq         BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    part        INTEGER NOT NULL,
    parts       INTEGER NOT NULL,
    data        BYTEA NOT NULL,
    key_version INTEGER NOT NULL,
    PRIMARY KEY (id, part)
);
