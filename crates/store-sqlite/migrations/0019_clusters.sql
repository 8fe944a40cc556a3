-- Clusters and events (issue 13, item 2): a named setting (a wedding, a
-- workplace) with a date range, which cases and contact records attach to.
-- The name is sealed: it can say who.
CREATE TABLE clusters (
    id           BLOB PRIMARY KEY NOT NULL,
    jurisdiction TEXT NOT NULL,
    setting      TEXT NOT NULL,
    starts       TEXT NOT NULL,
    ends         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    key_version  INTEGER NOT NULL,
    name         BLOB NOT NULL
);
CREATE INDEX clusters_jurisdiction ON clusters (jurisdiction, id);
CREATE TABLE cluster_members (
    cluster_id  BLOB NOT NULL REFERENCES clusters (id),
    case_id     BLOB REFERENCES cases (id),
    exposure_id BLOB REFERENCES exposures (id),
    added_at    TEXT NOT NULL,
    CHECK ((case_id IS NULL) <> (exposure_id IS NULL))
);
CREATE UNIQUE INDEX cluster_members_case ON cluster_members (cluster_id, case_id)
    WHERE case_id IS NOT NULL;
CREATE UNIQUE INDEX cluster_members_exposure ON cluster_members (cluster_id, exposure_id)
    WHERE exposure_id IS NOT NULL;
