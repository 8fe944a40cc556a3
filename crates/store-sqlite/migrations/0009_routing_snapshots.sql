-- The routing engine saved whole as of one event (`seq`), sealed, in parts
-- of a few megabytes. A restart restores it and replays only the events
-- after it. Only the newest snapshot is kept.
CREATE TABLE routing_snapshots (
    id          BLOB NOT NULL,
    seq         INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    part        INTEGER NOT NULL,
    parts       INTEGER NOT NULL,
    data        BLOB NOT NULL,
    key_version INTEGER NOT NULL,
    PRIMARY KEY (id, part)
);
