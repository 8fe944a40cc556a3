-- Clusters and events (issue 13, item 2): a named setting (a wedding, a
-- workplace) with a date range, which cases and contact records attach to.
-- The name is sealed: it can say who.
CREATE TABLE clusters (
    id           UUID PRIMARY KEY,
    jurisdiction TEXT NOT NULL,
    setting      TEXT NOT NULL,
    starts       DATE NOT NULL,
    ends         DATE NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    key_version  BIGINT NOT NULL,
    name         BYTEA NOT NULL
);
ALTER TABLE clusters ALTER COLUMN name SET STATISTICS 0;
CREATE INDEX clusters_jurisdiction ON clusters (jurisdiction, id);
CREATE TABLE cluster_members (
    cluster_id  UUID NOT NULL REFERENCES clusters (id),
    case_id     UUID REFERENCES cases (id),
    exposure_id UUID REFERENCES exposures (id),
    added_at    TIMESTAMPTZ NOT NULL,
    CHECK ((case_id IS NULL) <> (exposure_id IS NULL))
);
CREATE UNIQUE INDEX cluster_members_case ON cluster_members (cluster_id, case_id)
    WHERE case_id IS NOT NULL;
CREATE UNIQUE INDEX cluster_members_exposure ON cluster_members (cluster_id, exposure_id)
    WHERE exposure_id IS NOT NULL;
