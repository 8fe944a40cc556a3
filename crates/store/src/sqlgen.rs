//! SQL shared by the backends, written once as a macro that each backend
//! expands for its own sqlx database type. Only statements built with
//! `QueryBuilder` live here, since it writes each dialect's placeholders;
//! hand-written statements stay in the backends.

/// Who holds a task, for the list scopes.
#[derive(Debug, Clone, Copy)]
pub enum Holders<'a> {
    One(uuid::Uuid),
    Any(&'a [uuid::Uuid]),
}

/// Runs `$f(&mut tx, $arg)` in the transaction `$begin` opens and commits
/// it: a step whose statements stand or fall together.
#[macro_export]
macro_rules! in_tx {
    ($begin:expr, $f:ident, $arg:expr) => {{
        let mut tx = $begin.await?;
        let out = $f(&mut tx, $arg).await?;
        tx.commit().await.map_err(err)?;
        Ok(out)
    }};
}

/// Expands insert, match, intake and list helpers for a sqlx database.
/// The caller must have in scope: `err(sqlx::Error) -> StoreError`, `CHUNK`,
/// `LATERAL_JOINS` (whether the database has `LATERAL`), and the column
/// lists of `tracedesk_store::sqlrows`.
#[macro_export]
macro_rules! sql_common {
    ($db:ty) => {
        /// Inserts `rows` in multi-row statements of up to `CHUNK` rows,
        /// each row's values pushed by `bind` (in the column order `head`
        /// names).
        async fn insert_chunked<'r, T>(
            tx: &mut Transaction<'_, $db>,
            head: &str,
            rows: &'r [T],
            bind: impl FnMut(sqlx::query_builder::Separated<'_, 'r, $db, &'static str>, &'r T) + Copy,
        ) -> StoreResult<()> {
            for chunk in rows.chunks(CHUNK) {
                let mut q = QueryBuilder::<$db>::new(head);
                q.push_values(chunk, bind);
                q.build().execute(&mut **tx).await.map_err(err)?;
            }
            Ok(())
        }

        async fn insert_persons(
            tx: &mut Transaction<'_, $db>,
            persons: &[&PersonRow],
        ) -> StoreResult<()> {
            insert_chunked(tx, &format!("INSERT INTO persons ({PERSON_COLUMNS}) "), persons, |mut b, p| {
                    b.push_bind(p.id)
                    .push_bind(p.created_at)
                    .push_bind(p.updated_at)
                    .push_bind(i64::from(p.key_version))
                    .push_bind(&p.first_name)
                    .push_bind(&p.last_name)
                    .push_bind(&p.dob)
                    .push_bind(&p.phone)
                    .push_bind(&p.email)
                    .push_bind(&p.address)
                    .push_bind(&p.language)
                    .push_bind(&p.phone_bidx)
                    .push_bind(&p.email_bidx)
                    .push_bind(&p.name_dob_bidx)
                    .push_bind(&p.phone_name_bidx)
                    .push_bind(&p.jurisdiction)
                    .push_bind(p.purged_at)
                    .push_bind(&p.age_band)
                    .push_bind(p.merged_into);
            })
            .await
        }

        async fn insert_cases(tx: &mut Transaction<'_, $db>, cases: &[CaseRow]) -> StoreResult<()> {
            insert_chunked(tx, &format!("INSERT INTO cases ({CASE_COLUMNS}) "), cases, |mut b, c| {
                    b.push_bind(c.id)
                    .push_bind(c.person_id)
                    .push_bind(&c.status)
                    .push_bind(c.created_at)
                    .push_bind(c.updated_at)
                    .push_bind(c.report_date)
                    .push_bind(c.specimen_date)
                    .push_bind(c.onset_date)
                    .push_bind(c.asymptomatic)
                    .push_bind(c.infectious_start)
                    .push_bind(c.isolation_end)
                    .push_bind(i64::from(c.key_version))
                    .push_bind(&c.symptoms)
                    .push_bind(&c.notes)
                    .push_bind(&c.jurisdiction)
                    .push_bind(c.shown_person_id)
                    .push_bind(&c.clinical);
            })
            .await
        }

        async fn insert_tasks(tx: &mut Transaction<'_, $db>, tasks: &[TaskRow]) -> StoreResult<()> {
            insert_chunked(tx, &format!("INSERT INTO tasks ({TASK_COLUMNS}) "), tasks, |mut b, t| {
                    b.push_bind(t.id)
                    .push_bind(&t.kind)
                    .push_bind(&t.status)
                    .push_bind(t.priority)
                    .push_bind(t.person_id)
                    .push_bind(t.case_id)
                    .push_bind(t.exposure_id)
                    .push_bind(t.created_at)
                    .push_bind(t.due_at)
                    .push_bind(&t.jurisdiction)
                    .push_bind(t.assignee_id)
                    .push_bind(t.shown_person_id);
            })
            .await
        }

        async fn insert_labs(
            tx: &mut Transaction<'_, $db>,
            labs: &[LabResultRow],
        ) -> StoreResult<()> {
            insert_chunked(tx, &format!("INSERT INTO lab_results ({LAB_COLUMNS}) "), labs, |mut b, l| {
                    b.push_bind(l.id)
                    .push_bind(l.person_id)
                    .push_bind(l.case_id)
                    .push_bind(l.created_at)
                    .push_bind(l.specimen_date)
                    .push_bind(i64::from(l.key_version))
                    .push_bind(&l.accession)
                    .push_bind(&l.accession_bidx)
                    .push_bind(&l.result)
                    .push_bind(&l.test_type)
                    .push_bind(&l.lab)
                    .push_bind(&l.jurisdiction)
                    .push_bind(&l.ordering_provider);
            })
            .await
        }

        async fn insert_facets(
            tx: &mut Transaction<'_, $db>,
            facets: &[PersonFacetRow],
        ) -> StoreResult<()> {
            insert_chunked(tx, &format!("INSERT INTO person_facets ({FACET_COLUMNS}) "), facets, |mut b, f| {
                    b.push_bind(f.id)
                    .push_bind(f.person_id)
                    .push_bind(&f.jurisdiction)
                    .push_bind(f.created_at)
                    .push_bind(i64::from(f.key_version))
                    .push_bind(&f.first_name)
                    .push_bind(&f.last_name)
                    .push_bind(&f.dob)
                    .push_bind(&f.phone)
                    .push_bind(&f.email)
                    .push_bind(&f.address)
                    .push_bind(&f.language);
            })
            .await
        }

        /// The facets of these persons, as (person, jurisdiction) → facet id.
        async fn facet_ids_in(
            conn: &mut <$db as sqlx::Database>::Connection,
            persons: &[Uuid],
        ) -> StoreResult<HashMap<(Uuid, String), Uuid>> {
            let mut out = HashMap::new();
            for chunk in persons.chunks(CHUNK) {
                let mut q = QueryBuilder::<$db>::new(
                    "SELECT person_id, jurisdiction, id FROM person_facets WHERE person_id IN (",
                );
                let mut sep = q.separated(",");
                for id in chunk {
                    sep.push_bind(*id);
                }
                q.push(")");
                for row in q.build().fetch_all(&mut *conn).await.map_err(err)? {
                    out.insert(
                        (row.try_get(0).map_err(err)?, row.try_get(1).map_err(err)?),
                        row.try_get(2).map_err(err)?,
                    );
                }
            }
            Ok(out)
        }

        async fn exposure_by_id(
            pool: &sqlx::Pool<$db>,
            id: Uuid,
        ) -> StoreResult<Option<ExposureRow>> {
            let mut q = QueryBuilder::<$db>::new(format!(
                "SELECT {EXPOSURE_COLUMNS} FROM exposures WHERE id = "
            ));
            q.push_bind(id);
            q.build()
                .fetch_optional(pool)
                .await
                .map_err(err)?
                .map(|r| exposure(&r))
                .transpose()
        }

        /// Writes a contact record's follow-up: status, negative test date
        /// and the quarantine end they give.
        async fn exposure_follow_up_set(
            pool: &sqlx::Pool<$db>,
            e: &ExposureRow,
        ) -> StoreResult<()> {
            let mut q = QueryBuilder::<$db>::new("UPDATE exposures SET status = ");
            q.push_bind(&e.status)
                .push(", first_exposure = ")
                .push_bind(e.first_exposure)
                .push(", last_exposure = ")
                .push_bind(e.last_exposure)
                .push(", setting = ")
                .push_bind(&e.setting)
                .push(", ongoing = ")
                .push_bind(e.ongoing)
                .push(", contact_case_id = ")
                .push_bind(e.contact_case_id)
                .push(", negative_test_date = ")
                .push_bind(e.negative_test_date)
                .push(", quarantine_end = ")
                .push_bind(e.quarantine_end)
                .push(", updated_at = ")
                .push_bind(e.updated_at)
                .push(" WHERE id = ")
                .push_bind(e.id);
            if q.build().execute(pool).await.map_err(err)?.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        }

        async fn facet_by_id(
            conn: &mut <$db as sqlx::Database>::Connection,
            id: Uuid,
        ) -> StoreResult<Option<PersonFacetRow>> {
            let mut q = QueryBuilder::<$db>::new(format!(
                "SELECT {FACET_COLUMNS} FROM person_facets WHERE id = "
            ));
            q.push_bind(id);
            q.build()
                .fetch_optional(&mut *conn)
                .await
                .map_err(err)?
                .map(|r| facet(&r))
                .transpose()
        }

        async fn insert_exposures(
            tx: &mut Transaction<'_, $db>,
            exposures: &[ExposureRow],
        ) -> StoreResult<()> {
            insert_chunked(tx, &format!("INSERT INTO exposures ({EXPOSURE_COLUMNS}) "), exposures, |mut b, e| {
                    b.push_bind(e.id)
                    .push_bind(e.case_id)
                    .push_bind(e.contact_person_id)
                    .push_bind(e.created_at)
                    .push_bind(e.updated_at)
                    .push_bind(e.first_exposure)
                    .push_bind(e.last_exposure)
                    .push_bind(&e.setting)
                    .push_bind(&e.status)
                    .push_bind(e.quarantine_end)
                    .push_bind(i64::from(e.key_version))
                    .push_bind(&e.notes)
                    .push_bind(&e.jurisdiction)
                    .push_bind(e.negative_test_date)
                    .push_bind(e.shown_person_id)
                    .push_bind(e.contact_case_id)
                    .push_bind(e.ongoing)
                    .push_bind(e.source_exposure_id)
                    .push_bind(e.depth);
            })
            .await
        }

        async fn insert_entries(
            tx: &mut Transaction<'_, $db>,
            entries: &[EntryRow],
        ) -> StoreResult<()> {
            insert_chunked(tx, &format!("INSERT INTO case_entries ({ENTRY_COLUMNS}) "), entries, |mut b, e| {
                    b.push_bind(e.id)
                    .push_bind(&e.kind)
                    .push_bind(e.person_id)
                    .push_bind(e.case_id)
                    .push_bind(e.exposure_id)
                    .push_bind(e.task_id)
                    .push_bind(&e.jurisdiction)
                    .push_bind(e.author_id)
                    .push_bind(e.created_at)
                    .push_bind(&e.status)
                    .push_bind(i64::from(e.key_version))
                    .push_bind(&e.body);
            })
            .await
        }

        /// Adds identity facts to matched persons: each (person, kind,
        /// index) once, and none the person's own record already holds.
        /// Returns how many were added.
        async fn insert_points(
            tx: &mut Transaction<'_, $db>,
            points: &[PointRow],
        ) -> StoreResult<u64> {
            let mut added = 0;
            for chunk in points.chunks(CHUNK) {
                let mut q = QueryBuilder::<$db>::new(format!(
                    "INSERT INTO person_points ({POINT_COLUMNS}) SELECT v.column1, v.column2, \
                     v.column3, v.column4, v.column5, v.column6, v.column7, v.column8 FROM ("
                ));
                q.push_values(chunk, |mut b, p| {
                    b.push_bind(p.id)
                        .push_bind(p.person_id)
                        .push_bind(&p.jurisdiction)
                        .push_bind(p.key.column())
                        .push_bind(&p.bidx)
                        .push_bind(p.created_at)
                        .push_bind(i64::from(p.key_version))
                        .push_bind(&p.value);
                });
                q.push(
                    ") AS v WHERE NOT EXISTS (SELECT 1 FROM persons p WHERE p.id = v.column2 AND ( \
                     (v.column4 = 'phone_bidx' AND p.phone_bidx = v.column5) \
                     OR (v.column4 = 'email_bidx' AND p.email_bidx = v.column5) \
                     OR (v.column4 = 'name_dob_bidx' AND p.name_dob_bidx = v.column5) \
                     OR (v.column4 = 'phone_name_bidx' AND p.phone_name_bidx = v.column5))) \
                     ON CONFLICT (person_id, kind, bidx) DO NOTHING",
                );
                added += q.build().execute(&mut **tx).await.map_err(err)?.rows_affected();
            }
            Ok(added)
        }

        /// Gives each case whose interview task is now assigned its
        /// investigator: the task's assignee holds the case (an
        /// `investigation` task, already assigned and never routed) while
        /// it is open, and nobody else's hold on it stands.
        async fn hold_investigators_in(
            tx: &mut Transaction<'_, $db>,
            interview_tasks: &[Uuid],
            now: chrono::DateTime<chrono::Utc>,
        ) -> StoreResult<()> {
            for chunk in interview_tasks.chunks(CHUNK) {
                let mut q = QueryBuilder::<$db>::new(format!(
                    "SELECT case_id, assignee_id FROM tasks WHERE kind = 'case_interview' \
                     AND status = 'assigned' AND case_id IS NOT NULL AND assignee_id IS NOT NULL AND id IN ("
                ));
                push_ids(&mut q, chunk);
                q.push(")");
                let rows = q.build().fetch_all(&mut **tx).await.map_err(err)?;
                for r in rows {
                    let case: Uuid = r.try_get(0).map_err(err)?;
                    let user: Uuid = r.try_get(1).map_err(err)?;
                    hold_case_in(tx, case, Some(user), now).await?;
                }
            }
            Ok(())
        }

        /// Makes `user` the case's investigator (`None`: nobody): other
        /// holds on the case end, and `user` gets one if they lack it.
        /// `NotFound` when the case does not exist.
        async fn hold_case_in(
            tx: &mut Transaction<'_, $db>,
            case_id: Uuid,
            user: Option<Uuid>,
            now: chrono::DateTime<chrono::Utc>,
        ) -> StoreResult<()> {
            let mut q = QueryBuilder::<$db>::new(format!(
                "SELECT {CASE_COLUMNS} FROM cases WHERE id = "
            ));
            q.push_bind(case_id);
            let Some(row) = q.build().fetch_optional(&mut **tx).await.map_err(err)? else {
                return Err(StoreError::NotFound);
            };
            let c = self::case(&row)?;
            let mut q = QueryBuilder::<$db>::new(
                "UPDATE tasks SET status = 'canceled' WHERE kind = 'investigation' AND status = 'assigned' AND case_id = ",
            );
            q.push_bind(case_id);
            if let Some(u) = user {
                q.push(" AND assignee_id <> ").push_bind(u);
            }
            q.build().execute(&mut **tx).await.map_err(err)?;
            let Some(u) = user else { return Ok(()) };
            let mut q = QueryBuilder::<$db>::new(
                "SELECT 1 FROM tasks WHERE kind = 'investigation' AND status = 'assigned' AND case_id = ",
            );
            q.push_bind(case_id).push(" AND assignee_id = ").push_bind(u);
            if q.build().fetch_optional(&mut **tx).await.map_err(err)?.is_some() {
                return Ok(());
            }
            let kind = tracedesk_store::domain::lifecycle::TaskKind::Investigation;
            let hold = TaskRow {
                id: Uuid::now_v7(),
                kind: kind.as_str().into(),
                status: "assigned".into(),
                priority: kind.default_priority(),
                person_id: c.person_id,
                case_id: Some(case_id),
                exposure_id: None,
                created_at: now,
                due_at: now + chrono::Duration::hours(kind.default_sla_hours()),
                jurisdiction: c.jurisdiction.clone(),
                assignee_id: Some(u),
                shown_person_id: c.shown_person_id,
            };
            insert_tasks(tx, std::slice::from_ref(&hold)).await?;
            let mut q = QueryBuilder::<$db>::new("UPDATE tasks SET routed = TRUE WHERE id = ");
            q.push_bind(hold.id);
            q.build().execute(&mut **tx).await.map_err(err)?;
            Ok(())
        }

        /// A key shared by two persons resolves to the oldest (ids are
        /// time-ordered).
        fn keep_oldest(
            found: &mut HashMap<(PersonKey, Blind), (Uuid, String)>,
            key: (PersonKey, Blind),
            id: Uuid,
            home: String,
        ) {
            let e = found.entry(key).or_insert_with(|| (id, home.clone()));
            if id < e.0 {
                *e = (id, home);
            }
        }

        /// Persons whose blind index in `key` is one of `values`, as (key,
        /// value) → (id, home jurisdiction).
        async fn persons_by_keys(
            tx: &mut Transaction<'_, $db>,
            keys: &[(PersonKey, Blind)],
        ) -> StoreResult<HashMap<(PersonKey, Blind), (Uuid, String)>> {
            let mut found: HashMap<(PersonKey, Blind), (Uuid, String)> = HashMap::new();
            for kind in [
                PersonKey::NameDob,
                PersonKey::PhoneName,
                PersonKey::Phone,
                PersonKey::Email,
            ] {
                let values: Vec<&Blind> = keys
                    .iter()
                    .filter(|(k, _)| *k == kind)
                    .map(|(_, v)| v)
                    .collect();
                for chunk in values.chunks(CHUNK) {
                    let col = kind.column();
                    let mut q = QueryBuilder::<$db>::new(format!(
                        "SELECT {col} AS k, COALESCE(merged_into, id) AS id, jurisdiction FROM persons WHERE {col} IN ("
                    ));
                    let mut sep = q.separated(",");
                    for v in chunk {
                        sep.push_bind(*v);
                    }
                    // No ORDER BY: asked to sort, the planner walks the whole
                    // primary key rather than probe the blind index. A key
                    // shared by two rows resolves to the oldest (ids are
                    // time-ordered), chosen here.
                    q.push(")");
                    for row in q.build().fetch_all(&mut **tx).await.map_err(err)? {
                        let k: Vec<u8> = row.try_get("k").map_err(err)?;
                        let id: Uuid = row.try_get("id").map_err(err)?;
                        let home: String = row.try_get("jurisdiction").map_err(err)?;
                        keep_oldest(&mut found, (kind, k), id, home);
                    }
                }
            }
            // Facts learned after a person's record was made find them too,
            // where their own record's indexes do not.
            let all: Vec<&Blind> = keys.iter().map(|(_, v)| v).collect();
            for chunk in all.chunks(CHUNK) {
                let mut q = QueryBuilder::<$db>::new(
                    "SELECT pp.kind, pp.bidx, COALESCE(p.merged_into, p.id), p.jurisdiction \
                     FROM person_points pp JOIN persons p ON p.id = pp.person_id WHERE pp.bidx IN (",
                );
                let mut sep = q.separated(",");
                for v in chunk {
                    sep.push_bind(*v);
                }
                q.push(")");
                for row in q.build().fetch_all(&mut **tx).await.map_err(err)? {
                    let kind: String = row.try_get(0).map_err(err)?;
                    let Some(kind) = PersonKey::of_column(&kind) else { continue };
                    let k: Vec<u8> = row.try_get(1).map_err(err)?;
                    let id: Uuid = row.try_get(2).map_err(err)?;
                    let home: String = row.try_get(3).map_err(err)?;
                    keep_oldest(&mut found, (kind, k), id, home);
                }
            }
            Ok(found)
        }

        /// The whole of a lab-intake batch inside one transaction.
        async fn ingest_in(
            tx: &mut Transaction<'_, $db>,
            batch: &[LabIntake],
        ) -> StoreResult<Vec<LabIntakeOutcome>> {
            let mut known = HashMap::new();
            for chunk in batch.chunks(CHUNK) {
                let mut q = QueryBuilder::<$db>::new(
                    "SELECT accession_bidx, id FROM lab_results WHERE accession_bidx IN (",
                );
                let mut sep = q.separated(",");
                for item in chunk {
                    sep.push_bind(&item.lab.accession_bidx);
                }
                q.push(")");
                for row in q.build().fetch_all(&mut **tx).await.map_err(err)? {
                    known.insert(
                        row.try_get::<Vec<u8>, _>(0).map_err(err)?,
                        row.try_get::<Uuid, _>(1).map_err(err)?,
                    );
                }
            }
            let existing = persons_by_keys(tx, &intake::match_keys(batch)).await?;
            let resolved = intake::resolve_persons(batch, &known, &existing);
            let matched: Vec<Uuid> = resolved
                .iter()
                .zip(batch)
                .filter_map(|(r, item)| match r {
                    intake::Resolved::Person { id, created: false, .. } if item.positive => Some(*id),
                    _ => None,
                })
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            // A person's newest case in each jurisdiction, open or closed, with
            // its specimen date: a positive within the reinfection window joins
            // it, in its own jurisdiction, never another's.
            let mut cases: HashMap<(Uuid, String), (Uuid, chrono::NaiveDate)> = HashMap::new();
            for chunk in matched.chunks(CHUNK) {
                let mut q = QueryBuilder::<$db>::new(
                    "SELECT person_id, jurisdiction, id, specimen_date FROM cases WHERE person_id IN (",
                );
                let mut sep = q.separated(",");
                for id in chunk {
                    sep.push_bind(*id);
                }
                // The newest case, chosen here rather than by ORDER BY (see
                // `persons_by_keys`).
                q.push(")");
                for row in q.build().fetch_all(&mut **tx).await.map_err(err)? {
                    let key: (Uuid, String) =
                        (row.try_get(0).map_err(err)?, row.try_get(1).map_err(err)?);
                    let id: Uuid = row.try_get(2).map_err(err)?;
                    let specimen: chrono::NaiveDate = row.try_get(3).map_err(err)?;
                    if cases.get(&key).is_none_or(|known| id > known.0) {
                        cases.insert(key, (id, specimen));
                    }
                }
            }
            let foreign: Vec<Uuid> = resolved
                .iter()
                .filter_map(|r| match r {
                    intake::Resolved::Person { id, foreign: true, .. } => Some(*id),
                    _ => None,
                })
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            let facets = if foreign.is_empty() {
                HashMap::new()
            } else {
                facet_ids_in(&mut **tx, &foreign).await?
            };
            let mut plan = intake::plan(batch, &resolved, &cases, &facets);
            insert_persons(tx, &plan.persons).await?;
            insert_facets(tx, &plan.facets).await?;
            insert_cases(tx, &plan.cases).await?;
            insert_tasks(tx, &plan.tasks).await?;
            insert_labs(tx, &plan.labs).await?;
            insert_points(tx, &plan.points).await?;
            let now = batch.first().map(|i| i.lab.created_at).unwrap_or_else(chrono::Utc::now);
            for (exposure, _, at) in convert_exposures_in(tx, &plan.positives, now).await? {
                if let Some(o) = plan.outcomes.get_mut(at) {
                    o.converted.push(exposure);
                }
            }
            Ok(plan.outcomes)
        }

        /// A positive for a person under follow-up as a contact: each of
        /// their open contact records is converted to the case the positive
        /// was recorded on (a transmission edge from the naming case), and
        /// its unfinished tasks (the notification, now pointless) are
        /// canceled and withdrawn from routing. Returns (contact record,
        /// case, the positive's index) for each.
        async fn convert_exposures_in(
            tx: &mut Transaction<'_, $db>,
            positives: &[(Uuid, Uuid, usize)],
            now: chrono::DateTime<chrono::Utc>,
        ) -> StoreResult<Vec<(Uuid, Uuid, usize)>> {
            let by_person: HashMap<Uuid, (Uuid, usize)> =
                positives.iter().map(|(p, c, i)| (*p, (*c, *i))).collect();
            let persons: Vec<Uuid> = by_person.keys().copied().collect();
            let mut converted = Vec::new();
            for chunk in persons.chunks(CHUNK) {
                let mut q = QueryBuilder::<$db>::new(format!(
                    "SELECT id, contact_person_id, case_id FROM exposures WHERE status NOT IN ({CLOSED_EXPOSURE_STATUSES}) AND contact_person_id IN ("
                ));
                push_ids(&mut q, chunk);
                q.push(")");
                for row in q.build().fetch_all(&mut **tx).await.map_err(err)? {
                    let id: Uuid = row.try_get(0).map_err(err)?;
                    let person: Uuid = row.try_get(1).map_err(err)?;
                    let naming: Uuid = row.try_get(2).map_err(err)?;
                    if let Some((case, at)) = by_person.get(&person)
                        && naming != *case
                    {
                        converted.push((id, *case, *at));
                    }
                }
            }
            for (id, case, _) in &converted {
                let mut q = QueryBuilder::<$db>::new("UPDATE exposures SET status = 'converted', contact_case_id = ");
                q.push_bind(*case)
                    .push(", updated_at = ")
                    .push_bind(now)
                    .push(" WHERE id = ")
                    .push_bind(*id);
                q.build().execute(&mut **tx).await.map_err(err)?;
            }
            let ids: Vec<Uuid> = converted.iter().map(|(id, _, _)| *id).collect();
            let closed = tracedesk_store::withdrawal::CASE_CLOSED;
            withdraw_tasks_in(tx, closed, "exposure_id", &ids).await?;
            Ok(converted)
        }

        /// Cancels the unfinished tasks whose `column` is one of `owners`
        /// and has routing withdraw those it holds, for `reason` (one of
        /// `store::withdrawal`). Withdrawn even when a task looks unrouted:
        /// the feed may be handing it over right now. Returns how many.
        async fn withdraw_tasks_in(
            tx: &mut Transaction<'_, $db>,
            reason: &'static str,
            column: &str,
            owners: &[Uuid],
        ) -> StoreResult<u64> {
            let mut n = 0;
            for chunk in owners.chunks(CHUNK) {
                let mut q = QueryBuilder::<$db>::new("UPDATE tasks SET status = 'canceled', withdrawal = ");
                q.push_bind(reason).push(format!(
                    " WHERE status IN ('pending', {}) AND {column} IN (",
                    tracedesk_store::ACTIVE_TASK_STATUSES
                ));
                push_ids(&mut q, chunk);
                q.push(")");
                n += q.build().execute(&mut **tx).await.map_err(err)?.rows_affected();
            }
            Ok(n)
        }

        /// A batch of named contacts, set-based like the lab intake: every
        /// match key is looked up in one pass, then each item in order is
        /// matched to a known person, to one an earlier item of the batch
        /// made, or made new (as a facet when the person was first recorded
        /// in another jurisdiction), and all rows are inserted together.
        async fn add_contacts_in(
            tx: &mut Transaction<'_, $db>,
            batch: &[ContactIntake],
        ) -> StoreResult<Vec<ContactIntakeOutcome>> {
            let keys: Vec<(PersonKey, Blind)> =
                batch.iter().flat_map(|c| c.match_on.iter().cloned()).collect();
            let mut found = persons_by_keys(tx, &keys).await?;
            let foreign: Vec<Uuid> = batch
                .iter()
                .filter_map(|c| {
                    let (id, home) = c.match_on.iter().find_map(|k| found.get(k))?;
                    (*home != c.exposure.jurisdiction).then_some(*id)
                })
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            let mut facets = if foreign.is_empty() {
                HashMap::new()
            } else {
                facet_ids_in(&mut **tx, &foreign).await?
            };
            // What a matched person already is: named by one of these cases
            // (open record: the new naming merges into it), or an open case
            // in a naming case's jurisdiction (the exposure is an edge to it).
            let matched: Vec<Uuid> = batch
                .iter()
                .filter_map(|c| c.match_on.iter().find_map(|k| found.get(k)).map(|f| f.0))
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            let mut named: HashMap<(Uuid, Uuid), ExposureRow> = HashMap::new();
            let mut open_cases: HashMap<(Uuid, String), Uuid> = HashMap::new();
            for chunk in matched.chunks(CHUNK) {
                let mut q = QueryBuilder::<$db>::new(format!(
                    "SELECT {EXPOSURE_COLUMNS} FROM exposures WHERE status NOT IN ({CLOSED_EXPOSURE_STATUSES}) AND contact_person_id IN ("
                ));
                push_ids(&mut q, chunk);
                q.push(")");
                for row in q.build().fetch_all(&mut **tx).await.map_err(err)? {
                    let e = exposure(&row)?;
                    named.insert((e.case_id, e.contact_person_id), e);
                }
                let mut q = QueryBuilder::<$db>::new(format!(
                    "SELECT person_id, jurisdiction, id FROM cases WHERE status NOT IN ({CLOSED_CASE_STATUSES}) AND person_id IN ("
                ));
                push_ids(&mut q, chunk);
                q.push(")");
                for row in q.build().fetch_all(&mut **tx).await.map_err(err)? {
                    let key: (Uuid, String) =
                        (row.try_get(0).map_err(err)?, row.try_get(1).map_err(err)?);
                    let id: Uuid = row.try_get(2).map_err(err)?;
                    if open_cases.get(&key).is_none_or(|known| id > *known) {
                        open_cases.insert(key, id);
                    }
                }
            }
            let mut persons = Vec::new();
            let mut new_facets = Vec::new();
            let mut points = Vec::new();
            let mut exposures: Vec<ExposureRow> = Vec::with_capacity(batch.len());
            // (case, person) → index in `exposures` of a record this batch makes.
            let mut fresh: HashMap<(Uuid, Uuid), usize> = HashMap::new();
            let mut merged: HashMap<Uuid, ExposureRow> = HashMap::new();
            let mut tasks = Vec::with_capacity(batch.len());
            let mut entries = Vec::new();
            let mut notifications = Vec::new();
            let mut out = Vec::with_capacity(batch.len());
            for c in batch {
                let here = &c.exposure.jurisdiction;
                let existing = c.match_on.iter().find_map(|k| found.get(k).cloned());
                // Matched to a person first recorded in another jurisdiction:
                // this jurisdiction keeps what it submitted, as a facet, and
                // knows the person by the facet's id.
                let (person_id, shown_person_id, created) = match existing {
                    Some((id, _)) if c.namers.contains(&id) => {
                        out.push(ContactIntakeOutcome {
                            person_id: id,
                            shown_person_id: id,
                            person_created: false,
                            exposure_id: c.exposure.id,
                            task_id: None,
                            resolution: ContactResolution::SelfContact,
                            first_exposure: c.exposure.first_exposure,
                            last_exposure: c.exposure.last_exposure,
                            quarantine_end: c.exposure.quarantine_end,
                        });
                        continue;
                    }
                    Some((id, home)) if home != *here => {
                        match facets.get(&(id, here.clone())) {
                            Some(facet) => (id, *facet, false),
                            None => {
                                let mut facet = PersonFacetRow::of(&c.person, id);
                                facet.jurisdiction = here.clone();
                                facets.insert((id, here.clone()), facet.id);
                                new_facets.push(facet);
                                (id, c.person.id, true)
                            }
                        }
                    }
                    Some((id, _)) => {
                        points.extend(c.points.iter().map(|p| PointRow {
                            person_id: id,
                            ..p.clone()
                        }));
                        (id, id, false)
                    }
                    None => {
                        persons.push(&c.person);
                        for k in &c.match_on {
                            found
                                .entry(k.clone())
                                .or_insert_with(|| (c.person.id, c.person.jurisdiction.clone()));
                        }
                        (c.person.id, c.person.id, true)
                    }
                };
                let shown = (shown_person_id != person_id).then_some(shown_person_id);
                let key = (c.exposure.case_id, person_id);
                let note = |exposure: Uuid| {
                    c.note.clone().map(|mut n| {
                        n.person_id = person_id;
                        n.exposure_id = Some(exposure);
                        n
                    })
                };
                // Named again by the same case: one record, the dates united.
                let again = match fresh.get(&key) {
                    Some(&i) => exposures.get_mut(i),
                    None => match named.get(&key) {
                        Some(e) => Some(merged.entry(e.id).or_insert_with(|| e.clone())),
                        None => None,
                    },
                };
                if let Some(e) = again {
                    e.first_exposure = e.first_exposure.min(c.exposure.first_exposure);
                    e.last_exposure = e.last_exposure.max(c.exposure.last_exposure);
                    e.quarantine_end = e.quarantine_end.max(c.exposure.quarantine_end);
                    e.ongoing |= c.exposure.ongoing;
                    e.updated_at = c.exposure.updated_at;
                    entries.extend(note(e.id));
                    out.push(ContactIntakeOutcome {
                        person_id,
                        shown_person_id,
                        person_created: created,
                        exposure_id: e.id,
                        task_id: None,
                        resolution: ContactResolution::Merged,
                        first_exposure: e.first_exposure,
                        last_exposure: e.last_exposure,
                        quarantine_end: e.quarantine_end,
                    });
                    continue;
                }
                let mut exposure = c.exposure.clone();
                exposure.contact_person_id = person_id;
                exposure.shown_person_id = shown;
                entries.extend(note(exposure.id));
                let resolution = match open_cases.get(&(person_id, here.clone())) {
                    // Already a case here: the exposure is an edge between two
                    // cases, with no quarantine and nobody to notify.
                    Some(case) if !created => {
                        exposure.status = "already_a_case".into();
                        exposure.contact_case_id = Some(*case);
                        exposure.quarantine_end = exposure.last_exposure;
                        exposure.ongoing = false;
                        ContactResolution::AlreadyACase(*case)
                    }
                    _ => ContactResolution::Named,
                };
                let task_id = match resolution {
                    ContactResolution::Named => {
                        let mut task = c.task.for_person(person_id, shown);
                        task.exposure_id = Some(exposure.id);
                        let id = task.id;
                        tasks.push(task);
                        if let Some(m) = &c.notification {
                            let mut m = m.clone();
                            m.person_id = Some(person_id);
                            m.task_id = Some(id);
                            m.jurisdiction = Some(exposure.jurisdiction.clone());
                            notifications.push(m);
                        }
                        Some(id)
                    }
                    _ => None,
                };
                out.push(ContactIntakeOutcome {
                    person_id,
                    shown_person_id,
                    person_created: created,
                    exposure_id: exposure.id,
                    task_id,
                    resolution,
                    first_exposure: exposure.first_exposure,
                    last_exposure: exposure.last_exposure,
                    quarantine_end: exposure.quarantine_end,
                });
                fresh.insert(key, exposures.len());
                exposures.push(exposure);
            }
            // A record merged into twice in the batch reports its final dates.
            let finals: HashMap<Uuid, &ExposureRow> = exposures
                .iter()
                .chain(merged.values())
                .map(|e| (e.id, e))
                .collect();
            for o in out.iter_mut() {
                if let Some(e) = finals.get(&o.exposure_id) {
                    o.first_exposure = e.first_exposure;
                    o.last_exposure = e.last_exposure;
                    o.quarantine_end = e.quarantine_end;
                }
            }
            insert_persons(tx, &persons).await?;
            insert_facets(tx, &new_facets).await?;
            insert_exposures(tx, &exposures).await?;
            insert_tasks(tx, &tasks).await?;
            insert_entries(tx, &entries).await?;
            insert_points(tx, &points).await?;
            insert_messages_in(tx, &notifications).await?;
            for e in merged.values() {
                let mut q = QueryBuilder::<$db>::new("UPDATE exposures SET first_exposure = ");
                q.push_bind(e.first_exposure)
                    .push(", last_exposure = ")
                    .push_bind(e.last_exposure)
                    .push(", quarantine_end = ")
                    .push_bind(e.quarantine_end)
                    .push(", ongoing = ")
                    .push_bind(e.ongoing)
                    .push(", updated_at = ")
                    .push_bind(e.updated_at)
                    .push(" WHERE id = ")
                    .push_bind(e.id);
                q.build().execute(&mut **tx).await.map_err(err)?;
            }
            Ok(out)
        }

        /// The SQL of a case list page, after `prefix` (empty, or `EXPLAIN …`).
        ///
        /// A scope is not one `OR` over the whole table (which no index
        /// serves): it is a union of *arms* — one per jurisdiction, read
        /// newest first through `(jurisdiction[, status], id)` and cut at the
        /// page size, and one for the records held through tasks, read from
        /// the holders' active tasks to their persons' records — merged and
        /// cut again. Every arm reads at most a page (or the few held
        /// records), so a page costs the same at any table size.
        fn cases_query<'a>(prefix: &str, f: &'a CaseFilter) -> QueryBuilder<'a, $db> {
            let filters = move |q: &mut QueryBuilder<'a, $db>, t: &str| {
                if let Some(s) = &f.status {
                    q.push(format!(" AND {t}.status = ")).push_bind(s);
                }
                if let Some(p) = f.person_id {
                    q.push(format!(" AND {t}.person_id = ")).push_bind(p);
                }
                if let Some(d) = f.report_from {
                    q.push(format!(" AND {t}.report_date >= ")).push_bind(d);
                }
                if let Some(d) = f.report_to {
                    q.push(format!(" AND {t}.report_date <= ")).push_bind(d);
                }
                if let Some(b) = f.before {
                    q.push(format!(" AND {t}.id < ")).push_bind(b);
                }
            };
            let arms = ScopedArms {
                table: "cases",
                columns: CASE_COLUMNS,
                person: "person_id",
                limit: f.limit,
                // One person's cases are few: one indexed read, scope as a filter.
                narrow: f.person_id.is_some(),
                named_by_held_cases: false,
            };
            let mut q = QueryBuilder::<$db>::new(prefix.to_string());
            arms.push(&mut q, f.scope.as_ref(), filters);
            q
        }

        /// One arm of a scoped list reached through tasks.
        #[derive(Clone, Copy)]
        enum ScopeArm<'a> {
            /// Records whose person is held (in the record's jurisdiction).
            Held(tracedesk_store::sqlgen::Holders<'a>),
            /// Contact records named by a case this user holds.
            CasesHeldBy(Uuid),
        }

        /// How a scoped list page of one table is written.
        struct ScopedArms {
            table: &'static str,
            columns: &'static str,
            /// The column naming the person a task holds.
            person: &'static str,
            limit: u32,
            /// A selective filter (one person, one case) is set: one indexed
            /// read with the scope as a plain condition.
            narrow: bool,
            /// A tracer also sees the contact records their cases named.
            named_by_held_cases: bool,
        }

        impl ScopedArms {
            fn push<'a>(
                &self,
                q: &mut QueryBuilder<'a, $db>,
                scope: Option<&'a ListScope>,
                filters: impl Fn(&mut QueryBuilder<'a, $db>, &str),
            ) {
                use tracedesk_store::sqlgen::Holders;
                let (t, limit) = (self.table, i64::from(self.limit));
                let cols = self.columns;
                let qualified = cols
                    .split(", ")
                    .map(|c| format!("{t}.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let (jurisdictions, arms): (&[String], Vec<ScopeArm<'a>>) = match scope {
                    None => {
                        q.push(format!("SELECT {cols} FROM {t} WHERE 1=1"));
                        filters(q, t);
                        q.push(" ORDER BY id DESC LIMIT ").push_bind(limit);
                        return;
                    }
                    Some(ListScope::Assignee(u)) => {
                        let mut arms = vec![ScopeArm::Held(Holders::One(*u))];
                        if self.named_by_held_cases {
                            arms.push(ScopeArm::CasesHeldBy(*u));
                        }
                        (&[], arms)
                    }
                    Some(ListScope::Within { jurisdictions, team_members }) => {
                        let arms = if team_members.is_empty() {
                            Vec::new()
                        } else {
                            vec![ScopeArm::Held(Holders::Any(team_members))]
                        };
                        (jurisdictions.as_slice(), arms)
                    }
                };
                if jurisdictions.is_empty() && arms.is_empty() {
                    q.push(format!("SELECT {cols} FROM {t} WHERE 1=0"));
                    return;
                }
                if self.narrow {
                    q.push(format!("SELECT {cols} FROM {t} WHERE 1=1"));
                    filters(q, t);
                    q.push(" AND (");
                    let mut first = true;
                    if !jurisdictions.is_empty() {
                        // `|| ''` keeps the planner on the selective filter's
                        // index: the jurisdiction's would read its whole range.
                        q.push(format!("({t}.jurisdiction || '') IN ("));
                        push_strs(q, jurisdictions);
                        q.push(")");
                        first = false;
                    }
                    for a in &arms {
                        if !first {
                            q.push(" OR ");
                        }
                        first = false;
                        match *a {
                            ScopeArm::Held(who) => push_held_in(
                                q,
                                self.person,
                                &format!("{t}.{}", self.person),
                                &format!("{t}.jurisdiction"),
                                who,
                            ),
                            ScopeArm::CasesHeldBy(u) => {
                                q.push("case_id IN (SELECT c.id FROM cases c WHERE ");
                                push_held_in(q, "c.person_id", "c.person_id", "c.jurisdiction", Holders::One(u));
                                q.push(")");
                            }
                        }
                    }
                    q.push(") ORDER BY id DESC LIMIT ").push_bind(limit);
                    return;
                }
                q.push(format!("SELECT {cols} FROM ("));
                let mut n = 0;
                let mut open = |q: &mut QueryBuilder<'a, $db>, from: &str| {
                    if n > 0 {
                        q.push(" UNION ");
                    }
                    n += 1;
                    q.push(format!("SELECT * FROM (SELECT {qualified} FROM {from} WHERE "));
                    n
                };
                let close = |q: &mut QueryBuilder<'a, $db>, i: usize| {
                    q.push(format!(" ORDER BY {t}.id DESC LIMIT ")).push_bind(limit);
                    q.push(format!(") AS arm{i}"));
                };
                for j in jurisdictions {
                    let i = open(q, t);
                    q.push(format!("{t}.jurisdiction = ")).push_bind(j);
                    filters(q, t);
                    close(q, i);
                }
                // Held records are read from the holders' tasks, never by
                // walking the table (a status or date filter must not turn the
                // read around): PostgreSQL per held person (`LATERAL`), SQLite
                // in `CROSS JOIN` order, which it keeps.
                for a in arms {
                    n += 1;
                    if n > 1 {
                        q.push(" UNION ");
                    }
                    let holders = |q: &mut QueryBuilder<'a, $db>| {
                        let who = match a {
                            ScopeArm::Held(who) => who,
                            ScopeArm::CasesHeldBy(u) => Holders::One(u),
                        };
                        push_holds(q, "h", who);
                    };
                    if LATERAL_JOINS {
                        let (set, per) = match a {
                            ScopeArm::Held(_) => (
                                "SELECT DISTINCT h.person_id AS p, h.jurisdiction AS j FROM tasks h WHERE ",
                                format!("{t} WHERE {t}.{} = hs.p AND {t}.jurisdiction = hs.j", self.person),
                            ),
                            ScopeArm::CasesHeldBy(_) => (
                                "SELECT DISTINCT c.id AS p FROM tasks h CROSS JOIN cases c \
                                 WHERE c.person_id = h.person_id AND c.jurisdiction = h.jurisdiction AND ",
                                format!("{t} WHERE {t}.case_id = hs.p"),
                            ),
                        };
                        q.push(format!("SELECT * FROM (SELECT held.* FROM ({set}"));
                        holders(q);
                        q.push(format!(") AS hs CROSS JOIN LATERAL (SELECT {qualified} FROM {per}"));
                        filters(q, t);
                        q.push(format!(" ORDER BY {t}.id DESC LIMIT ")).push_bind(limit);
                        q.push(") AS held ORDER BY held.id DESC LIMIT ").push_bind(limit);
                        q.push(format!(") AS arm{n}"));
                    } else {
                        let records = match a {
                            ScopeArm::Held(_) => format!(
                                "{t} WHERE {t}.{} = h.person_id AND {t}.jurisdiction = h.jurisdiction",
                                self.person
                            ),
                            ScopeArm::CasesHeldBy(_) => format!(
                                "cases c CROSS JOIN {t} WHERE c.person_id = h.person_id \
                                 AND c.jurisdiction = h.jurisdiction AND {t}.case_id = c.id"
                            ),
                        };
                        // DISTINCT: a holder may hold several active tasks
                        // for one person (an interview and the investigation).
                        q.push(format!(
                            "SELECT * FROM (SELECT DISTINCT {qualified} FROM tasks h CROSS JOIN {records} AND "
                        ));
                        holders(q);
                        filters(q, t);
                        close(q, n);
                    }
                }
                q.push(") AS page ORDER BY id DESC LIMIT ").push_bind(limit);
            }
        }

        /// The SQL of a page of one user's tasks: `(assignee_id[, status], id)`.
        fn tasks_query<'a>(prefix: &str, f: &'a TaskFilter) -> QueryBuilder<'a, $db> {
            let mut q = QueryBuilder::<$db>::new(format!(
                "{prefix}SELECT {TASK_COLUMNS} FROM tasks WHERE assignee_id = "
            ));
            q.push_bind(f.assignee);
            if let Some(s) = &f.status {
                q.push(" AND status = ").push_bind(s);
            }
            if let Some(b) = f.before {
                q.push(" AND id < ").push_bind(b);
            }
            q.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(f.limit));
            q
        }

        /// The persons with these ids (a page's worth), in one read.
        fn persons_query(ids: &[Uuid]) -> QueryBuilder<'static, $db> {
            let mut q = QueryBuilder::<$db>::new(format!(
                "SELECT {PERSON_COLUMNS} FROM persons WHERE id IN ("
            ));
            push_ids(&mut q, ids);
            q.push(")");
            q
        }

        /// A list read's query, after `prefix`.
        fn list_query<'a>(prefix: &str, list: &'a ListQuery) -> QueryBuilder<'a, $db> {
            match list {
                ListQuery::Cases(f) => cases_query(prefix, f),
                ListQuery::Exposures(f) => exposures_query(prefix, f),
                ListQuery::Tasks(f) => tasks_query(prefix, f),
            }
        }

        /// `a, b, c` (or NULL, which matches nothing) for an IN list.
        fn push_strs<'a>(q: &mut QueryBuilder<'a, $db>, values: &'a [String]) {
            if values.is_empty() {
                q.push("NULL");
            }
            let mut sep = q.separated(", ");
            for v in values {
                sep.push_bind(v);
            }
        }

        fn push_ids(q: &mut QueryBuilder<'_, $db>, values: &[Uuid]) {
            if values.is_empty() {
                q.push("NULL");
            }
            let mut sep = q.separated(", ");
            for v in values {
                sep.push_bind(*v);
            }
        }

        /// The tracer-may-read rule, once: the task `{t}` is held
        /// (`TaskStatus::HOLDING`, the statuses the per-record decision
        /// also counts: accepted, not merely offered) by `who`. Every list scope and record check
        /// in SQL is built on it, the task's person and jurisdiction matched
        /// by the caller.
        fn push_holds<'a>(
            q: &mut QueryBuilder<'a, $db>,
            t: &str,
            who: tracedesk_store::sqlgen::Holders<'a>,
        ) {
            use tracedesk_store::sqlgen::Holders;
            q.push(format!("{t}.status IN ({HOLDING_TASK_STATUSES}) AND "));
            match who {
                Holders::One(u) => {
                    q.push(format!("{t}.assignee_id = ")).push_bind(u);
                }
                Holders::Any(users) => {
                    q.push(format!("{t}.assignee_id IN ("));
                    push_ids(q, users);
                    q.push(")");
                }
            }
        }

        /// `EXISTS (…)`: someone of `who` holds an active task for the
        /// person in `person_col`, in the jurisdiction in `jur_col`. The
        /// jurisdiction is part of it: holding a task for a person in one
        /// jurisdiction opens nothing another holds about them.
        fn push_held<'a>(
            q: &mut QueryBuilder<'a, $db>,
            person_col: &str,
            jur_col: &str,
            who: tracedesk_store::sqlgen::Holders<'a>,
        ) {
            q.push(format!(
                "EXISTS (SELECT 1 FROM tasks t WHERE t.person_id = {person_col} \
                 AND t.jurisdiction = {jur_col} AND "
            ));
            push_holds(q, "t", who);
            q.push(")");
        }

        /// The SQL of a contact-record list page; arms as in `cases_query`.
        fn exposures_query<'a>(prefix: &str, f: &'a ExposureFilter) -> QueryBuilder<'a, $db> {
            let filters = move |q: &mut QueryBuilder<'a, $db>, t: &str| {
                if let Some(c) = f.case_id {
                    q.push(format!(" AND {t}.case_id = ")).push_bind(c);
                }
                if let Some(p) = f.contact_person_id {
                    q.push(format!(" AND {t}.contact_person_id = ")).push_bind(p);
                }
                if let Some(c) = f.contact_case_id {
                    q.push(format!(" AND {t}.contact_case_id = ")).push_bind(c);
                }
                if let Some(s) = &f.status {
                    q.push(format!(" AND {t}.status = ")).push_bind(s);
                }
                if let Some(b) = f.before {
                    q.push(format!(" AND {t}.id < ")).push_bind(b);
                }
            };
            let arms = ScopedArms {
                table: "exposures",
                columns: EXPOSURE_COLUMNS,
                person: "contact_person_id",
                limit: f.limit,
                narrow: f.case_id.is_some()
                    || f.contact_person_id.is_some()
                    || f.contact_case_id.is_some(),
                named_by_held_cases: true,
            };
            let mut q = QueryBuilder::<$db>::new(prefix.to_string());
            arms.push(&mut q, f.scope.as_ref(), filters);
            q
        }

        /// `({in_col} IN (persons held by who) AND {held})`: the same rule as
        /// `push_held`, written so the index on the holders' tasks drives the
        /// read (their held persons, then those persons' records).
        fn push_held_in<'a>(
            q: &mut QueryBuilder<'a, $db>,
            in_col: &str,
            person_col: &str,
            jur_col: &str,
            who: tracedesk_store::sqlgen::Holders<'a>,
        ) {
            q.push(format!("({in_col} IN (SELECT h.person_id FROM tasks h WHERE "));
            push_holds(q, "h", who);
            q.push(") AND ");
            push_held(q, person_col, jur_col, who);
            q.push(")");
        }

        const AUDIT_COLUMNS: &str =
            "seq, at, actor, action, object, object_id, person_id, detail, prev_hash, hash";

        const AUDIT_HEAD: &str = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1";

        fn head_of(r: &<$db as sqlx::Database>::Row) -> StoreResult<(i64, [u8; 32])> {
            Ok((
                r.try_get("seq").map_err(err)?,
                hash32(r.try_get("hash").map_err(err)?, "hash")?,
            ))
        }

        async fn fetch_entries(
            mut q: QueryBuilder<'static, $db>,
            pool: &sqlx::Pool<$db>,
        ) -> StoreResult<Vec<tracedesk_store::audit::Entry>> {
            q.build()
                .fetch_all(pool)
                .await
                .map_err(err)?
                .iter()
                .map(audit_entry)
                .collect()
        }

        fn hash32(v: Vec<u8>, what: &str) -> StoreResult<[u8; 32]> {
            v.try_into()
                .map_err(|_| StoreError::Corrupt(format!("audit {what} is not 32 bytes")))
        }

        fn audit_entry(
            r: &<$db as sqlx::Database>::Row,
        ) -> StoreResult<tracedesk_store::audit::Entry> {
            use tracedesk_store::audit::{Action, Draft, Entry};
            let action: String = r.try_get("action").map_err(err)?;
            Ok(Entry {
                seq: r.try_get("seq").map_err(err)?,
                draft: Draft {
                    at: r.try_get("at").map_err(err)?,
                    actor: r.try_get("actor").map_err(err)?,
                    // An unknown action name is kept verifiable: it fails the
                    // hash check instead of aborting the read.
                    action: Action::parse(&action).ok_or_else(|| {
                        StoreError::Corrupt("audit entry with an unknown action".into())
                    })?,
                    object: r.try_get("object").map_err(err)?,
                    object_id: r.try_get("object_id").map_err(err)?,
                    person_id: r.try_get("person_id").map_err(err)?,
                    detail: r.try_get("detail").map_err(err)?,
                },
                prev_hash: hash32(r.try_get("prev_hash").map_err(err)?, "prev_hash")?,
                hash: hash32(r.try_get("hash").map_err(err)?, "hash")?,
            })
        }

        /// Reads the head and appends the chained drafts; the caller holds
        /// the log's write lock for the transaction.
        async fn append_audit_in(
            tx: &mut Transaction<'_, $db>,
            drafts: &[tracedesk_store::audit::Draft],
        ) -> StoreResult<Vec<tracedesk_store::audit::Entry>> {
            let head = sqlx::query(AUDIT_HEAD)
                .fetch_optional(&mut **tx)
                .await
                .map_err(err)?;
            let (seq, prev) = match head {
                Some(r) => head_of(&r)?,
                None => (0, tracedesk_store::audit::GENESIS),
            };
            let entries = tracedesk_store::audit::link(seq, prev, drafts);
            for chunk in entries.chunks(CHUNK) {
                audit_insert(chunk).build().execute(&mut **tx).await.map_err(err)?;
            }
            Ok(entries)
        }

        /// One multi-row INSERT of chained entries.
        fn audit_insert(
            chunk: &[tracedesk_store::audit::Entry],
        ) -> QueryBuilder<'_, $db> {
            let mut q =
                QueryBuilder::<$db>::new(format!("INSERT INTO audit_log ({AUDIT_COLUMNS}) "));
            push_audit_values(&mut q, chunk);
            q
        }

        /// The lock-free append's one statement. Where writers share the
        /// log across connections (`lock`: PostgreSQL's advisory key) it
        /// inserts nothing unless it can take the log's lock at once, so a
        /// writer holding the lock never loses the head it read to a
        /// lock-free writer (which would starve it under steady load).
        fn audit_insert_unlocked(
            chunk: &[tracedesk_store::audit::Entry],
            lock: Option<i64>,
        ) -> QueryBuilder<'_, $db> {
            let Some(key) = lock else {
                return audit_insert(chunk);
            };
            // MATERIALIZED: the try-lock runs once, never per row.
            let mut q = QueryBuilder::<$db>::new(format!(
                "WITH free AS MATERIALIZED (SELECT pg_try_advisory_xact_lock({key}) AS ok) \
                 INSERT INTO audit_log ({AUDIT_COLUMNS}) SELECT * FROM ("
            ));
            push_audit_values(&mut q, chunk);
            q.push(format!(
                ") AS v ({AUDIT_COLUMNS}) WHERE (SELECT ok FROM free)"
            ));
            q
        }

        fn push_audit_values<'a>(
            q: &mut QueryBuilder<'a, $db>,
            chunk: &'a [tracedesk_store::audit::Entry],
        ) {
            q.push_values(chunk, |mut b, e| {
                b.push_bind(e.seq)
                    .push_bind(e.draft.at)
                    .push_bind(&e.draft.actor)
                    .push_bind(e.draft.action.as_str())
                    .push_bind(&e.draft.object)
                    .push_bind(e.draft.object_id)
                    .push_bind(e.draft.person_id)
                    .push_bind(&e.draft.detail)
                    .push_bind(e.prev_hash.as_slice())
                    .push_bind(e.hash.as_slice());
            });
        }

        fn audit_query(after: i64, limit: u32) -> QueryBuilder<'static, $db> {
            let mut q = QueryBuilder::<$db>::new(format!(
                "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq > "
            ));
            q.push_bind(after)
                .push(" ORDER BY seq LIMIT ")
                .push_bind(i64::from(limit));
            q
        }

        fn audit_person_query(person: Uuid) -> QueryBuilder<'static, $db> {
            let mut q = QueryBuilder::<$db>::new(format!(
                "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE person_id = "
            ));
            q.push_bind(person).push(" ORDER BY seq");
            q
        }

        fn checkpoint_insert(cp: &tracedesk_store::audit::Checkpoint) -> QueryBuilder<'_, $db> {
            let mut q = QueryBuilder::<$db>::new(
                "INSERT INTO audit_checkpoints (seq, head, at, public_key, signature, prev, late) ",
            );
            q.push_values([cp], |mut b, cp| {
                b.push_bind(cp.seq)
                    .push_bind(cp.head.as_slice())
                    .push_bind(cp.at)
                    .push_bind(cp.public_key.as_slice())
                    .push_bind(cp.signature.as_slice())
                    .push_bind(cp.link.map(|l| l.prev.to_vec()))
                    .push_bind(cp.link.is_some_and(|l| l.late));
            });
            q
        }

        const CHECKPOINT_COLUMNS: &str = "seq, head, at, public_key, signature, prev, late";

        fn checkpoint_row(
            r: &<$db as sqlx::Database>::Row,
        ) -> StoreResult<tracedesk_store::audit::Checkpoint> {
            let sig: Vec<u8> = r.try_get("signature").map_err(err)?;
            let prev: Option<Vec<u8>> = r.try_get("prev").map_err(err)?;
            let link = prev
                .map(|p| -> StoreResult<tracedesk_store::audit::Link> {
                    Ok(tracedesk_store::audit::Link {
                        prev: hash32(p, "checkpoint link")?,
                        late: r.try_get("late").map_err(err)?,
                    })
                })
                .transpose()?;
            Ok(tracedesk_store::audit::Checkpoint {
                seq: r.try_get("seq").map_err(err)?,
                head: hash32(r.try_get("head").map_err(err)?, "checkpoint head")?,
                at: r.try_get("at").map_err(err)?,
                link,
                public_key: hash32(r.try_get("public_key").map_err(err)?, "checkpoint key")?,
                signature: sig.try_into().map_err(|_| {
                    StoreError::Corrupt("audit checkpoint signature is not 64 bytes".into())
                })?,
            })
        }
    };
}

