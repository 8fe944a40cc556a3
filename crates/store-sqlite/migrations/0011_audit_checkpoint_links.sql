-- Checkpoints are linked: each signs a hash of the one before it, so one
-- deleted breaks the next (security issue, item 4). NULL for checkpoints
-- signed before links existed.
ALTER TABLE audit_checkpoints ADD COLUMN prev BLOB;
ALTER TABLE audit_checkpoints ADD COLUMN late INTEGER NOT NULL DEFAULT 0;
