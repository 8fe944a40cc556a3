-- Retention (issue 3): a purged person keeps a de-identified stub (age band,
-- jurisdiction, week-coarsened dates, outcomes) so aggregates survive.
ALTER TABLE persons ADD COLUMN purged_at TIMESTAMPTZ;
ALTER TABLE persons ADD COLUMN age_band TEXT;
ALTER TABLE lab_results ADD COLUMN outcome TEXT;
CREATE INDEX persons_unpurged ON persons (id) WHERE purged_at IS NULL;
