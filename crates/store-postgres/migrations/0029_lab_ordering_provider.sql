-- The provider who ordered a test (HL7 OBR-16 / ORC-12, or the API's
-- `ordering_provider`), sealed like the lab's name: investigators call
-- them, and a provider's name with a result can identify a patient.
ALTER TABLE lab_results ADD COLUMN ordering_provider BYTEA;
ALTER TABLE lab_results ALTER COLUMN ordering_provider SET STATISTICS 0;
