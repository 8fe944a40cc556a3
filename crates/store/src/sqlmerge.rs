//! Merging two records of one person, and undoing it, written once for
//! both SQL backends. A merge runs in the intake transaction (on
//! PostgreSQL it takes intake's lock), so no intake matches the merged
//! record half-way through.

/// A table whose rows naming a person a merge moves.
pub struct Moved {
    pub table: &'static str,
    /// The column naming the person.
    pub person: &'static str,
    /// The column listed as the row's key (`person_merge_rows.row_id`).
    pub key: &'static str,
    /// Columns that, with the person, make a row unique: a row the
    /// survivor already has an equal of (an identity point, a household
    /// membership) stays with the merged record, since moving it would
    /// break the table's uniqueness and the survivor holds the same fact.
    pub unique_with: &'static [&'static str],
}

const fn moved(table: &'static str, person: &'static str) -> Moved {
    Moved {
        table,
        person,
        key: "id",
        unique_with: &[],
    }
}

/// The tables a merge moves.
pub const MOVED: &[Moved] = &[
    moved("cases", "person_id"),
    moved("lab_results", "person_id"),
    moved("exposures", "contact_person_id"),
    moved("tasks", "person_id"),
    moved("case_entries", "person_id"),
    moved("messages", "person_id"),
    moved("monitoring", "person_id"),
    moved("person_facets", "person_id"),
    Moved {
        unique_with: &["kind", "bidx"],
        ..moved("person_points", "person_id")
    },
    Moved {
        key: "household_id",
        unique_with: &["household_id"],
        ..moved("household_members", "person_id")
    },
    // Records merged into the merged person follow them to the survivor.
    moved("persons", "merged_into"),
];

/// Rows made after a merge that hang on a moved case or contact record go
/// back with it on an unmerge: (table, the column naming a case, the
/// column naming a contact record); each table's person column is
/// `person_id`.
pub const FOLLOWERS: &[(&str, Option<&str>, Option<&str>)] = &[
    ("tasks", Some("case_id"), Some("exposure_id")),
    ("case_entries", Some("case_id"), Some("exposure_id")),
    ("lab_results", Some("case_id"), None),
    ("monitoring", None, Some("id")),
];

