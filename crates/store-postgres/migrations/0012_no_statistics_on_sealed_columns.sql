-- ANALYZE keeps sample values of each column in pg_statistic (most common
-- values, histogram bounds). For sealed columns and blind indexes those
-- samples are sealed values and look-up keys of real people, and they would
-- outlive a purge there. No statistics are gathered for them: the planner
-- needs none (look-ups are by equality on indexed columns).
ALTER TABLE persons
    ALTER COLUMN first_name SET STATISTICS 0,
    ALTER COLUMN last_name SET STATISTICS 0,
    ALTER COLUMN dob SET STATISTICS 0,
    ALTER COLUMN phone SET STATISTICS 0,
    ALTER COLUMN email SET STATISTICS 0,
    ALTER COLUMN address SET STATISTICS 0,
    ALTER COLUMN language SET STATISTICS 0,
    ALTER COLUMN phone_bidx SET STATISTICS 0,
    ALTER COLUMN email_bidx SET STATISTICS 0,
    ALTER COLUMN name_dob_bidx SET STATISTICS 0,
    ALTER COLUMN phone_name_bidx SET STATISTICS 0;
ALTER TABLE lab_results
    ALTER COLUMN accession SET STATISTICS 0,
    ALTER COLUMN accession_bidx SET STATISTICS 0,
    ALTER COLUMN result SET STATISTICS 0,
    ALTER COLUMN test_type SET STATISTICS 0,
    ALTER COLUMN lab SET STATISTICS 0;
ALTER TABLE cases
    ALTER COLUMN symptoms SET STATISTICS 0,
    ALTER COLUMN notes SET STATISTICS 0;
ALTER TABLE exposures ALTER COLUMN notes SET STATISTICS 0;
ALTER TABLE users
    ALTER COLUMN username SET STATISTICS 0,
    ALTER COLUMN username_bidx SET STATISTICS 0,
    ALTER COLUMN display_name SET STATISTICS 0,
    ALTER COLUMN totp_secret SET STATISTICS 0;
ALTER TABLE break_glass ALTER COLUMN reason SET STATISTICS 0;
ALTER TABLE routing_events ALTER COLUMN event SET STATISTICS 0;
ALTER TABLE routing_snapshots ALTER COLUMN data SET STATISTICS 0;
