-- Staff identity, sessions, jurisdictions and break-glass (issue 3).
-- Usernames, display names, TOTP secrets and break-glass reasons are sealed
-- like PHI; usernames are found through a blind index.

CREATE TABLE jurisdictions (
    code   TEXT PRIMARY KEY NOT NULL,
    name   TEXT NOT NULL,
    parent TEXT REFERENCES jurisdictions (code)
);
INSERT INTO jurisdictions (code, name, parent) VALUES ('root', 'All jurisdictions', NULL);

CREATE TABLE users (
    id                   UUID PRIMARY KEY,
    username             BYTEA NOT NULL,
    username_bidx        BYTEA NOT NULL UNIQUE,
    display_name         BYTEA NOT NULL,
    role                 TEXT NOT NULL,
    jurisdiction         TEXT NOT NULL REFERENCES jurisdictions (code),
    password_hash        TEXT NOT NULL,
    must_change_password BOOLEAN NOT NULL,
    mfa_required         BOOLEAN NOT NULL,
    totp_secret          BYTEA,
    totp_confirmed       BOOLEAN NOT NULL,
    totp_last_step       BIGINT,
    failed_logins        INTEGER NOT NULL,
    last_failed_at       TIMESTAMPTZ,
    locked_at            TIMESTAMPTZ,
    disabled_at          TIMESTAMPTZ,
    key_version          BIGINT NOT NULL,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL
);

CREATE TABLE teams (
    id           UUID PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    jurisdiction TEXT NOT NULL REFERENCES jurisdictions (code),
    created_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE team_members (
    team_id UUID NOT NULL REFERENCES teams (id),
    user_id UUID NOT NULL REFERENCES users (id),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id);

CREATE TABLE sessions (
    hash         BYTEA PRIMARY KEY,
    user_id      UUID NOT NULL REFERENCES users (id),
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    mfa_done     BOOLEAN NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE login_throttle (
    client         TEXT PRIMARY KEY NOT NULL,
    failures       INTEGER NOT NULL,
    last_failed_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE break_glass (
    id          UUID PRIMARY KEY,
    user_id     UUID NOT NULL REFERENCES users (id),
    person_id   UUID NOT NULL REFERENCES persons (id),
    opened_at   TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    key_version BIGINT NOT NULL,
    reason      BYTEA NOT NULL
);
CREATE INDEX break_glass_user ON break_glass (user_id, person_id);

ALTER TABLE api_tokens ADD COLUMN user_id UUID REFERENCES users (id);
ALTER TABLE persons ADD COLUMN jurisdiction TEXT NOT NULL DEFAULT 'root';
ALTER TABLE cases ADD COLUMN jurisdiction TEXT NOT NULL DEFAULT 'root';
ALTER TABLE tasks ADD COLUMN jurisdiction TEXT NOT NULL DEFAULT 'root';
ALTER TABLE tasks ADD COLUMN assignee_id UUID REFERENCES users (id);
CREATE INDEX tasks_person ON tasks (person_id);
CREATE INDEX tasks_assignee ON tasks (assignee_id, status) WHERE assignee_id IS NOT NULL;
CREATE INDEX cases_jurisdiction ON cases (jurisdiction, id);
