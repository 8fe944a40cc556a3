-- The routing engine's event log (issue 4): replayed in order at start to
-- rebuild the engine. Events can carry task attributes, so each is sealed.
CREATE TABLE routing_events (
    id          UUID PRIMARY KEY,
    seq         BIGINT NOT NULL UNIQUE,
    at          BIGINT NOT NULL,
    event       BYTEA NOT NULL,
    key_version INTEGER NOT NULL
);
