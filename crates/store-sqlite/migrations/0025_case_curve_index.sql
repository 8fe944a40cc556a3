-- The epidemic curve (Store::case_curve) counts a jurisdiction's cases by
-- specimen date over the last weeks: read as a range of this index per
-- jurisdiction, not a walk of all of its cases.
CREATE INDEX cases_jurisdiction_specimen ON cases (jurisdiction, specimen_date);
