-- Merging two records of one person (issue 16). The merged record keeps
-- its row, sealed as it was, marked with the survivor it was merged into;
-- person look-ups follow the mark. Each merge lists the rows it moved to
-- the survivor (ids only), so an unmerge moves exactly those back.
ALTER TABLE persons ADD COLUMN merged_into BLOB;
ALTER TABLE persons ADD COLUMN merged_at TEXT;
CREATE INDEX persons_merged_into ON persons (merged_into) WHERE merged_into IS NOT NULL;

CREATE TABLE person_merges (
    id           BLOB PRIMARY KEY NOT NULL,
    survivor_id  BLOB NOT NULL REFERENCES persons (id),
    merged_id    BLOB NOT NULL REFERENCES persons (id),
    jurisdiction TEXT NOT NULL,
    review_id    BLOB,
    merged_by    BLOB,
    merged_at    TEXT NOT NULL,
    moved        INTEGER NOT NULL,
    unmerged_by  BLOB,
    unmerged_at  TEXT
);
CREATE INDEX person_merges_jurisdiction ON person_merges (jurisdiction, id);
CREATE INDEX person_merges_survivor ON person_merges (survivor_id);
CREATE INDEX person_merges_merged ON person_merges (merged_id);

-- `tbl` names the table; `row_id` the row's id (a household member's
-- household).
CREATE TABLE person_merge_rows (
    merge_id BLOB NOT NULL,
    tbl      TEXT NOT NULL,
    row_id   BLOB NOT NULL,
    PRIMARY KEY (merge_id, tbl, row_id)
) WITHOUT ROWID;

-- A merge moves closed monitoring records too.
CREATE INDEX monitoring_person_all ON monitoring (person_id);
