//! The `MonitoringStore` statements, written once for both SQL backends.

/// Expands `impl MonitoringStore` for a backend (after
/// `message_store_impl!`, whose `insert_messages_in` it uses, and
/// `sql_common!`, whose `insert_tasks` it uses).
#[macro_export]
macro_rules! monitoring_store_impl {
    ($store:ty, $db:ty) => {
        /// `m.id, m.person_id, …`: the monitoring columns of a join.
        fn monitoring_columns_of(alias: &str) -> String {
            MONITORING_COLUMNS
                .split(", ")
                .map(|c| format!("{alias}.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        }

        /// Writes monitoring rows whole (insert or replace).
        async fn upsert_monitoring_in(
            tx: &mut Transaction<'_, $db>,
            rows: &[MonitoringRow],
        ) -> StoreResult<()> {
            bulk_upsert_monitoring(tx, rows).await
        }

        /// Multi-row `VALUES`, a parameter per field (for a backend
        /// without array parameters; see `bulk_upsert_monitoring`).
        #[allow(dead_code)]
        async fn upsert_monitoring_values(
            tx: &mut Transaction<'_, $db>,
            rows: &[MonitoringRow],
        ) -> StoreResult<()> {
            for chunk in rows.chunks(CHUNK) {
                let mut q = QueryBuilder::<$db>::new(format!(
                    "INSERT INTO monitoring ({MONITORING_COLUMNS}) "
                ));
                q.push_values(chunk, |mut b, m| {
                    b.push_bind(m.id)
                        .push_bind(m.person_id)
                        .push_bind(m.facet_id)
                        .push_bind(&m.jurisdiction)
                        .push_bind(&m.channel)
                        .push_bind(&m.checkin_window)
                        .push_bind(&m.time_zone)
                        .push_bind(&m.state)
                        .push_bind(&m.bucket)
                        .push_bind(m.next_due_at)
                        .push_bind(m.last_sent_at)
                        .push_bind(m.last_reply_at)
                        .push_bind(m.silent_days)
                        .push_bind(m.unclear)
                        .push_bind(i64::from(m.key_version))
                        .push_bind(&m.last_report)
                        .push_bind(m.created_at)
                        .push_bind(m.updated_at);
                });
                q.push(
                    " ON CONFLICT (id) DO UPDATE SET channel = excluded.channel, \
                     checkin_window = excluded.checkin_window, time_zone = excluded.time_zone, \
                     state = excluded.state, bucket = excluded.bucket, \
                     next_due_at = excluded.next_due_at, last_sent_at = excluded.last_sent_at, \
                     last_reply_at = excluded.last_reply_at, silent_days = excluded.silent_days, \
                     unclear = excluded.unclear, key_version = excluded.key_version, \
                     last_report = excluded.last_report, updated_at = excluded.updated_at",
                );
                q.build().execute(&mut **tx).await.map_err(err)?;
            }
            Ok(())
        }

        fn due_checkin(r: &<$db as sqlx::Database>::Row) -> StoreResult<DueCheckin> {
            let row = monitoring(r)?;
            let facet_version: Option<i64> = r.try_get("f_version").map_err(err)?;
            let person_version: i64 = r.try_get("p_version").map_err(err)?;
            let on_facet = row.facet_id.is_some() && facet_version.is_some();
            let col = |name: &str| {
                if on_facet {
                    format!("f_{name}")
                } else {
                    format!("p_{name}")
                }
            };
            let version = if on_facet {
                facet_version.unwrap_or_default()
            } else {
                person_version
            };
            let opted_out: Option<bool> = r.try_get("opted_out").map_err(err)?;
            Ok(DueCheckin {
                exposure_status: r.try_get("exposure_status").map_err(err)?,
                quarantine_end: r.try_get("quarantine_end").map_err(err)?,
                sealed_in: if on_facet { "person_facets" } else { "persons" },
                sealed_id: match (on_facet, row.facet_id) {
                    (true, Some(f)) => f,
                    _ => row.person_id,
                },
                sealed_version: u32::try_from(version)
                    .map_err(|_| StoreError::Corrupt("key_version out of range".into()))?,
                phone: r.try_get(col("phone").as_str()).map_err(err)?,
                email: r.try_get(col("email").as_str()).map_err(err)?,
                language: r.try_get(col("language").as_str()).map_err(err)?,
                phone_bidx: if on_facet {
                    None
                } else {
                    r.try_get("p_phone_bidx").map_err(err)?
                },
                opted_out: !on_facet && opted_out.unwrap_or(false),
                row,
            })
        }

        #[async_trait::async_trait]
        impl tracedesk_store::MonitoringStore for $store {
            async fn enroll_monitoring(
                &self,
                only: Option<&[Uuid]>,
                defaults: &MonitoringDefaults,
                at: DateTime<Utc>,
            ) -> StoreResult<u64> {
                use tracedesk_store::monitoring::{bucket, state};
                let mut tx = self.write_tx().await?;
                let mut done = 0;
                let chunks: Vec<Option<&[Uuid]>> = match only {
                    Some(ids) => ids.chunks(CHUNK).map(Some).collect(),
                    None => vec![None],
                };
                for chunk in chunks {
                    let mut q = QueryBuilder::<$db>::new(format!(
                        "INSERT INTO monitoring ({MONITORING_COLUMNS}) SELECT e.id, e.contact_person_id, \
                         e.shown_person_id, e.jurisdiction, "
                    ));
                    q.push_bind(&defaults.channel)
                        .push(", ")
                        .push_bind(&defaults.checkin_window)
                        .push(", ")
                        .push_bind(&defaults.time_zone)
                        .push(format!(", '{}', '{}', ", state::ACTIVE, bucket::ASYMPTOMATIC))
                        .push_bind(at)
                        .push(", NULL, NULL, 0, 0, 0, NULL, ")
                        .push_bind(at)
                        .push(", ")
                        .push_bind(at)
                        .push(" FROM exposures e WHERE ");
                    match chunk {
                        // Named records: a record monitored before (completed,
                        // then back in monitoring) is checked on again.
                        Some(ids) => {
                            // `status || ''`: the rows are found by id, never
                            // by walking every record in monitoring (statistics
                            // gathered when few were can make a planner pick
                            // the status index).
                            q.push("e.status || '' = 'monitoring' AND e.id IN (");
                            push_ids(&mut q, ids);
                            q.push(format!(
                                ") ON CONFLICT (id) DO UPDATE SET state = '{}', bucket = '{}', \
                                 next_due_at = excluded.next_due_at, silent_days = 0, unclear = 0, \
                                 updated_at = excluded.updated_at WHERE monitoring.state = '{}'",
                                state::ACTIVE,
                                bucket::ASYMPTOMATIC,
                                state::CLOSED
                            ));
                        }
                        None => {
                            q.push(
                                "e.status = 'monitoring' AND NOT EXISTS (SELECT 1 FROM monitoring m WHERE m.id = e.id) \
                                 ON CONFLICT (id) DO NOTHING",
                            );
                        }
                    }
                    done += q.build().execute(&mut *tx).await.map_err(err)?.rows_affected();
                }
                tx.commit().await.map_err(err)?;
                Ok(done)
            }

            async fn due_checkins(
                &self,
                now: DateTime<Utc>,
                after: Option<(DateTime<Utc>, Uuid)>,
                limit: u32,
            ) -> StoreResult<Vec<DueCheckin>> {
                use tracedesk_store::monitoring::state;
                let mut q = select(format!(
                    "SELECT {}, e.status AS exposure_status, e.quarantine_end, \
                     p.key_version AS p_version, p.phone AS p_phone, p.email AS p_email, \
                     p.language AS p_language, p.phone_bidx AS p_phone_bidx, \
                     f.key_version AS f_version, f.phone AS f_phone, f.email AS f_email, \
                     f.language AS f_language, c.opted_out \
                     FROM monitoring m JOIN exposures e ON e.id = m.id \
                     JOIN persons p ON p.id = m.person_id \
                     LEFT JOIN person_facets f ON f.id = m.facet_id \
                     LEFT JOIN consents c ON c.address_bidx = p.phone_bidx \
                     WHERE m.state = '{}' AND m.next_due_at <= ",
                    monitoring_columns_of("m"),
                    state::ACTIVE
                ));
                q.push_bind(now);
                if let Some((due, id)) = after {
                    q.push(" AND (m.next_due_at, m.id) > (")
                        .push_bind(due)
                        .push(", ")
                        .push_bind(id)
                        .push(")");
                }
                q.push(" ORDER BY m.next_due_at, m.id LIMIT ")
                    .push_bind(i64::from(limit));
                rows_of(self, q, due_checkin).await
            }

            async fn record_monitoring(&self, round: &MonitoringRound) -> StoreResult<()> {
                let mut tx = self.write_tx().await?;
                // Moves in groups of the same step, each guarded by the
                // status it was read in.
                let mut steps: std::collections::BTreeMap<(&str, &str), Vec<Uuid>> =
                    std::collections::BTreeMap::new();
                for m in &round.moves {
                    steps.entry((m.from.as_str(), m.to.as_str())).or_default().push(m.id);
                }
                let at = chrono::Utc::now();
                for ((from, to), ids) in &steps {
                    for chunk in ids.chunks(CHUNK) {
                        let mut q = QueryBuilder::<$db>::new("UPDATE exposures SET status = ");
                        q.push_bind(*to)
                            .push(", updated_at = ")
                            .push_bind(at)
                            // By id, never through the status index (a
                            // million records share `monitoring`).
                            .push(" WHERE status || '' = ")
                            .push_bind(*from)
                            .push(" AND id IN (");
                        push_ids(&mut q, chunk);
                        q.push(")");
                        q.build().execute(&mut *tx).await.map_err(err)?;
                    }
                }
                // A record completed here leaves its open tasks, as one the
                // hourly end of monitoring completes does.
                let completed: Vec<Uuid> = round
                    .moves
                    .iter()
                    .filter(|m| m.to == "completed")
                    .map(|m| m.id)
                    .collect();
                for chunk in completed.chunks(CHUNK) {
                    let closed = tracedesk_store::withdrawal::CASE_CLOSED;
                    withdraw_tasks_in(&mut tx, closed, "exposure_id", chunk).await?;
                }
                upsert_monitoring_in(&mut tx, &round.rows).await?;
                insert_tasks(&mut tx, &round.tasks).await?;
                insert_messages_in(&mut tx, &round.messages).await?;
                tx.commit().await.map_err(err)?;
                Ok(())
            }

            async fn get_monitoring(&self, id: Uuid) -> StoreResult<Option<MonitoringRow>> {
                let mut q = select(format!("SELECT {MONITORING_COLUMNS} FROM monitoring WHERE id = "));
                q.push_bind(id);
                row_of(self, q, monitoring).await
            }

            async fn person_monitoring(&self, person_id: Uuid) -> StoreResult<Vec<MonitoringRow>> {
                use tracedesk_store::monitoring::state;
                let mut q = select(format!(
                    "SELECT {MONITORING_COLUMNS} FROM monitoring WHERE state = '{}' AND person_id = ",
                    state::ACTIVE
                ));
                q.push_bind(person_id).push(" ORDER BY id");
                rows_of(self, q, monitoring).await
            }

            async fn monitoring_list(
                &self,
                bucket: &str,
                jurisdictions: Option<&[String]>,
                after: Option<Uuid>,
                limit: u32,
            ) -> StoreResult<Vec<MonitoringRow>> {
                let mut q = select(format!(
                    "SELECT {MONITORING_COLUMNS} FROM monitoring WHERE bucket = "
                ));
                q.push_bind(bucket.to_string());
                if let Some(js) = jurisdictions {
                    if js.is_empty() {
                        return Ok(Vec::new());
                    }
                    q.push(" AND jurisdiction IN (");
                    let mut sep = q.separated(", ");
                    for j in js {
                        sep.push_bind(j.clone());
                    }
                    q.push(")");
                }
                if let Some(a) = after {
                    q.push(" AND id > ").push_bind(a);
                }
                q.push(" ORDER BY id LIMIT ").push_bind(i64::from(limit));
                list_rows_of(self, q, monitoring).await
            }
        }
    };
}
