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
    id                   BLOB PRIMARY KEY NOT NULL,
    username             BLOB NOT NULL,
    username_bidx        BLOB NOT NULL UNIQUE,
    display_name         BLOB NOT NULL,
    role                 TEXT NOT NULL,
    jurisdiction         TEXT NOT NULL REFERENCES jurisdictions (code),
    password_hash        TEXT NOT NULL,
    must_change_password INTEGER NOT NULL,
    mfa_required         INTEGER NOT NULL,
    totp_secret          BLOB,
    totp_confirmed       INTEGER NOT NULL,
    totp_last_step       INTEGER,
    failed_logins        INTEGER NOT NULL,
    last_failed_at       TEXT,
    locked_at            TEXT,
    disabled_at          TEXT,
    key_version          INTEGER NOT NULL,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL
);

CREATE TABLE teams (
    id           BLOB PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL UNIQUE,
    jurisdiction TEXT NOT NULL REFERENCES jurisdictions (code),
    created_at   TEXT NOT NULL
);

CREATE TABLE team_members (
    team_id BLOB NOT NULL REFERENCES teams (id),
    user_id BLOB NOT NULL REFERENCES users (id),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id);

CREATE TABLE sessions (
    hash         BLOB PRIMARY KEY NOT NULL,
    user_id      BLOB NOT NULL REFERENCES users (id),
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    mfa_done     INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE login_throttle (
    client         TEXT PRIMARY KEY NOT NULL,
    failures       INTEGER NOT NULL,
    last_failed_at TEXT NOT NULL
);

CREATE TABLE break_glass (
    id          BLOB PRIMARY KEY NOT NULL,
    user_id     BLOB NOT NULL REFERENCES users (id),
    person_id   BLOB NOT NULL REFERENCES persons (id),
    opened_at   TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    key_version INTEGER NOT NULL,
    reason      BLOB NOT NULL
);
CREATE INDEX break_glass_user ON break_glass (user_id, person_id);

ALTER TABLE api_tokens ADD COLUMN user_id BLOB REFERENCES users (id);
ALTER TABLE persons ADD COLUMN jurisdiction TEXT NOT NULL DEFAULT 'root';
ALTER TABLE cases ADD COLUMN jurisdiction TEXT NOT NULL DEFAULT 'root';
ALTER TABLE tasks ADD COLUMN jurisdiction TEXT NOT NULL DEFAULT 'root';
ALTER TABLE tasks ADD COLUMN assignee_id BLOB REFERENCES users (id);
CREATE INDEX tasks_person ON tasks (person_id);
CREATE INDEX tasks_assignee ON tasks (assignee_id, status) WHERE assignee_id IS NOT NULL;
CREATE INDEX cases_jurisdiction ON cases (jurisdiction, id);
