//! The `RetentionStore` purge statements, written once for both SQL backends
//! (`compact` is the backend's own).

/// Expands the candidate query, the purge writes and `impl RetentionStore`
/// for a backend that provides `read_pool()`, `write_tx()` and
/// `compact_files()`.
#[macro_export]
macro_rules! retention_store_impl {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl tracedesk_store::RetentionStore for $store {
            async fn purge_candidates(
                &self,
                cutoffs: Option<PurgeCutoffs>,
                after: Option<Uuid>,
                limit: u32,
            ) -> StoreResult<Vec<Uuid>> {
                purge_candidates_in(self.read_pool(), cutoffs, after, limit).await
            }

            async fn purge_persons(
                &self,
                plans: &[PersonPurge],
                at: DateTime<Utc>,
            ) -> StoreResult<()> {
                let mut tx = self.write_tx().await?;
                purge_in(&mut tx, plans, at).await?;
                tx.commit().await.map_err(err)
            }

            async fn compact(&self) -> StoreResult<()> {
                self.compact_files().await
            }
        }

        fn purge_candidates_query<'a>(
            cutoffs: Option<PurgeCutoffs>,
            after: Option<Uuid>,
            limit: u32,
        ) -> QueryBuilder<'a, $db> {
            let mut q = QueryBuilder::<$db>::new(
                "SELECT p.id FROM persons p WHERE p.purged_at IS NULL AND p.id > ",
            );
            q.push_bind(after.unwrap_or(Uuid::nil()));
            if let Some(c) = cutoffs {
                q.push(" AND p.created_at <= ")
                    .push_bind(c.labs)
                    .push(format!(
                        " AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.person_id = p.id AND \
                         (c.status NOT IN ({CLOSED_CASE_STATUSES}) OR c.updated_at > "
                    ))
                    .push_bind(c.cases)
                    .push(format!(
                        ")) AND NOT EXISTS (SELECT 1 FROM exposures e WHERE e.contact_person_id = p.id AND \
                         (e.status NOT IN ({CLOSED_EXPOSURE_STATUSES}) OR e.updated_at > "
                    ))
                    .push_bind(c.contacts)
                    .push("))");
            }
            q.push(" ORDER BY p.id LIMIT ").push_bind(i64::from(limit));
            q
        }

        async fn purge_in(
            tx: &mut Transaction<'_, $db>,
            plans: &[PersonPurge],
            at: DateTime<Utc>,
        ) -> StoreResult<()> {
            for p in plans {
                let mut q = QueryBuilder::<$db>::new(
                    "UPDATE persons SET first_name = NULL, last_name = NULL, dob = NULL, \
                     phone = NULL, email = NULL, address = NULL, language = NULL, \
                     phone_bidx = NULL, email_bidx = NULL, name_dob_bidx = NULL, \
                     phone_name_bidx = NULL, age_band = ",
                );
                q.push_bind(&p.age_band)
                    .push(", purged_at = ")
                    .push_bind(at)
                    .push(", updated_at = ")
                    .push_bind(at)
                    .push(" WHERE id = ")
                    .push_bind(p.person_id);
                q.build().execute(&mut **tx).await.map_err(err)?;
                // What other jurisdictions recorded of them goes too, with the
                // facts learned later, the entries of their case work and
                // their messages (the consent registry keeps only a blind
                // index, and an opt-out must outlive the record).
                for table in ["person_facets", "person_points", "case_entries", "household_members", "messages", "monitoring", "link_keys"] {
                    let mut q =
                        QueryBuilder::<$db>::new(format!("DELETE FROM {table} WHERE person_id = "));
                    q.push_bind(p.person_id);
                    q.build().execute(&mut **tx).await.map_err(err)?;
                }
                // Pairs the matcher found with them say who they resembled.
                let mut q = QueryBuilder::<$db>::new("DELETE FROM link_reviews WHERE person_a = ");
                q.push_bind(p.person_id)
                    .push(" OR person_b = ")
                    .push_bind(p.person_id);
                q.build().execute(&mut **tx).await.map_err(err)?;
                for c in &p.cases {
                    // The household's shared address is the case person's too.
                    let mut q =
                        QueryBuilder::<$db>::new("UPDATE households SET address = NULL WHERE case_id = ");
                    q.push_bind(c.id);
                    q.build().execute(&mut **tx).await.map_err(err)?;
                    let mut q = QueryBuilder::<$db>::new(
                        "UPDATE cases SET symptoms = NULL, notes = NULL, clinical = NULL, report_date = ",
                    );
                    q.push_bind(c.report_date)
                        .push(", specimen_date = ")
                        .push_bind(c.specimen_date)
                        .push(", onset_date = ")
                        .push_bind(c.onset_date)
                        .push(", infectious_start = ")
                        .push_bind(c.infectious_start)
                        .push(", isolation_end = ")
                        .push_bind(c.isolation_end)
                        .push(" WHERE id = ")
                        .push_bind(c.id);
                    q.build().execute(&mut **tx).await.map_err(err)?;
                }
                for l in &p.labs {
                    // Sealed NOT NULL columns become empty: nothing to open.
                    let mut q = QueryBuilder::<$db>::new(
                        "UPDATE lab_results SET test_type = NULL, lab = NULL, ordering_provider = NULL, accession = ",
                    );
                    q.push_bind(Vec::<u8>::new())
                        .push(", result = ")
                        .push_bind(Vec::<u8>::new())
                        .push(", accession_bidx = ")
                        .push_bind(&l.accession_bidx)
                        .push(", specimen_date = ")
                        .push_bind(l.specimen_date)
                        .push(", outcome = ")
                        .push_bind(&l.outcome)
                        .push(" WHERE id = ")
                        .push_bind(l.id);
                    q.build().execute(&mut **tx).await.map_err(err)?;
                }
                for e in &p.exposures {
                    let mut q = QueryBuilder::<$db>::new(
                        "UPDATE exposures SET notes = NULL, first_exposure = ",
                    );
                    q.push_bind(e.first_exposure)
                        .push(", last_exposure = ")
                        .push_bind(e.last_exposure)
                        .push(", quarantine_end = ")
                        .push_bind(e.quarantine_end)
                        .push(" WHERE id = ")
                        .push_bind(e.id);
                    q.build().execute(&mut **tx).await.map_err(err)?;
                }
                let mut q = QueryBuilder::<$db>::new("UPDATE break_glass SET reason = ");
                q.push_bind(Vec::<u8>::new())
                    .push(" WHERE person_id = ")
                    .push_bind(p.person_id);
                q.build().execute(&mut **tx).await.map_err(err)?;
            }
            Ok(())
        }

        async fn purge_candidates_in(
            pool: &sqlx::Pool<$db>,
            cutoffs: Option<PurgeCutoffs>,
            after: Option<Uuid>,
            limit: u32,
        ) -> StoreResult<Vec<Uuid>> {
            purge_candidates_query(cutoffs, after, limit)
                .build()
                .fetch_all(pool)
                .await
                .map_err(err)?
                .iter()
                .map(|r| r.try_get::<Uuid, _>(0).map_err(err))
                .collect()
        }
    };
}