/// The backend's `AuditStore` impl. The backend provides `audit_tx()` (a transaction holding the
/// log's write lock), `read_pool()`, `write_pool()` and `AUDIT_TRY_LOCK` (the lock's advisory
/// key where connections write concurrently, `None` where one connection writes).
#[macro_export]
macro_rules! audit_store_impl {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl tracedesk_store::AuditStore for $store {
        async fn append_audit(
            &self,
            drafts: &[tracedesk_store::audit::Draft],
        ) -> StoreResult<Vec<tracedesk_store::audit::Entry>> {
            if drafts.is_empty() {
                return Ok(Vec::new());
            }
            $crate::in_tx!(self.audit_tx(), append_audit_in, drafts)
        }

        async fn append_audit_after(
            &self,
            head: (i64, [u8; 32]),
            drafts: &[tracedesk_store::audit::Draft],
        ) -> StoreResult<Vec<tracedesk_store::audit::Entry>> {
            if drafts.is_empty() {
                return Ok(Vec::new());
            }
            if drafts.len() > CHUNK {
                // More than one statement would not be atomic; take the lock.
                return self.append_audit(drafts).await;
            }
            let entries = tracedesk_store::audit::link(head.0, head.1, drafts);
            // Autocommit: the one statement is its own transaction.
            let written = audit_insert_unlocked(&entries, AUDIT_TRY_LOCK)
                .build()
                .execute(self.write_pool())
                .await
                .map_err(err)?;
            if written.rows_affected() == 0 {
                return Err(StoreError::Conflict(
                    "another writer holds the audit log's lock".into(),
                ));
            }
            Ok(entries)
        }

        async fn audit_entries(
            &self,
            after_seq: i64,
            limit: u32,
        ) -> StoreResult<Vec<tracedesk_store::audit::Entry>> {
            fetch_entries(audit_query(after_seq, limit), self.read_pool()).await
        }

        async fn audit_head(&self) -> StoreResult<Option<(i64, [u8; 32])>> {
            sqlx::query(AUDIT_HEAD)
                .fetch_optional(self.read_pool())
                .await
                .map_err(err)?
                .map(|r| head_of(&r))
                .transpose()
        }

        async fn add_audit_checkpoint(
            &self,
            cp: &tracedesk_store::audit::Checkpoint,
        ) -> StoreResult<()> {
            let mut tx = self.audit_tx().await?;
            // Under the log's lock: a checkpoint must link to the newest one,
            // so two signers never fork the chain of checkpoints.
            if let Some(link) = cp.link {
                let last = sqlx::query(&format!(
                    "SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY seq DESC LIMIT 1"
                ))
                .fetch_optional(&mut *tx)
                .await
                .map_err(err)?
                .map(|r| checkpoint_row(&r))
                .transpose()?;
                let newest = last.as_ref().map(|l| (l.seq, l.digest()));
                if newest.is_some_and(|(seq, _)| seq >= cp.seq)
                    || newest.map_or(tracedesk_store::audit::GENESIS, |(_, d)| d) != link.prev
                {
                    return Err(StoreError::Conflict(
                        "a newer audit checkpoint was signed meanwhile".into(),
                    ));
                }
            }
            checkpoint_insert(cp)
                .build()
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            tx.commit().await.map_err(err)
        }

        async fn last_audit_checkpoint(
            &self,
        ) -> StoreResult<Option<tracedesk_store::audit::Checkpoint>> {
            sqlx::query(&format!(
                "SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY seq DESC LIMIT 1"
            ))
            .fetch_optional(self.read_pool())
            .await
            .map_err(err)?
            .map(|r| checkpoint_row(&r))
            .transpose()
        }

        async fn audit_checkpoints(&self) -> StoreResult<Vec<tracedesk_store::audit::Checkpoint>> {
            sqlx::query(&format!("SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY seq"))
                .fetch_all(self.read_pool())
                .await
                .map_err(err)?
                .iter()
                .map(checkpoint_row)
                .collect()
        }

        async fn audit_for_person(
            &self,
            person: Uuid,
        ) -> StoreResult<Vec<tracedesk_store::audit::Entry>> {
            fetch_entries(audit_person_query(person), self.read_pool()).await
        }
        }
    };
}
