-- The date of a contact's negative test, which the 7-day quarantine option
-- needs (issue 12).
ALTER TABLE exposures ADD COLUMN negative_test_date TEXT;
