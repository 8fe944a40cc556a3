-- Which node leads routing. With SQLite there is one node, which always
-- leads; the table exists so both backends share one schema.
CREATE TABLE routing_leader (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    url   TEXT NOT NULL,
    since INTEGER NOT NULL
);
