-- Operators' edits of the built-in message templates (issue 14, item 4):
-- one body per name, channel and language, replacing the built-in one
-- until it is deleted. Not personal data: program wording only.
CREATE TABLE message_templates (
    name       TEXT NOT NULL,
    channel    TEXT NOT NULL,
    language   TEXT NOT NULL,
    body       TEXT NOT NULL,
    updated_by BLOB,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (name, channel, language)
);
-- A task's messages: each is an outreach attempt on the task it served.
CREATE INDEX messages_task ON messages (task_id, id) WHERE task_id IS NOT NULL;
