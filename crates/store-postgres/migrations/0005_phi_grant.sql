-- Analysts (or any role) may be granted PHI access within their jurisdictions.
ALTER TABLE users ADD COLUMN phi_granted BOOLEAN NOT NULL DEFAULT FALSE;
