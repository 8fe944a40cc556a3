-- Lab reports (HL7 v2 ELR) that could not be recorded (issue 16): the
-- message sealed like any personal data, the acknowledgement code sent and
-- a reason that names segments and fields only, so an operator can list
-- them and replay them once the cause is fixed.
CREATE TABLE elr_dead_letters (
    id           BLOB PRIMARY KEY,
    received_at  TEXT NOT NULL,
    source       TEXT NOT NULL,
    ack_code     TEXT NOT NULL,
    reason       TEXT NOT NULL,
    key_version  INTEGER NOT NULL,
    message      BLOB NOT NULL,
    replayed_at  TEXT,
    replay_code  TEXT
);
