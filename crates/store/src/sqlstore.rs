//! The `Store` implementation shared by the backends, written once as a
//! macro over the sqlx database type. Every statement is built with
//! `QueryBuilder`, which writes each dialect's placeholders, so the two
//! backends differ only where their databases do: migrations, query plans,
//! the intake transaction (PostgreSQL takes an advisory lock), and the
//! benchmark baseline's table.
//!
//! The caller must have in scope what `sql_common!` and
//! `identity_store_impl!` need, plus on the store: `explain` and
//! `intake_tx`, the constant `BASELINE_TABLE` (DDL), and a `migrations/`
//! directory beside its `Cargo.toml`.

/// Expands `impl Store for $store`.
#[macro_export]
macro_rules! store_impl {
    ($store:ty, $db:ty, $name:literal) => {
        #[async_trait::async_trait]
        impl tracedesk_store::Store for $store {
            fn backend(&self) -> &'static str {
                $name
            }

            async fn migrate(&self) -> StoreResult<()> {
                // The invoking backend's own `migrations/` directory.
                sqlx::migrate!("./migrations")
                    .run(self.write_pool())
                    .await
                    .map_err(|e| StoreError::Migration(e.into()))
            }

            async fn ping(&self) -> StoreResult<()> {
                row_of(self, select("SELECT 1"), |_| Ok(())).await?;
                Ok(())
            }

            async fn ingest_lab_results(
                &self,
                batch: &[LabIntake],
            ) -> StoreResult<Vec<LabIntakeOutcome>> {
                $crate::in_tx!(self.intake_tx(), ingest_in, batch)
            }

            async fn add_contacts(
                &self,
                batch: &[ContactIntake],
            ) -> StoreResult<Vec<ContactIntakeOutcome>> {
                $crate::in_tx!(self.intake_tx(), add_contacts_in, batch)
            }

            async fn get_person(&self, id: Uuid) -> StoreResult<Option<PersonRow>> {
                let mut q = select(format!("SELECT {PERSON_COLUMNS} FROM persons WHERE id = "));
                q.push_bind(id);
                row_of(self, q, person).await
            }

            async fn get_persons(&self, ids: &[Uuid]) -> StoreResult<Vec<PersonRow>> {
                rows_of(self, persons_query(ids), person).await
            }

            async fn get_exposure(&self, id: Uuid) -> StoreResult<Option<ExposureRow>> {
                exposure_by_id(self.read_pool(), id).await
            }

            async fn update_exposure(&self, e: &ExposureRow) -> StoreResult<()> {
                exposure_follow_up_set(self.write_pool(), e).await
            }

            async fn get_facet(&self, id: Uuid) -> StoreResult<Option<PersonFacetRow>> {
                let mut conn = self.read_pool().acquire().await.map_err(err)?;
                facet_by_id(&mut conn, id).await
            }

            async fn facet_ids(
                &self,
                persons: &[Uuid],
            ) -> StoreResult<std::collections::HashMap<(Uuid, String), Uuid>> {
                let mut conn = self.read_pool().acquire().await.map_err(err)?;
                facet_ids_in(&mut conn, persons).await
            }

            async fn find_persons(
                &self,
                key: PersonKey,
                blind: &[u8],
            ) -> StoreResult<Vec<PersonRow>> {
                // By their own record's index, or by a fact learned later; a
                // merged record answers with the record it was merged into.
                let col = key.column();
                let mut q = select(format!(
                    "SELECT {PERSON_COLUMNS} FROM persons WHERE id IN \
                     (SELECT COALESCE(merged_into, id) FROM persons WHERE {col} = "
                ));
                q.push_bind(blind).push(") ORDER BY id LIMIT 100");
                let mut found = rows_of(self, q, person).await?;
                let mut q = select(
                    "SELECT COALESCE(p.merged_into, p.id) FROM person_points pp \
                     JOIN persons p ON p.id = pp.person_id WHERE pp.bidx = ",
                );
                q.push_bind(blind).push(" AND pp.kind = ").push_bind(col).push(" LIMIT 100");
                let more: Vec<Uuid> = ids_of(self, q)
                    .await?
                    .into_iter()
                    .filter(|id| found.iter().all(|p| p.id != *id))
                    .collect();
                if !more.is_empty() {
                    found.extend(rows_of(self, persons_query(&more), person).await?);
                    found.sort_by_key(|p| p.id);
                }
                Ok(found)
            }

            async fn get_case(&self, id: Uuid) -> StoreResult<Option<CaseRow>> {
                let mut q = select(format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = "));
                q.push_bind(id);
                row_of(self, q, case).await
            }

            async fn list_cases(&self, f: &CaseFilter) -> StoreResult<Vec<CaseRow>> {
                list_rows_of(self, cases_query("", f), case).await
            }

            async fn explain_list(&self, list: &ListQuery) -> StoreResult<ListPlan> {
                self.explain(list).await
            }

            async fn update_case(&self, c: &CaseRow) -> StoreResult<()> {
                let mut q = select("UPDATE cases SET status = ");
                q.push_bind(&c.status)
                    .push(", updated_at = ")
                    .push_bind(c.updated_at)
                    .push(", onset_date = ")
                    .push_bind(c.onset_date)
                    .push(", asymptomatic = ")
                    .push_bind(c.asymptomatic)
                    .push(", specimen_date = ")
                    .push_bind(c.specimen_date)
                    .push(", infectious_start = ")
                    .push_bind(c.infectious_start)
                    .push(", isolation_end = ")
                    .push_bind(c.isolation_end)
                    .push(", key_version = ")
                    .push_bind(i64::from(c.key_version))
                    .push(", symptoms = ")
                    .push_bind(&c.symptoms)
                    .push(", notes = ")
                    .push_bind(&c.notes)
                    .push(", clinical = ")
                    .push_bind(&c.clinical)
                    .push(" WHERE id = ")
                    .push_bind(c.id);
                match write_one(self, q).await? {
                    0 => Err(StoreError::NotFound),
                    _ => Ok(()),
                }
            }

            async fn lab_results_for_person(&self, person_id: Uuid) -> StoreResult<Vec<LabResultRow>> {
                let mut q = select(format!(
                    "SELECT {LAB_COLUMNS} FROM lab_results WHERE person_id = "
                ));
                q.push_bind(person_id).push(" ORDER BY id");
                rows_of(self, q, lab).await
            }

            async fn get_lab_result(&self, id: Uuid) -> StoreResult<Option<LabResultRow>> {
                let mut q = select(format!("SELECT {LAB_COLUMNS} FROM lab_results WHERE id = "));
                q.push_bind(id);
                row_of(self, q, lab).await
            }

            async fn list_exposures(&self, f: &ExposureFilter) -> StoreResult<Vec<ExposureRow>> {
                list_rows_of(self, exposures_query("", f), exposure).await
            }

            async fn tasks_for_case(&self, case_id: Uuid) -> StoreResult<Vec<TaskRow>> {
                // Two index reads, never `… OR exposure_id IN (subquery)`,
                // which PostgreSQL answers by reading the whole task table;
                // the records' ids first (`IN_SUBQUERY`), whatever the
                // statistics say.
                let mut q = select(format!(
                    "SELECT {TASK_COLUMNS} FROM tasks WHERE case_id = "
                ));
                let (open, close) = IN_SUBQUERY;
                q.push_bind(case_id).push(format!(
                    " UNION SELECT {TASK_COLUMNS} FROM tasks WHERE exposure_id {open}\
                     SELECT id FROM exposures WHERE case_id = "
                ));
                q.push_bind(case_id).push(format!("{close} ORDER BY id"));
                rows_of(self, q, task).await
            }

            async fn add_entries(&self, entries: &[EntryRow], tasks: &[TaskRow]) -> StoreResult<()> {
                let mut tx = self.write_tx().await?;
                insert_tasks(&mut tx, tasks).await?;
                insert_entries(&mut tx, entries).await?;
                tx.commit().await.map_err(err)
            }

            async fn entries(
                &self,
                owner: EntryOwner,
                kind: Option<&str>,
            ) -> StoreResult<Vec<EntryRow>> {
                let (col, id) = match owner {
                    EntryOwner::Case(id) => ("case_id", id),
                    EntryOwner::Exposure(id) => ("exposure_id", id),
                    EntryOwner::Task(id) => ("task_id", id),
                    EntryOwner::Person(id) => ("person_id", id),
                };
                let mut q = select(format!(
                    "SELECT {ENTRY_COLUMNS} FROM case_entries WHERE {col} = "
                ));
                q.push_bind(id);
                if let Some(k) = kind {
                    q.push(" AND kind = ").push_bind(k.to_string());
                }
                q.push(" ORDER BY id LIMIT 1000");
                rows_of(self, q, entry).await
            }

            async fn get_entry(&self, id: Uuid) -> StoreResult<Option<EntryRow>> {
                let mut q = select(format!("SELECT {ENTRY_COLUMNS} FROM case_entries WHERE id = "));
                q.push_bind(id);
                row_of(self, q, entry).await
            }

            async fn set_entry_status(&self, id: Uuid, status: &str) -> StoreResult<()> {
                let mut q = select("UPDATE case_entries SET status = ");
                q.push_bind(status.to_string()).push(" WHERE id = ").push_bind(id);
                match write_one(self, q).await? {
                    0 => Err(StoreError::NotFound),
                    _ => Ok(()),
                }
            }

            async fn put_household(
                &self,
                h: &HouseholdRow,
                members: &[HouseholdMember],
            ) -> StoreResult<()> {
                let mut tx = self.write_tx().await?;
                let mut q = select(format!("INSERT INTO households ({HOUSEHOLD_COLUMNS}) "));
                q.push_values([h], |mut b, h| {
                    b.push_bind(h.id)
                        .push_bind(h.case_id)
                        .push_bind(&h.jurisdiction)
                        .push_bind(h.created_at)
                        .push_bind(i64::from(h.key_version))
                        .push_bind(&h.address);
                });
                q.push(
                    " ON CONFLICT (case_id) DO UPDATE SET address = excluded.address, \
                     key_version = excluded.key_version",
                );
                q.build().execute(&mut *tx).await.map_err(err)?;
                let mut q = select("SELECT id FROM households WHERE case_id = ");
                q.push_bind(h.case_id);
                let id: Uuid = q
                    .build()
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(err)?
                    .try_get(0)
                    .map_err(err)?;
                if !members.is_empty() {
                    let mut q = select(
                        "INSERT INTO household_members (household_id, person_id, exposure_id) ",
                    );
                    q.push_values(members, |mut b, m| {
                        b.push_bind(id).push_bind(m.person_id).push_bind(m.exposure_id);
                    });
                    q.push(" ON CONFLICT (household_id, person_id) DO NOTHING");
                    q.build().execute(&mut *tx).await.map_err(err)?;
                }
                tx.commit().await.map_err(err)
            }

            async fn household_of_case(
                &self,
                case: Uuid,
            ) -> StoreResult<Option<(HouseholdRow, Vec<HouseholdMember>)>> {
                let mut q = select(format!("SELECT {HOUSEHOLD_COLUMNS} FROM households WHERE case_id = "));
                q.push_bind(case);
                let Some(h) = row_of(self, q, household).await? else {
                    return Ok(None);
                };
                let mut q = select(
                    "SELECT person_id, exposure_id FROM household_members WHERE household_id = ",
                );
                q.push_bind(h.id).push(" ORDER BY person_id");
                let members = rows_of(self, q, |r| {
                    Ok(HouseholdMember {
                        person_id: r.try_get(0).map_err(err)?,
                        exposure_id: r.try_get(1).map_err(err)?,
                    })
                })
                .await?;
                Ok(Some((h, members)))
            }

            async fn households_of_person(&self, person: Uuid) -> StoreResult<Vec<HouseholdRow>> {
                let cols = HOUSEHOLD_COLUMNS
                    .split(", ")
                    .map(|c| format!("h.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let mut q = select(format!(
                    "SELECT {cols} FROM households h JOIN household_members m \
                     ON m.household_id = h.id WHERE m.person_id = "
                ));
                q.push_bind(person).push(" ORDER BY h.id");
                rows_of(self, q, household).await
            }

            async fn insert_cluster(&self, c: &ClusterRow) -> StoreResult<()> {
                let mut q = select(format!("INSERT INTO clusters ({CLUSTER_COLUMNS}) "));
                q.push_values([c], |mut b, c| {
                    b.push_bind(c.id)
                        .push_bind(&c.jurisdiction)
                        .push_bind(&c.setting)
                        .push_bind(c.starts)
                        .push_bind(c.ends)
                        .push_bind(c.created_at)
                        .push_bind(i64::from(c.key_version))
                        .push_bind(&c.name);
                });
                write_one(self, q).await.map(|_| ())
            }

            async fn get_cluster(&self, id: Uuid) -> StoreResult<Option<ClusterRow>> {
                let mut q = select(format!("SELECT {CLUSTER_COLUMNS} FROM clusters WHERE id = "));
                q.push_bind(id);
                row_of(self, q, cluster).await
            }

            async fn list_clusters(
                &self,
                jurisdictions: &[String],
                limit: u32,
            ) -> StoreResult<Vec<ClusterRow>> {
                let mut q = select(format!(
                    "SELECT {CLUSTER_COLUMNS} FROM clusters WHERE jurisdiction IN ("
                ));
                push_strs(&mut q, jurisdictions);
                q.push(") ORDER BY id DESC LIMIT ").push_bind(i64::from(limit));
                rows_of(self, q, cluster).await
            }

            async fn add_cluster_member(
                &self,
                cluster: Uuid,
                member: ClusterMember,
                at: DateTime<Utc>,
            ) -> StoreResult<()> {
                let (case, exposure) = match member {
                    ClusterMember::Case(id) => (Some(id), None),
                    ClusterMember::Exposure(id) => (None, Some(id)),
                };
                let mut q = select(
                    "INSERT INTO cluster_members (cluster_id, case_id, exposure_id, added_at) VALUES (",
                );
                q.push_bind(cluster)
                    .push(", ")
                    .push_bind(case)
                    .push(", ")
                    .push_bind(exposure)
                    .push(", ")
                    .push_bind(at)
                    .push(") ON CONFLICT DO NOTHING");
                write_one(self, q).await.map(|_| ())
            }

            async fn cluster_members(&self, cluster: Uuid) -> StoreResult<Vec<ClusterMember>> {
                let mut q = select(
                    "SELECT case_id, exposure_id FROM cluster_members WHERE cluster_id = ",
                );
                q.push_bind(cluster).push(" ORDER BY added_at LIMIT 5000");
                rows_of(self, q, |r| {
                    let case: Option<Uuid> = r.try_get(0).map_err(err)?;
                    let exposure: Option<Uuid> = r.try_get(1).map_err(err)?;
                    match (case, exposure) {
                        (Some(c), _) => Ok(ClusterMember::Case(c)),
                        (None, Some(e)) => Ok(ClusterMember::Exposure(e)),
                        (None, None) => Err(StoreError::Corrupt("a cluster member names nothing".into())),
                    }
                })
                .await
            }

            async fn person_points(&self, person: Uuid) -> StoreResult<Vec<PointRow>> {
                let mut q = select(format!(
                    "SELECT {POINT_COLUMNS} FROM person_points WHERE person_id = "
                ));
                q.push_bind(person).push(" ORDER BY id");
                rows_of(self, q, point).await
            }

            async fn set_investigator(
                &self,
                case: Uuid,
                user: Option<Uuid>,
                at: DateTime<Utc>,
            ) -> StoreResult<()> {
                let mut tx = self.write_tx().await?;
                hold_case_in(&mut tx, case, user, at).await?;
                tx.commit().await.map_err(err)
            }

            async fn transfer_case(&self, t: &CaseTransfer) -> StoreResult<()> {
                let mut tx = self.write_tx().await?;
                insert_facets(&mut tx, &t.facets).await?;
                let mut q = select("UPDATE cases SET jurisdiction = ");
                q.push_bind(&t.to)
                    .push(", shown_person_id = ")
                    .push_bind(t.case_shown)
                    .push(" WHERE id = ")
                    .push_bind(t.case_id);
                if q.build().execute(&mut *tx).await.map_err(err)?.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                for (id, shown) in &t.exposures {
                    let mut q = select("UPDATE exposures SET jurisdiction = ");
                    q.push_bind(&t.to)
                        .push(", shown_person_id = ")
                        .push_bind(*shown)
                        .push(" WHERE id = ")
                        .push_bind(*id);
                    q.build().execute(&mut *tx).await.map_err(err)?;
                }
                let ids: Vec<Uuid> = t.exposures.iter().map(|(id, _)| *id).collect();
                let owned = |q: &mut QueryBuilder<'_, $db>| {
                    q.push(" WHERE (case_id = ").push_bind(t.case_id).push(" OR exposure_id IN (");
                    push_ids(q, &ids);
                    q.push("))");
                };
                let moved = tracedesk_store::withdrawal::TRANSFERRED;
                withdraw_tasks_in(&mut tx, moved, "case_id", &[t.case_id]).await?;
                withdraw_tasks_in(&mut tx, moved, "exposure_id", &ids).await?;
                insert_tasks(&mut tx, &t.tasks).await?;
                let mut q = select("UPDATE case_entries SET jurisdiction = ");
                q.push_bind(&t.to);
                owned(&mut q);
                q.build().execute(&mut *tx).await.map_err(err)?;
                for table in ["lab_results", "households"] {
                    let mut q = select(format!("UPDATE {table} SET jurisdiction = "));
                    q.push_bind(&t.to).push(" WHERE case_id = ").push_bind(t.case_id);
                    q.build().execute(&mut *tx).await.map_err(err)?;
                }
                tx.commit().await.map_err(err)
            }

            async fn end_monitoring(
                &self,
                today: chrono::NaiveDate,
                at: DateTime<Utc>,
            ) -> StoreResult<Vec<Uuid>> {
                let mut tx = self.write_tx().await?;
                let mut q = select(format!(
                    "SELECT id FROM exposures WHERE status IN ({MONITORED_EXPOSURE_STATUSES}) AND quarantine_end < "
                ));
                q.push_bind(today).push(" LIMIT 5000");
                let ids: Vec<Uuid> = q
                    .build()
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(err)?
                    .iter()
                    .map(|r| r.try_get::<Uuid, _>(0).map_err(err))
                    .collect::<StoreResult<_>>()?;
                for chunk in ids.chunks(CHUNK) {
                    let mut q = select("UPDATE exposures SET status = 'completed', updated_at = ");
                    q.push_bind(at).push(" WHERE id IN (");
                    push_ids(&mut q, chunk);
                    q.push(")");
                    q.build().execute(&mut *tx).await.map_err(err)?;
                    let closed = tracedesk_store::withdrawal::CASE_CLOSED;
                    withdraw_tasks_in(&mut tx, closed, "exposure_id", chunk).await?;
                }
                tx.commit().await.map_err(err)?;
                Ok(ids)
            }

            async fn insert_token(&self, t: &TokenRow) -> StoreResult<()> {
                let mut q = select(
                    "INSERT INTO api_tokens (id, name, hash, created_at, revoked_at, user_id) ",
                );
                q.push_values([t], |mut b, t| {
                    b.push_bind(t.id)
                        .push_bind(&t.name)
                        .push_bind(&t.hash)
                        .push_bind(t.created_at)
                        .push_bind(t.revoked_at)
                        .push_bind(t.user_id);
                });
                write_one(self, q).await.map(|_| ())
            }

            async fn token_by_hash(&self, hash: &[u8]) -> StoreResult<Option<TokenRow>> {
                let mut q = select(format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE hash = "));
                q.push_bind(hash);
                row_of(self, q, token).await
            }

            async fn list_tokens(&self) -> StoreResult<Vec<TokenRow>> {
                rows_of(
                    self,
                    select(format!("SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY id")),
                    token,
                )
                .await
            }

            async fn revoke_token(&self, name: &str) -> StoreResult<u64> {
                let mut q = select("UPDATE api_tokens SET revoked_at = ");
                q.push_bind(chrono::Utc::now())
                    .push(" WHERE name = ")
                    .push_bind(name)
                    .push(" AND revoked_at IS NULL");
                write_one(self, q).await
            }

            async fn sealed_batch(
                &self,
                table: &'static SealedTable,
                below: u32,
                after: Option<Uuid>,
                limit: u32,
            ) -> StoreResult<Vec<SealedRow>> {
                let cols = table.columns.join(", ");
                let mut q = select(format!(
                    "SELECT id, {cols} FROM {} WHERE key_version < ",
                    table.name
                ));
                q.push_bind(i64::from(below))
                    .push(" AND id > ")
                    .push_bind(after.unwrap_or(Uuid::nil()))
                    .push(" ORDER BY id LIMIT ")
                    .push_bind(i64::from(limit));
                // From the writer: rotation reads what it has just written.
                q.build()
                    .fetch_all(self.write_pool())
                    .await
                    .map_err(err)?
                    .iter()
                    .map(|r| sealed_row(r, table))
                    .collect()
            }

            async fn write_sealed(
                &self,
                table: &'static SealedTable,
                rows: &[SealedRow],
                version: u32,
            ) -> StoreResult<()> {
                let mut tx = self.write_tx().await?;
                for row in rows {
                    let mut q = select(format!("UPDATE {} SET ", table.name));
                    for (c, v) in table.columns.iter().zip(&row.values) {
                        q.push(format!("{c} = ")).push_bind(v).push(", ");
                    }
                    q.push("key_version = ")
                        .push_bind(i64::from(version))
                        .push(" WHERE id = ")
                        .push_bind(row.id);
                    q.build().execute(&mut *tx).await.map_err(err)?;
                }
                tx.commit().await.map_err(err)
            }

            async fn count_below_version(
                &self,
                table: &'static SealedTable,
                version: u32,
            ) -> StoreResult<u64> {
                let mut q = select(format!(
                    "SELECT COUNT(*) FROM {} WHERE key_version < ",
                    table.name
                ));
                q.push_bind(i64::from(version));
                let n = row_of(self, q, |r| r.try_get::<i64, _>(0).map_err(err)).await?;
                Ok(n.unwrap_or(0).unsigned_abs())
            }

            async fn counts(&self) -> StoreResult<Counts> {
                let q = select(format!(
                    "SELECT (SELECT COUNT(*) FROM persons), (SELECT COUNT(*) FROM cases), \
                     (SELECT COUNT(*) FROM cases WHERE status NOT IN ({CLOSED_CASE_STATUSES})), \
                     (SELECT COUNT(*) FROM lab_results), (SELECT COUNT(*) FROM exposures), \
                     (SELECT COUNT(*) FROM tasks)"
                ));
                let counts = row_of(self, q, |r| {
                    let n = |i: usize| -> StoreResult<u64> {
                        Ok(r.try_get::<i64, _>(i).map_err(err)?.unsigned_abs())
                    };
                    Ok(Counts {
                        persons: n(0)?,
                        cases: n(1)?,
                        open_cases: n(2)?,
                        lab_results: n(3)?,
                        exposures: n(4)?,
                        tasks: n(5)?,
                    })
                })
                .await?;
                counts.ok_or(StoreError::NotFound)
            }

            async fn case_curve(
                &self,
                jurisdictions: &[String],
                from: chrono::NaiveDate,
            ) -> StoreResult<Vec<(chrono::NaiveDate, u64)>> {
                if jurisdictions.is_empty() {
                    return Ok(Vec::new());
                }
                let mut q = select("SELECT specimen_date, COUNT(*) FROM cases WHERE specimen_date >= ");
                q.push_bind(from).push(" AND jurisdiction IN (");
                push_strs(&mut q, jurisdictions);
                q.push(") GROUP BY specimen_date ORDER BY specimen_date");
                rows_of(self, q, |r| {
                    Ok((
                        r.try_get::<chrono::NaiveDate, _>(0).map_err(err)?,
                        r.try_get::<i64, _>(1).map_err(err)?.unsigned_abs(),
                    ))
                })
                .await
            }

            async fn add_milestone(&self, m: &Milestone) -> StoreResult<()> {
                let mut q = select(
                    "INSERT INTO milestones (record_id, kind, jurisdiction, since_at, at, on_time) VALUES (",
                );
                q.push_bind(m.record_id)
                    .push(", ")
                    .push_bind(m.kind)
                    .push(", ")
                    .push_bind(&m.jurisdiction)
                    .push(", ")
                    .push_bind(m.since_at)
                    .push(", ")
                    .push_bind(m.at)
                    .push(", ")
                    .push_bind(m.on_time)
                    .push(") ON CONFLICT (record_id, kind) DO NOTHING");
                write_one(self, q).await.map(|_| ())
            }

            async fn add_dead_letter(&self, d: &DeadLetterRow) -> StoreResult<()> {
                let mut q = select(format!(
                    "INSERT INTO elr_dead_letters ({DEAD_LETTER_COLUMNS}) VALUES ("
                ));
                q.push_bind(d.id)
                    .push(", ")
                    .push_bind(d.received_at)
                    .push(", ")
                    .push_bind(&d.source)
                    .push(", ")
                    .push_bind(&d.ack_code)
                    .push(", ")
                    .push_bind(&d.reason)
                    .push(", ")
                    .push_bind(i64::from(d.key_version))
                    .push(", ")
                    .push_bind(&d.message)
                    .push(", ")
                    .push_bind(d.replayed_at)
                    .push(", ")
                    .push_bind(&d.replay_code)
                    .push(")");
                write_one(self, q).await.map(|_| ())
            }

            async fn dead_letters(
                &self,
                replayed: bool,
                after: Option<Uuid>,
                limit: u32,
            ) -> StoreResult<Vec<DeadLetterRow>> {
                let mut q = select(format!(
                    "SELECT {DEAD_LETTER_COLUMNS} FROM elr_dead_letters WHERE 1 = 1"
                ));
                if !replayed {
                    q.push(" AND replayed_at IS NULL");
                }
                if let Some(a) = after {
                    q.push(" AND id > ").push_bind(a);
                }
                q.push(" ORDER BY id LIMIT ").push_bind(i64::from(limit));
                rows_of(self, q, dead_letter).await
            }

            async fn get_dead_letter(&self, id: Uuid) -> StoreResult<Option<DeadLetterRow>> {
                let mut q = select(format!(
                    "SELECT {DEAD_LETTER_COLUMNS} FROM elr_dead_letters WHERE id = "
                ));
                q.push_bind(id);
                row_of(self, q, dead_letter).await
            }

            async fn purge_dead_letters(
                &self,
                before: DateTime<Utc>,
                dry_run: bool,
            ) -> StoreResult<u64> {
                if dry_run {
                    let mut q = select("SELECT COUNT(*) FROM elr_dead_letters WHERE received_at < ");
                    q.push_bind(before);
                    return row_of(self, q, |r| {
                        Ok(r.try_get::<i64, _>(0).map_err(err)?.unsigned_abs())
                    })
                    .await
                    .map(|n| n.unwrap_or(0));
                }
                let mut q = select("DELETE FROM elr_dead_letters WHERE received_at < ");
                q.push_bind(before);
                write_one(self, q).await
            }

            async fn mark_dead_letter_replayed(
                &self,
                id: Uuid,
                at: DateTime<Utc>,
                code: &str,
            ) -> StoreResult<()> {
                let mut q = select("UPDATE elr_dead_letters SET replayed_at = ");
                q.push_bind(at)
                    .push(", replay_code = ")
                    .push_bind(code)
                    .push(" WHERE id = ")
                    .push_bind(id);
                match write_one(self, q).await? {
                    0 => Err(StoreError::NotFound),
                    _ => Ok(()),
                }
            }

            async fn add_persons(&self, rows: &[PersonRow]) -> StoreResult<()> {
                let mut tx = self.write_tx().await?;
                let refs: Vec<&PersonRow> = rows.iter().collect();
                insert_persons(&mut tx, &refs).await?;
                tx.commit().await.map_err(err)
            }

            async fn set_link_keys(&self, keys: &[(Uuid, Vec<Blind>)]) -> StoreResult<()> {
                if keys.is_empty() {
                    return Ok(());
                }
                let mut tx = self.write_tx().await?;
                for chunk in keys.chunks(500) {
                    let mut q = QueryBuilder::<$db>::new("DELETE FROM link_keys WHERE person_id IN (");
                    let mut sep = q.separated(", ");
                    for (p, _) in chunk {
                        sep.push_bind(*p);
                    }
                    q.push(")");
                    q.build().execute(&mut *tx).await.map_err(err)?;
                }
                let rows: Vec<(&Blind, Uuid)> = keys
                    .iter()
                    .flat_map(|(p, ks)| ks.iter().map(move |k| (k, *p)))
                    .collect();
                for chunk in rows.chunks(1_000) {
                    let mut q = QueryBuilder::<$db>::new("INSERT INTO link_keys (key, person_id) ");
                    q.push_values(chunk, |mut b, (k, p)| {
                        b.push_bind(*k).push_bind(*p);
                    });
                    q.push(" ON CONFLICT DO NOTHING");
                    q.build().execute(&mut *tx).await.map_err(err)?;
                }
                tx.commit().await.map_err(err)
            }

            async fn link_key_holders(&self, keys: &[Blind]) -> StoreResult<Vec<(Blind, Uuid)>> {
                let mut out = Vec::new();
                for chunk in keys.chunks(1_000) {
                    let mut q = select("SELECT key, person_id FROM link_keys WHERE key IN (");
                    let mut sep = q.separated(", ");
                    for k in chunk {
                        sep.push_bind(k);
                    }
                    q.push(")");
                    out.extend(
                        rows_of(self, q, |r| {
                            Ok((
                                r.try_get::<Vec<u8>, _>(0).map_err(err)?,
                                r.try_get::<Uuid, _>(1).map_err(err)?,
                            ))
                        })
                        .await?,
                    );
                }
                Ok(out)
            }

            async fn persons_after(
                &self,
                after: Option<Uuid>,
                limit: u32,
            ) -> StoreResult<Vec<PersonRow>> {
                let mut q = select(format!("SELECT {PERSON_COLUMNS} FROM persons WHERE 1 = 1"));
                if let Some(a) = after {
                    q.push(" AND id > ").push_bind(a);
                }
                q.push(" ORDER BY id LIMIT ").push_bind(i64::from(limit));
                rows_of(self, q, person).await
            }

            async fn add_link_reviews(&self, rows: &[LinkReviewRow]) -> StoreResult<Vec<bool>> {
                // Multi-row inserts; the ids a statement returns are the
                // pairs that were new.
                let mut tx = self.write_tx().await?;
                let mut added: std::collections::HashSet<Uuid> = std::collections::HashSet::new();
                for chunk in rows.chunks(CHUNK) {
                    let mut q = QueryBuilder::<$db>::new(format!(
                        "INSERT INTO link_reviews ({LINK_REVIEW_COLUMNS}) "
                    ));
                    q.push_values(chunk, |mut b, r| {
                        b.push_bind(r.id)
                            .push_bind(r.person_a)
                            .push_bind(r.person_b)
                            .push_bind(&r.jurisdiction_a)
                            .push_bind(&r.jurisdiction_b)
                            .push_bind(r.score)
                            .push_bind(&r.status)
                            .push_bind(r.created_at)
                            .push_bind(r.decided_by)
                            .push_bind(r.decided_at);
                    });
                    q.push(" ON CONFLICT (person_a, person_b) DO NOTHING RETURNING id");
                    for row in q.build().fetch_all(&mut *tx).await.map_err(err)? {
                        added.insert(row.try_get::<Uuid, _>(0).map_err(err)?);
                    }
                }
                tx.commit().await.map_err(err)?;
                Ok(rows.iter().map(|r| added.contains(&r.id)).collect())
            }

            async fn get_link_review(&self, id: Uuid) -> StoreResult<Option<LinkReviewRow>> {
                let mut q = select(format!(
                    "SELECT {LINK_REVIEW_COLUMNS} FROM link_reviews WHERE id = "
                ));
                q.push_bind(id);
                row_of(self, q, link_review).await
            }

            async fn list_link_reviews(
                &self,
                f: &LinkReviewFilter,
            ) -> StoreResult<Vec<LinkReviewRow>> {
                if f.jurisdictions.is_empty() {
                    return Ok(Vec::new());
                }
                let mut q = select(format!(
                    "SELECT {LINK_REVIEW_COLUMNS} FROM link_reviews WHERE 1 = 1"
                ));
                if let Some(s) = &f.status {
                    q.push(" AND status = ").push_bind(s.clone());
                }
                if let Some(b) = f.before {
                    q.push(" AND id < ").push_bind(b);
                }
                for col in ["jurisdiction_a", "jurisdiction_b"] {
                    q.push(format!(" AND {col} IN ("));
                    let mut sep = q.separated(", ");
                    for j in &f.jurisdictions {
                        sep.push_bind(j.clone());
                    }
                    q.push(")");
                }
                q.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(f.limit));
                rows_of(self, q, link_review).await
            }

            async fn decide_link_review(
                &self,
                id: Uuid,
                from: &str,
                to: &str,
                by: Option<Uuid>,
                at: DateTime<Utc>,
            ) -> StoreResult<bool> {
                let mut q = select("UPDATE link_reviews SET status = ");
                q.push_bind(to)
                    .push(", decided_by = ")
                    .push_bind(by)
                    .push(", decided_at = ")
                    .push_bind(at)
                    .push(" WHERE id = ")
                    .push_bind(id)
                    .push(" AND status = ")
                    .push_bind(from);
                Ok(write_one(self, q).await? > 0)
            }

            async fn merge_persons(
                &self,
                m: &PersonMergeRow,
            ) -> StoreResult<Result<u64, MergeRefusal>> {
                let mut tx = self.intake_tx().await?;
                let out = merge_in(&mut tx, m).await?;
                // A refusal changes nothing: the transaction is dropped.
                if out.is_ok() {
                    tx.commit().await.map_err(err)?;
                }
                Ok(out)
            }

            async fn unmerge_persons(
                &self,
                id: Uuid,
                by: Option<Uuid>,
                at: DateTime<Utc>,
            ) -> StoreResult<Result<u64, UnmergeRefusal>> {
                let mut tx = self.intake_tx().await?;
                let out = unmerge_in(&mut tx, id, by, at).await?;
                if out.is_ok() {
                    tx.commit().await.map_err(err)?;
                }
                Ok(out)
            }

            async fn get_person_merge(&self, id: Uuid) -> StoreResult<Option<PersonMergeRow>> {
                let mut q = select(format!("SELECT {MERGE_COLUMNS} FROM person_merges WHERE id = "));
                q.push_bind(id);
                row_of(self, q, person_merge).await
            }

            async fn list_person_merges(
                &self,
                f: &PersonMergeFilter,
            ) -> StoreResult<Vec<PersonMergeRow>> {
                if f.jurisdictions.is_empty() {
                    return Ok(Vec::new());
                }
                let mut q = select(format!(
                    "SELECT {MERGE_COLUMNS} FROM person_merges WHERE jurisdiction IN ("
                ));
                push_strs(&mut q, &f.jurisdictions);
                q.push(")");
                if let Some(p) = f.person {
                    q.push(" AND (survivor_id = ")
                        .push_bind(p)
                        .push(" OR merged_id = ")
                        .push_bind(p)
                        .push(")");
                }
                if let Some(b) = f.before {
                    q.push(" AND id < ").push_bind(b);
                }
                q.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(f.limit));
                rows_of(self, q, person_merge).await
            }

            async fn link_progress(&self, job: &str) -> StoreResult<Option<Option<Uuid>>> {
                let mut q = select("SELECT cursor FROM link_progress WHERE job = ");
                q.push_bind(job);
                row_of(self, q, |r| r.try_get::<Option<Uuid>, _>(0).map_err(err)).await
            }

            async fn set_link_progress(
                &self,
                job: &str,
                cursor: Option<Uuid>,
                at: DateTime<Utc>,
            ) -> StoreResult<()> {
                let mut q = select("INSERT INTO link_progress (job, cursor, updated_at) VALUES (");
                q.push_bind(job)
                    .push(", ")
                    .push_bind(cursor)
                    .push(", ")
                    .push_bind(at)
                    .push(") ON CONFLICT (job) DO UPDATE SET cursor = ")
                    .push_bind(cursor)
                    .push(", updated_at = ")
                    .push_bind(at);
                write_one(self, q).await.map(|_| ())
            }

            async fn indicator_counts(
                &self,
                jurisdictions: &[String],
                since: DateTime<Utc>,
                today: DateTime<Utc>,
            ) -> StoreResult<IndicatorCounts> {
                if jurisdictions.is_empty() {
                    return Ok(IndicatorCounts::default());
                }
                // Ids are UUIDv7: the first possible id of `since`'s
                // millisecond bounds the records made since.
                let floor = $crate::sqlstore::v7_floor(since);
                let mut q = select("SELECT (SELECT COUNT(*) FROM cases WHERE id >= ");
                q.push_bind(floor).push(" AND jurisdiction IN (");
                push_strs(&mut q, jurisdictions);
                q.push(")), (SELECT COUNT(*) FROM exposures WHERE id >= ")
                    .push_bind(floor)
                    .push(" AND status <> 'already_a_case' AND jurisdiction IN (");
                push_strs(&mut q, jurisdictions);
                q.push(")), (SELECT COUNT(*) FROM milestones WHERE kind = 'interviewed' AND since_at >= ")
                    .push_bind(since)
                    .push(" AND jurisdiction IN (");
                push_strs(&mut q, jurisdictions);
                q.push(")), (SELECT COUNT(*) FROM milestones WHERE kind = 'interviewed' AND on_time AND since_at >= ")
                    .push_bind(since)
                    .push(" AND jurisdiction IN (");
                push_strs(&mut q, jurisdictions);
                q.push(")), (SELECT COUNT(*) FROM milestones WHERE kind = 'notified' AND on_time AND since_at >= ")
                    .push_bind(since)
                    .push(" AND jurisdiction IN (");
                push_strs(&mut q, jurisdictions);
                q.push(")), (SELECT COUNT(*) FROM monitoring WHERE state = 'active' AND jurisdiction IN (");
                push_strs(&mut q, jurisdictions);
                q.push(")), (SELECT COUNT(*) FROM monitoring WHERE state = 'active' AND last_reply_at >= ")
                    .push_bind(today)
                    .push(" AND jurisdiction IN (");
                push_strs(&mut q, jurisdictions);
                q.push("))");
                let counts = row_of(self, q, |r| {
                    let n = |i: usize| -> StoreResult<u64> {
                        Ok(r.try_get::<i64, _>(i).map_err(err)?.unsigned_abs())
                    };
                    Ok(IndicatorCounts {
                        cases: n(0)?,
                        contacts: n(1)?,
                        interviewed: n(2)?,
                        interviewed_on_time: n(3)?,
                        notified_on_time: n(4)?,
                        monitored: n(5)?,
                        reported_today: n(6)?,
                    })
                })
                .await?;
                counts.ok_or(StoreError::NotFound)
            }

            async fn transmission_links(
                &self,
                jurisdictions: &[String],
                since: DateTime<Utc>,
                limit: u32,
            ) -> StoreResult<Vec<(Uuid, Uuid)>> {
                if jurisdictions.is_empty() {
                    return Ok(Vec::new());
                }
                let mut q = select(
                    "SELECT case_id, contact_case_id FROM exposures WHERE contact_case_id IS NOT NULL AND id >= ",
                );
                q.push_bind($crate::sqlstore::v7_floor(since))
                    .push(" AND jurisdiction IN (");
                push_strs(&mut q, jurisdictions);
                q.push(") ORDER BY id DESC LIMIT ")
                    .push_bind(i64::from(limit));
                rows_of(self, q, |r| {
                    Ok((
                        r.try_get::<Uuid, _>(0).map_err(err)?,
                        r.try_get::<Uuid, _>(1).map_err(err)?,
                    ))
                })
                .await
            }

            async fn baseline_insert(&self, rows: &[BaselineRow], multi_row: bool) -> StoreResult<()> {
                let mut tx = self.write_tx().await?;
                sqlx::query(BASELINE_TABLE)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                // One statement per row, or multi-row statements of CHUNK.
                let per = if multi_row { CHUNK } else { 1 };
                for chunk in rows.chunks(per) {
                    let mut q = select("INSERT INTO bench_baseline (id, payload) ");
                    q.push_values(chunk, |mut b, r| {
                        b.push_bind(r.id).push_bind(&r.payload);
                    });
                    q.build().execute(&mut *tx).await.map_err(err)?;
                }
                tx.commit().await.map_err(err)
            }

            async fn baseline_reset(&self) -> StoreResult<()> {
                write_one(self, select("DROP TABLE IF EXISTS bench_baseline"))
                    .await
                    .map(|_| ())
            }

            async fn settle(&self) -> StoreResult<()> {
                self.settle_files().await
            }
        }

        $crate::merge_sql!($db);
    };
}

/// The least UUIDv7 of `at`'s millisecond: every v7 id made at or after
/// `at` is at least this (ids compare as bytes on both backends).
pub fn v7_floor(at: chrono::DateTime<chrono::Utc>) -> uuid::Uuid {
    let ms = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    let mut b = [0u8; 16];
    b[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    b[6] = 0x70;
    b[8] = 0x80;
    uuid::Uuid::from_bytes(b)
}
