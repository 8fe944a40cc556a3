//! The `RoutingStore` statements, written once for both SQL backends.

/// Expands `impl RoutingStore` for a backend that provides `read_pool()`,
/// `write_pool()`, `write_tx()` and `routing_lease()` (and `CHUNK`, `err`
/// in scope).
#[macro_export]
macro_rules! routing_store_impl {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl tracedesk_store::RoutingStore for $store {
            async fn append_routing_events(
                &self,
                rows: &[RoutingEventRow],
                progress: &[TaskProgress],
            ) -> StoreResult<()> {
                if rows.is_empty() && progress.is_empty() {
                    return Ok(());
                }
                // One transaction: all of a group is logged, or none of it.
                let mut tx = self.write_tx().await?;
                for chunk in rows.chunks(CHUNK) {
                    let mut q = QueryBuilder::<$db>::new(
                        "INSERT INTO routing_events (id, seq, at, event, key_version) ",
                    );
                    q.push_values(chunk, |mut b, row| {
                        b.push_bind(row.id)
                            .push_bind(row.seq)
                            .push_bind(row.at)
                            .push_bind(row.event.clone())
                            .push_bind(row.key_version);
                    });
                    q.build().execute(&mut *tx).await.map_err(err)?;
                }
                // One statement per chunk: `progress` names each task once.
                // `VALUES` columns are column1.. on both backends. While
                // routing has yet to follow what case work decided
                // (`withdrawal`), case work's status and assignee stand.
                // Routing has followed once it has finished with the task
                // (it no longer holds it) or, for a task assigned by hand,
                // once it has assigned it to the same person (every
                // expression reads the row as it was). A finished task
                // keeps the worker who had it. Workers are staff users; an
                // id that is not one (none in practice) leaves no assignee
                // rather than failing the group. A case-work task that has
                // finished (completed or canceled) never moves again: no
                // routing progress, whatever its id, can reopen it and hand
                // its person to a worker.
                let update = format!(
                    "UPDATE tasks SET \
                     routed = CASE WHEN tasks.withdrawal IS NOT NULL \
                       AND p.column2 IN ({FINAL_TASK_STATUSES}) THEN FALSE ELSE TRUE END, \
                     status = CASE WHEN tasks.withdrawal IS NULL \
                       AND tasks.status NOT IN ({FINAL_TASK_STATUSES}) THEN p.column2 \
                       ELSE tasks.status END, \
                     assignee_id = CASE WHEN tasks.withdrawal IS NOT NULL \
                       OR tasks.status IN ({FINAL_TASK_STATUSES}) \
                       OR p.column2 IN ({FINAL_TASK_STATUSES}) THEN tasks.assignee_id \
                       ELSE (SELECT u.id FROM users u WHERE u.id = p.column3) END, \
                     withdrawal = CASE WHEN p.column2 IN ({FINAL_TASK_STATUSES}) THEN NULL \
                       WHEN tasks.withdrawal = '{by_hand}' AND p.column2 = 'assigned' \
                         AND tasks.assignee_id = p.column3 THEN NULL \
                       ELSE tasks.withdrawal END \
                     FROM (",
                    by_hand = tracedesk_store::withdrawal::BY_HAND,
                );
                for chunk in progress.chunks(CHUNK) {
                    let mut q = QueryBuilder::<$db>::new(update.as_str());
                    q.push_values(chunk, |mut b, p| {
                        b.push_bind(p.id).push_bind(p.status).push_bind(p.assignee);
                    });
                    q.push(") AS p WHERE tasks.id = p.column1");
                    q.build().execute(&mut *tx).await.map_err(err)?;
                }
                // An interview now assigned makes its assignee the case's
                // investigator, who keeps the case once the interview is done.
                let assigned: Vec<Uuid> = progress
                    .iter()
                    .filter(|p| p.status == "assigned")
                    .map(|p| p.id)
                    .collect();
                hold_investigators_in(&mut tx, &assigned, chrono::Utc::now()).await?;
                tx.commit().await.map_err(err)
            }

            async fn unrouted_tasks(&self, limit: u32) -> StoreResult<Vec<UnroutedTask>> {
                let columns: Vec<String> = tracedesk_store::sqlrows::TASK_COLUMNS
                    .split(", ")
                    .map(|c| format!("t.{c}"))
                    .collect();
                let mut out = Vec::new();
                // Two statements, each matching one partial index's WHERE,
                // read through it: the backend's `TASKS_TO_ROUTE` names the
                // index where its planner might not choose it (SQLite,
                // without statistics, sorted every pending task instead —
                // ten seconds a call with four million waiting).
                for (which, from) in [
                    "t.withdrawal IS NOT NULL",
                    "t.routed = FALSE AND t.status = 'pending' AND t.withdrawal IS NULL",
                ]
                .into_iter()
                .zip(TASKS_TO_ROUTE)
                {
                    let mut q = QueryBuilder::<$db>::new(format!(
                        "SELECT {}, p.language, t.withdrawal FROM {from} \
                         JOIN persons p ON p.id = t.person_id \
                         WHERE {which} ORDER BY t.created_at, t.id LIMIT ",
                        columns.join(", ")
                    ));
                    q.push_bind(i64::from(limit));
                    let rows = q.build().fetch_all(self.read_pool()).await.map_err(err)?;
                    for r in &rows {
                        out.push(UnroutedTask {
                            task: task(r)?,
                            language: r.try_get("language").map_err(err)?,
                            withdrawal: r.try_get("withdrawal").map_err(err)?,
                        });
                    }
                }
                Ok(out)
            }

            async fn save_routing_snapshot(&self, snap: &RoutingSnapshot) -> StoreResult<()> {
                /// Bytes per row: large blobs in one bind strain both drivers.
                const PART: usize = 8 << 20;
                let parts: Vec<&[u8]> = snap.image.chunks(PART).collect();
                let total = parts.len() as i32;
                let mut tx = self.write_tx().await?;
                QueryBuilder::<$db>::new("DELETE FROM routing_snapshots")
                    .build()
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                for (n, data) in parts.into_iter().enumerate() {
                    let mut q = QueryBuilder::<$db>::new(
                        "INSERT INTO routing_snapshots (id, seq, at, part, parts, data, key_version) VALUES (",
                    );
                    let mut v = q.separated(", ");
                    v.push_bind(snap.id)
                        .push_bind(snap.seq)
                        .push_bind(snap.at)
                        .push_bind(n as i32)
                        .push_bind(total)
                        .push_bind(data.to_vec())
                        .push_bind(snap.key_version);
                    q.push(")");
                    q.build().execute(&mut *tx).await.map_err(err)?;
                }
                tx.commit().await.map_err(err)
            }

            async fn routing_snapshot(&self) -> StoreResult<Option<RoutingSnapshot>> {
                let rows = QueryBuilder::<$db>::new(
                    "SELECT id, seq, at, part, parts, data, key_version FROM routing_snapshots ORDER BY part",
                )
                .build()
                .fetch_all(self.read_pool())
                .await
                .map_err(err)?;
                let Some(first) = rows.first() else {
                    return Ok(None);
                };
                let parts: i32 = first.try_get("parts").map_err(err)?;
                if rows.len() != parts as usize {
                    return Err(StoreError::Corrupt(format!(
                        "routing snapshot has {} of its {parts} parts",
                        rows.len()
                    )));
                }
                let mut image = Vec::new();
                for r in &rows {
                    let data: Vec<u8> = r.try_get("data").map_err(err)?;
                    image.extend(data);
                }
                Ok(Some(RoutingSnapshot {
                    id: first.try_get("id").map_err(err)?,
                    seq: first.try_get("seq").map_err(err)?,
                    at: first.try_get("at").map_err(err)?,
                    image,
                    key_version: first.try_get("key_version").map_err(err)?,
                }))
            }

            async fn clear_routing(&self) -> StoreResult<u64> {
                let mut tx = self.write_tx().await?;
                let gone = QueryBuilder::<$db>::new("DELETE FROM routing_events")
                    .build()
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?
                    .rows_affected();
                QueryBuilder::<$db>::new("DELETE FROM routing_snapshots")
                    .build()
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                tx.commit().await.map_err(err)?;
                Ok(gone)
            }

            async fn withdraw_case_tasks(&self, case_id: Uuid) -> StoreResult<u64> {
                self.withdraw_tasks_of("case_id", case_id).await
            }

            async fn withdraw_exposure_tasks(&self, exposure_id: Uuid) -> StoreResult<u64> {
                self.withdraw_tasks_of("exposure_id", exposure_id).await
            }

            async fn withdraw_task(&self, id: Uuid) -> StoreResult<u64> {
                self.withdraw_tasks_of("id", id).await
            }

            async fn set_tasks_routed(&self, ids: &[Uuid]) -> StoreResult<()> {
                self.set_routed(ids, "routed = TRUE").await
            }

            async fn finish_withdrawals(&self, ids: &[Uuid]) -> StoreResult<()> {
                self.set_routed(ids, "routed = FALSE, withdrawal = NULL").await
            }

            async fn try_lead_routing(
                &self,
                url: &str,
            ) -> StoreResult<Option<Box<dyn tracedesk_store::Lease>>> {
                let Some(lease) = self.routing_lease().await? else {
                    return Ok(None);
                };
                let mut q = QueryBuilder::<$db>::new(
                    "INSERT INTO routing_leader (id, url, since) VALUES (1, ",
                );
                q.push_bind(url.to_string())
                    .push(", ")
                    .push_bind(chrono::Utc::now().timestamp_millis())
                    .push(") ON CONFLICT (id) DO UPDATE SET url = excluded.url, since = excluded.since");
                q.build().execute(self.write_pool()).await.map_err(err)?;
                Ok(Some(lease))
            }

            async fn routing_leader(&self) -> StoreResult<Option<String>> {
                let mut q = QueryBuilder::<$db>::new("SELECT url FROM routing_leader WHERE id = 1");
                match q.build().fetch_optional(self.read_pool()).await.map_err(err)? {
                    Some(r) => Ok(Some(r.try_get(0).map_err(err)?)),
                    None => Ok(None),
                }
            }

            async fn routing_events(
                &self,
                after_seq: i64,
                limit: u32,
            ) -> StoreResult<Vec<RoutingEventRow>> {
                let mut q = QueryBuilder::<$db>::new(
                    "SELECT id, seq, at, event, key_version FROM routing_events WHERE seq > ",
                );
                q.push_bind(after_seq)
                    .push(" ORDER BY seq LIMIT ")
                    .push_bind(i64::from(limit));
                let rows = q.build().fetch_all(self.read_pool()).await.map_err(err)?;
                rows.iter()
                    .map(|r| {
                        Ok(RoutingEventRow {
                            id: r.try_get("id").map_err(err)?,
                            seq: r.try_get("seq").map_err(err)?,
                            at: r.try_get("at").map_err(err)?,
                            event: r.try_get("event").map_err(err)?,
                            key_version: r.try_get("key_version").map_err(err)?,
                        })
                    })
                    .collect()
            }
        }

        impl $store {
            /// Sets `set` on the tasks `ids`, in one transaction.
            /// Cancels the unfinished tasks whose `column` is `owner` and has
            /// routing withdraw those it holds. Withdrawn even when a task
            /// looks unrouted: the feed may be handing it over right now.
            async fn withdraw_tasks_of(&self, column: &str, owner: Uuid) -> StoreResult<u64> {
                let mut tx = self.write_tx().await?;
                let closed = tracedesk_store::withdrawal::CASE_CLOSED;
                let n = withdraw_tasks_in(&mut tx, closed, column, &[owner]).await?;
                tx.commit().await.map_err(err)?;
                Ok(n)
            }

            async fn set_routed(&self, ids: &[Uuid], set: &str) -> StoreResult<()> {
                if ids.is_empty() {
                    return Ok(());
                }
                let mut tx = self.write_tx().await?;
                for chunk in ids.chunks(CHUNK) {
                    let mut q = QueryBuilder::<$db>::new(format!("UPDATE tasks SET {set} WHERE id IN ("));
                    let mut list = q.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    q.push(")");
                    q.build().execute(&mut *tx).await.map_err(err)?;
                }
                tx.commit().await.map_err(err)
            }
        }
    };
}
