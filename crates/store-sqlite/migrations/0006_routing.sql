-- The routing engine's event log (issue 4): replayed in order at start to
-- rebuild the engine. Events can carry task attributes, so each is sealed.
CREATE TABLE routing_events (
    id          BLOB PRIMARY KEY NOT NULL,
    seq         INTEGER NOT NULL UNIQUE,
    at          INTEGER NOT NULL,
    event       BLOB NOT NULL,
    key_version INTEGER NOT NULL
);