/// Expands `merge_in`, `unmerge_in` and their helpers for a sqlx database.
/// The caller must have in scope `err`, `QueryBuilder`, `Transaction`,
/// `Row` and the store's row types.
#[macro_export]
macro_rules! merge_sql {
    ($db:ty) => {
        /// (home jurisdiction, merged into, purged) of a person, read in
        /// the transaction.
        async fn merge_party(
            tx: &mut Transaction<'_, $db>,
            id: Uuid,
        ) -> StoreResult<Option<(String, Option<Uuid>, bool)>> {
            let mut q = QueryBuilder::<$db>::new(
                "SELECT jurisdiction, merged_into, purged_at IS NOT NULL FROM persons WHERE id = ",
            );
            q.push_bind(id);
            let Some(r) = q.build().fetch_optional(&mut **tx).await.map_err(err)? else {
                return Ok(None);
            };
            Ok(Some((
                r.try_get(0).map_err(err)?,
                r.try_get(1).map_err(err)?,
                r.try_get(2).map_err(err)?,
            )))
        }

        /// Runs one statement in the transaction; how many rows it touched.
        async fn merge_exec(
            tx: &mut Transaction<'_, $db>,
            mut q: QueryBuilder<'_, $db>,
        ) -> StoreResult<u64> {
            Ok(q.build()
                .execute(&mut **tx)
                .await
                .map_err(err)?
                .rows_affected())
        }

        /// Whether a query finds any row.
        async fn merge_found(
            tx: &mut Transaction<'_, $db>,
            mut q: QueryBuilder<'_, $db>,
        ) -> StoreResult<bool> {
            Ok(q.build()
                .fetch_optional(&mut **tx)
                .await
                .map_err(err)?
                .is_some())
        }

        /// Moves the rows of `table` that merge `merge` listed from person
        /// `from` to person `to`.
        async fn move_listed(
            tx: &mut Transaction<'_, $db>,
            (table, col, key): (&str, &str, &str),
            merge: Uuid,
            from: Uuid,
            to: Uuid,
        ) -> StoreResult<u64> {
            let mut q = QueryBuilder::<$db>::new(format!("UPDATE {table} SET {col} = "));
            q.push_bind(to)
                .push(format!(" WHERE {col} = "))
                .push_bind(from)
                .push(format!(
                    " AND {key} IN (SELECT row_id FROM person_merge_rows WHERE merge_id = "
                ))
                .push_bind(merge)
                .push(" AND tbl = ")
                .push_bind(table.to_string())
                .push(")");
            merge_exec(tx, q).await
        }

        async fn merge_in(
            tx: &mut Transaction<'_, $db>,
            m: &PersonMergeRow,
        ) -> StoreResult<Result<u64, MergeRefusal>> {
            let (s, g) = (m.survivor_id, m.merged_id);
            if s == g {
                return Ok(Err(MergeRefusal::Same));
            }
            let (Some(sv), Some(mg)) = (merge_party(tx, s).await?, merge_party(tx, g).await?)
            else {
                return Ok(Err(MergeRefusal::Unknown));
            };
            if sv.1.is_some() || mg.1.is_some() {
                return Ok(Err(MergeRefusal::AlreadyMerged));
            }
            if sv.2 || mg.2 {
                return Ok(Err(MergeRefusal::Purged));
            }
            if sv.0 != mg.0 || sv.0 != m.jurisdiction {
                return Ok(Err(MergeRefusal::AcrossJurisdictions));
            }
            let mut q = QueryBuilder::<$db>::new(
                "SELECT 1 FROM person_facets a JOIN person_facets b \
                 ON a.jurisdiction = b.jurisdiction WHERE a.person_id = ",
            );
            q.push_bind(s).push(" AND b.person_id = ").push_bind(g);
            if merge_found(tx, q).await? {
                return Ok(Err(MergeRefusal::FacetsMeet));
            }
            // A person is never their own contact.
            let mut q = QueryBuilder::<$db>::new(
                "SELECT 1 FROM exposures e JOIN cases c ON c.id = e.case_id WHERE (c.person_id = ",
            );
            q.push_bind(s)
                .push(" AND e.contact_person_id = ")
                .push_bind(g)
                .push(") OR (c.person_id = ")
                .push_bind(g)
                .push(" AND e.contact_person_id = ")
                .push_bind(s)
                .push(")");
            if merge_found(tx, q).await? {
                return Ok(Err(MergeRefusal::ContactOfTheOther));
            }
            // Marked first, and only while neither is marked: of two merges
            // racing over one person, the second finds the mark and stops.
            for (id, to) in [(g, Some(s)), (s, None)] {
                let mut q = QueryBuilder::<$db>::new("UPDATE persons SET merged_into = ");
                q.push_bind(to)
                    .push(", merged_at = ")
                    .push_bind(to.map(|_| m.merged_at))
                    .push(" WHERE merged_into IS NULL AND purged_at IS NULL AND id = ")
                    .push_bind(id);
                if merge_exec(tx, q).await? != 1 {
                    return Ok(Err(MergeRefusal::AlreadyMerged));
                }
            }
            let mut moved = 0;
            for t in $crate::sqlmerge::MOVED {
                let (table, col, key) = (t.table, t.person, t.key);
                let mut q = QueryBuilder::<$db>::new(
                    "INSERT INTO person_merge_rows (merge_id, tbl, row_id) SELECT ",
                );
                q.push_bind(m.id)
                    .push(", ")
                    .push_bind(table)
                    .push(format!(", {key} FROM {table} WHERE {col} = "))
                    .push_bind(g);
                if !t.unique_with.is_empty() {
                    q.push(format!(
                        " AND NOT EXISTS (SELECT 1 FROM {table} o WHERE o.{col} = "
                    ))
                    .push_bind(s);
                    for c in t.unique_with {
                        q.push(format!(" AND o.{c} = {table}.{c}"));
                    }
                    q.push(")");
                }
                moved += merge_exec(tx, q).await?;
                move_listed(tx, (table, col, key), m.id, g, s).await?;
            }
            // Blocking keys are derived: the merged record is compared with
            // no one, and an unmerge makes its keys again.
            let mut q = QueryBuilder::<$db>::new("DELETE FROM link_keys WHERE person_id = ");
            q.push_bind(g);
            merge_exec(tx, q).await?;
            let mut q = QueryBuilder::<$db>::new(format!(
                "INSERT INTO person_merges ({MERGE_COLUMNS}) VALUES ("
            ));
            let mut sep = q.separated(", ");
            sep.push_bind(m.id)
                .push_bind(s)
                .push_bind(g)
                .push_bind(&m.jurisdiction)
                .push_bind(m.review_id)
                .push_bind(m.merged_by)
                .push_bind(m.merged_at)
                .push_bind(i64::try_from(moved).unwrap_or(i64::MAX))
                .push_bind(None::<Uuid>)
                .push_bind(None::<DateTime<Utc>>);
            q.push(")");
            merge_exec(tx, q).await?;
            Ok(Ok(moved))
        }

        async fn person_merge_in(
            tx: &mut Transaction<'_, $db>,
            id: Uuid,
        ) -> StoreResult<Option<PersonMergeRow>> {
            let mut q = QueryBuilder::<$db>::new(format!(
                "SELECT {MERGE_COLUMNS} FROM person_merges WHERE id = "
            ));
            q.push_bind(id);
            q.build()
                .fetch_optional(&mut **tx)
                .await
                .map_err(err)?
                .map(|r| person_merge(&r))
                .transpose()
        }

        async fn unmerge_in(
            tx: &mut Transaction<'_, $db>,
            id: Uuid,
            by: Option<Uuid>,
            at: DateTime<Utc>,
        ) -> StoreResult<Result<u64, UnmergeRefusal>> {
            let Some(m) = person_merge_in(tx, id).await? else {
                return Ok(Err(UnmergeRefusal::Unknown));
            };
            if m.unmerged_at.is_some() {
                return Ok(Err(UnmergeRefusal::Undone));
            }
            let (s, g) = (m.survivor_id, m.merged_id);
            let (Some(sv), Some(mg)) = (merge_party(tx, s).await?, merge_party(tx, g).await?)
            else {
                return Ok(Err(UnmergeRefusal::Unknown));
            };
            if sv.1.is_some() {
                return Ok(Err(UnmergeRefusal::SurvivorMerged));
            }
            if sv.2 || mg.2 {
                return Ok(Err(UnmergeRefusal::Purged));
            }
            let mut q = QueryBuilder::<$db>::new(
                "UPDATE persons SET merged_into = NULL, merged_at = NULL WHERE id = ",
            );
            q.push_bind(g).push(" AND merged_into = ").push_bind(s);
            if merge_exec(tx, q).await? != 1 {
                return Err(StoreError::Corrupt("a merged record lost its mark".into()));
            }
            let mut back = 0;
            for t in $crate::sqlmerge::MOVED.iter().rev() {
                back += move_listed(tx, (t.table, t.person, t.key), id, s, g).await?;
            }
            for (table, case_col, contact_col) in $crate::sqlmerge::FOLLOWERS {
                let mut q = QueryBuilder::<$db>::new(format!("UPDATE {table} SET person_id = "));
                q.push_bind(g)
                    .push(" WHERE person_id = ")
                    .push_bind(s)
                    .push(" AND (1 = 0");
                for (col, listed) in [(case_col, "cases"), (contact_col, "exposures")] {
                    if let Some(col) = col {
                        q.push(format!(
                            " OR {col} IN (SELECT row_id FROM person_merge_rows WHERE merge_id = "
                        ))
                        .push_bind(id)
                        .push(" AND tbl = ")
                        .push_bind(listed)
                        .push(")");
                    }
                }
                q.push(")");
                back += merge_exec(tx, q).await?;
            }
            // Messages of tasks that went back.
            let mut q = QueryBuilder::<$db>::new("UPDATE messages SET person_id = ");
            q.push_bind(g)
                .push(" WHERE person_id = ")
                .push_bind(s)
                .push(" AND task_id IN (SELECT id FROM tasks WHERE person_id = ")
                .push_bind(g)
                .push(")");
            back += merge_exec(tx, q).await?;
            let mut q = QueryBuilder::<$db>::new("UPDATE person_merges SET unmerged_by = ");
            q.push_bind(by)
                .push(", unmerged_at = ")
                .push_bind(at)
                .push(" WHERE id = ")
                .push_bind(id);
            merge_exec(tx, q).await?;
            Ok(Ok(back))
        }
    };
}
