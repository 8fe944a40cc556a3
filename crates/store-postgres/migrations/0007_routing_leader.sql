-- Which node leads routing, and where to reach it: followers forward
-- routing requests there. Leadership itself is a PostgreSQL advisory lock.
CREATE TABLE routing_leader (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    url   TEXT NOT NULL,
    since BIGINT NOT NULL
);
