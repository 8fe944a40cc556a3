-- The audit log: append-only, hash-chained (see crates/audit). Entries hold
-- ids and action names only, never PHI.
CREATE TABLE audit_log (
    seq       BIGINT PRIMARY KEY,
    at        TIMESTAMPTZ NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    object    TEXT NOT NULL,
    object_id UUID,
    person_id UUID,
    detail    TEXT NOT NULL,
    prev_hash BYTEA NOT NULL,
    hash      BYTEA NOT NULL
);
CREATE INDEX audit_log_person ON audit_log (person_id) WHERE person_id IS NOT NULL;

CREATE TABLE audit_checkpoints (
    seq        BIGINT PRIMARY KEY,
    head       BYTEA NOT NULL,
    at         TIMESTAMPTZ NOT NULL,
    public_key BYTEA NOT NULL,
    signature  BYTEA NOT NULL
);

CREATE FUNCTION tracedesk_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION tracedesk_append_only();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION tracedesk_append_only();
