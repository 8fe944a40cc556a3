//! The `MessageStore` statements, written once for both SQL backends.

/// Expands `impl MessageStore` for a backend that provides `read_pool()`,
/// `write_tx()` (and `CHUNK`, `err`, `SKIP_LOCKED` in scope: the row-lock
/// clause that lets concurrent claimers pass each other's rows, empty where
/// one connection writes).
#[macro_export]
macro_rules! message_store_impl {
    ($store:ty, $db:ty) => {
        /// `CASE status … END`: a status's rank (`messages::status::rank`)
        /// in SQL, so a late status never moves a message back.
        fn status_rank_sql() -> String {
            use tracedesk_store::messages::status::*;
            let mut sql = String::from("CASE status");
            for s in [QUEUED, SENDING, SENT, DELIVERED, UNDELIVERED, FAILED, REFUSED, EXPIRED] {
                sql.push_str(&format!(" WHEN '{s}' THEN {}", rank(s)));
            }
            sql.push_str(" ELSE 0 END");
            sql
        }

        /// Writes messages in the caller's transaction (the outbox written
        /// with the action that caused it); an inbound one whose provider id
        /// is stored is skipped. Returns the ids written. How is the
        /// backend's (`bulk_insert_messages`): a backend with array
        /// parameters binds a column each, others use `insert_messages_values`.
        async fn insert_messages_in(
            tx: &mut Transaction<'_, $db>,
            rows: &[MessageRow],
        ) -> StoreResult<Vec<Uuid>> {
            bulk_insert_messages(tx, rows).await
        }

        /// Multi-row `VALUES`, a parameter per field.
        #[allow(dead_code)]
        async fn insert_messages_values(
            tx: &mut Transaction<'_, $db>,
            rows: &[MessageRow],
        ) -> StoreResult<Vec<Uuid>> {
            let mut ids = Vec::with_capacity(rows.len());
                for chunk in rows.chunks(CHUNK) {
                    let mut q = QueryBuilder::<$db>::new(format!(
                        "INSERT INTO messages ({MESSAGE_COLUMNS}) "
                    ));
                    q.push_values(chunk, |mut b, m| {
                        b.push_bind(m.id)
                            .push_bind(&m.direction)
                            .push_bind(&m.channel)
                            .push_bind(&m.status)
                            .push_bind(m.priority)
                            .push_bind(m.person_id)
                            .push_bind(m.task_id)
                            .push_bind(&m.jurisdiction)
                            .push_bind(&m.template)
                            .push_bind(&m.sender)
                            .push_bind(&m.address_bidx)
                            .push_bind(i64::from(m.key_version))
                            .push_bind(&m.address)
                            .push_bind(&m.body)
                            .push_bind(m.segments)
                            .push_bind(&m.provider_sid)
                            .push_bind(&m.error_code)
                            .push_bind(m.attempts)
                            .push_bind(m.next_attempt_at)
                            .push_bind(&m.claimed_by)
                            .push_bind(m.claim_until)
                            .push_bind(m.created_at)
                            .push_bind(m.updated_at)
                            .push_bind(m.expires_at);
                    });
                    q.push(" ON CONFLICT (provider_sid) DO NOTHING RETURNING id");
                    for r in q.build().fetch_all(&mut **tx).await.map_err(err)? {
                        ids.push(r.try_get::<Uuid, _>(0).map_err(err)?);
                    }
                }
            Ok(ids)
        }

        /// The statement recording what sending claimed message `id` came
        /// to, if `node` still holds the claim.
        fn finish_query<'a>(
            id: Uuid,
            node: &'a str,
            outcome: &'a SendOutcome,
            at: DateTime<Utc>,
        ) -> QueryBuilder<'a, $db> {
            use tracedesk_store::messages::status::{FAILED, QUEUED, REFUSED, SENDING, SENT};
            let mut q = QueryBuilder::<$db>::new("UPDATE messages SET claimed_by = NULL, updated_at = ");
            q.push_bind(at);
            match outcome {
                SendOutcome::Sent { provider_sid } => {
                    // A status callback may have come first and moved it
                    // further; the id is kept either way.
                    q.push(", claim_until = NULL, provider_sid = ")
                        .push_bind(provider_sid.as_str())
                        .push(format!(
                        ", error_code = NULL, status = CASE WHEN status = '{SENDING}' THEN '{SENT}' ELSE status END"
                        ));
                }
                SendOutcome::Retry { at: next, error } => {
                    q.push(format!(", claim_until = NULL, status = '{QUEUED}', next_attempt_at = "))
                        .push_bind(*next)
                        .push(", error_code = ")
                        .push_bind(error.as_str());
                }
                SendOutcome::Failed { error } => {
                    q.push(format!(", claim_until = NULL, status = '{FAILED}', error_code = "))
                        .push_bind(error.as_str());
                }
                SendOutcome::Refused => {
                    q.push(format!(", claim_until = NULL, status = '{REFUSED}', error_code = '21610'"));
                }
                SendOutcome::Uncertain { at: next, error } => {
                    q.push(", claim_until = ")
                        .push_bind(*next)
                        .push(", error_code = ")
                        .push_bind(error.as_str());
                }
            }
            q.push(" WHERE id = ").push_bind(id).push(" AND claimed_by = ").push_bind(node);
            if !matches!(outcome, SendOutcome::Sent { .. }) {
                q.push(format!(" AND status = '{SENDING}'"));
            }
            q
        }

        #[async_trait::async_trait]
        impl tracedesk_store::MessageStore for $store {
            async fn insert_messages(&self, rows: &[MessageRow]) -> StoreResult<Vec<Uuid>> {
                let mut tx = self.write_tx().await?;
                let ids = insert_messages_in(&mut tx, rows).await?;
                tx.commit().await.map_err(err)?;
                Ok(ids)
            }

            async fn claim_messages(
                &self,
                node: &str,
                now: DateTime<Utc>,
                until: DateTime<Utc>,
                limit: u32,
            ) -> StoreResult<Vec<Claimed>> {
                use tracedesk_store::messages::status::{EXPIRED, QUEUED, SENDING};
                let mut tx = self.write_tx().await?;
                // Claims that outlived their lease first: their fate is open.
                let mut q = QueryBuilder::<$db>::new(format!(
                    "SELECT id FROM messages WHERE status = '{SENDING}' AND claim_until < "
                ));
                q.push_bind(now)
                    .push(" ORDER BY claim_until LIMIT ")
                    .push_bind(i64::from(limit))
                    .push(SKIP_LOCKED);
                let mut uncertain = HashSet::new();
                for r in q.build().fetch_all(&mut *tx).await.map_err(err)? {
                    uncertain.insert(r.try_get::<Uuid, _>(0).map_err(err)?);
                }
                let mut ids: Vec<Uuid> = uncertain.iter().copied().collect();
                let room = (limit as usize).saturating_sub(ids.len());
                if room > 0 {
                    let mut q = QueryBuilder::<$db>::new(format!(
                        "SELECT id FROM messages WHERE status = '{QUEUED}' AND next_attempt_at <= "
                    ));
                    q.push_bind(now)
                        .push(" ORDER BY priority, next_attempt_at LIMIT ")
                        .push_bind(room as i64)
                        .push(SKIP_LOCKED);
                    for r in q.build().fetch_all(&mut *tx).await.map_err(err)? {
                        ids.push(r.try_get::<Uuid, _>(0).map_err(err)?);
                    }
                }
                if ids.is_empty() {
                    tx.commit().await.map_err(err)?;
                    return Ok(Vec::new());
                }
                // Past their validity: expired, never sent (an uncertain one
                // may have left, and keeps its claim to be asked about).
                let mut q = QueryBuilder::<$db>::new(format!(
                    "UPDATE messages SET status = '{EXPIRED}', updated_at = "
                ));
                q.push_bind(now).push(format!(" WHERE status = '{QUEUED}' AND expires_at <= "));
                q.push_bind(now).push(" AND id IN (");
                push_ids(&mut q, &ids);
                q.push(")");
                q.build().execute(&mut *tx).await.map_err(err)?;
                let mut q = QueryBuilder::<$db>::new(format!(
                    "UPDATE messages SET status = '{SENDING}', attempts = attempts + 1, claimed_by = "
                ));
                q.push_bind(node)
                    .push(", claim_until = ")
                    .push_bind(until)
                    .push(", updated_at = ")
                    .push_bind(now)
                    .push(format!(" WHERE status IN ('{QUEUED}', '{SENDING}') AND id IN ("));
                push_ids(&mut q, &ids);
                q.push(format!(") RETURNING {MESSAGE_COLUMNS}"));
                let mut out = Vec::with_capacity(ids.len());
                for r in q.build().fetch_all(&mut *tx).await.map_err(err)? {
                    let m = message(&r)?;
                    out.push(Claimed {
                        uncertain: uncertain.contains(&m.id),
                        message: m,
                    });
                }
                tx.commit().await.map_err(err)?;
                out.sort_by(|a, b| {
                    (a.message.priority, a.message.next_attempt_at)
                        .cmp(&(b.message.priority, b.message.next_attempt_at))
                });
                Ok(out)
            }

            async fn finish_message(
                &self,
                id: Uuid,
                node: &str,
                outcome: &SendOutcome,
                at: DateTime<Utc>,
            ) -> StoreResult<bool> {
                let done = self
                    .finish_messages(node, &[(id, outcome.clone())], at)
                    .await?;
                Ok(done == 1)
            }

            async fn finish_messages(
                &self,
                node: &str,
                outcomes: &[(Uuid, SendOutcome)],
                at: DateTime<Utc>,
            ) -> StoreResult<u64> {
                if outcomes.is_empty() {
                    return Ok(0);
                }
                // One transaction for a group of a dispatch pass's outcomes;
                // the sent ones (nearly all) in one statement.
                let sent: Vec<(Uuid, &str)> = outcomes
                    .iter()
                    .filter_map(|(id, o)| match o {
                        SendOutcome::Sent { provider_sid } => Some((*id, provider_sid.as_str())),
                        _ => None,
                    })
                    .collect();
                let mut tx = self.write_tx().await?;
                let mut done = 0;
                for chunk in sent.chunks(CHUNK / 4) {
                    use tracedesk_store::messages::status::{SENDING, SENT};
                    // As `finish_query` does for one: a status callback may
                    // have come first and moved it further.
                    let mut q = QueryBuilder::<$db>::new(
                        "UPDATE messages SET claimed_by = NULL, claim_until = NULL, error_code = NULL, updated_at = ",
                    );
                    q.push_bind(at).push(format!(
                        ", status = CASE WHEN status = '{SENDING}' THEN '{SENT}' ELSE status END, provider_sid = CASE id"
                    ));
                    for (id, sid) in chunk {
                        q.push(" WHEN ").push_bind(*id).push(" THEN ").push_bind(*sid);
                    }
                    q.push(" END WHERE claimed_by = ").push_bind(node).push(" AND id IN (");
                    let mut sep = q.separated(", ");
                    for (id, _) in chunk {
                        sep.push_bind(*id);
                    }
                    q.push(")");
                    done += q.build().execute(&mut *tx).await.map_err(err)?.rows_affected();
                }
                for (id, outcome) in outcomes {
                    if matches!(outcome, SendOutcome::Sent { .. }) {
                        continue;
                    }
                    let mut q = finish_query(*id, node, outcome, at);
                    done += q.build().execute(&mut *tx).await.map_err(err)?.rows_affected();
                }
                tx.commit().await.map_err(err)?;
                Ok(done)
            }

            async fn message_status(
                &self,
                provider_sid: &str,
                status: &str,
                error_code: Option<&str>,
                at: DateTime<Utc>,
            ) -> StoreResult<bool> {
                use tracedesk_store::messages::status::rank;
                let mut q = QueryBuilder::<$db>::new("UPDATE messages SET status = ");
                q.push_bind(status)
                    .push(", error_code = COALESCE(")
                    .push_bind(error_code)
                    .push(", error_code), updated_at = ")
                    .push_bind(at)
                    .push(" WHERE direction = 'out' AND provider_sid = ")
                    .push_bind(provider_sid)
                    .push(format!(" AND {} < ", status_rank_sql()))
                    .push_bind(i32::from(rank(status)));
                let mut tx = self.write_tx().await?;
                let n = q.build().execute(&mut *tx).await.map_err(err)?.rows_affected();
                if n == 0 {
                    let mut q = QueryBuilder::<$db>::new("SELECT 1 FROM messages WHERE provider_sid = ");
                    q.push_bind(provider_sid);
                    if q.build().fetch_optional(&mut *tx).await.map_err(err)?.is_none() {
                        return Err(StoreError::NotFound);
                    }
                }
                tx.commit().await.map_err(err)?;
                Ok(n == 1)
            }

            async fn get_message(&self, id: Uuid) -> StoreResult<Option<MessageRow>> {
                let mut q = select(format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = "));
                q.push_bind(id);
                row_of(self, q, message).await
            }

            async fn person_messages(
                &self,
                person: Uuid,
                before: Option<Uuid>,
                limit: u32,
            ) -> StoreResult<Vec<MessageRow>> {
                let mut q = select(format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages WHERE person_id = "
                ));
                q.push_bind(person);
                if let Some(b) = before {
                    q.push(" AND id < ").push_bind(b);
                }
                q.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(limit));
                rows_of(self, q, message).await
            }

            async fn address_messages(
                &self,
                address_bidx: &[u8],
                limit: u32,
            ) -> StoreResult<Vec<MessageRow>> {
                let mut q = select(format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages WHERE address_bidx = "
                ));
                q.push_bind(address_bidx)
                    .push(" ORDER BY id DESC LIMIT ")
                    .push_bind(i64::from(limit));
                rows_of(self, q, message).await
            }

            async fn message_counts(&self) -> StoreResult<Vec<(String, i64)>> {
                let q = select(
                    "SELECT status, COUNT(*) FROM messages GROUP BY status ORDER BY status",
                );
                rows_of(self, q, |r| {
                    Ok((
                        r.try_get::<String, _>(0).map_err(err)?,
                        r.try_get::<i64, _>(1).map_err(err)?,
                    ))
                })
                .await
            }

            async fn set_consent(&self, row: &ConsentRow) -> StoreResult<()> {
                let mut q = QueryBuilder::<$db>::new(format!("INSERT INTO consents ({CONSENT_COLUMNS}) VALUES ("));
                q.push_bind(&row.address_bidx)
                    .push(", ")
                    .push_bind(row.opted_out)
                    .push(", ")
                    .push_bind(&row.keyword)
                    .push(", ")
                    .push_bind(row.updated_at)
                    .push(
                        ") ON CONFLICT (address_bidx) DO UPDATE SET opted_out = excluded.opted_out, \
                         keyword = excluded.keyword, updated_at = excluded.updated_at",
                    );
                let mut tx = self.write_tx().await?;
                q.build().execute(&mut *tx).await.map_err(err)?;
                tx.commit().await.map_err(err)
            }

            async fn unmatched_inbound(
                &self,
                before: Option<Uuid>,
                limit: u32,
            ) -> StoreResult<Vec<MessageRow>> {
                // Two index walks (the unmatched texts; the open triage
                // tasks' texts), merged newest first.
                let columns = MESSAGE_COLUMNS
                    .split(", ")
                    .map(|c| format!("m.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let mut q = select(format!(
                    "SELECT {MESSAGE_COLUMNS} FROM (SELECT {MESSAGE_COLUMNS} FROM messages \
                     WHERE direction = 'in' AND person_id IS NULL"
                ));
                if let Some(b) = before {
                    q.push(" AND id < ").push_bind(b);
                }
                q.push(format!(
                    " UNION ALL SELECT {columns} FROM tasks t JOIN messages m ON m.task_id = t.id \
                     WHERE t.kind = 'triage' AND t.status IN ('pending', {}) AND m.direction = 'in'",
                    tracedesk_store::ACTIVE_TASK_STATUSES
                ));
                if let Some(b) = before {
                    q.push(" AND m.id < ").push_bind(b);
                }
                q.push(") awaiting ORDER BY id DESC LIMIT ")
                    .push_bind(i64::from(limit));
                rows_of(self, q, message).await
            }

            async fn insert_inbound(
                &self,
                rows: &[MessageRow],
                senders: &[tracedesk_store::UnknownSender],
            ) -> StoreResult<Vec<Uuid>> {
                let mut tx = self.write_tx().await?;
                let persons: Vec<&PersonRow> = senders.iter().map(|s| &s.person).collect();
                let tasks: Vec<TaskRow> = senders.iter().map(|s| s.task.clone()).collect();
                insert_persons(&mut tx, &persons).await?;
                insert_tasks(&mut tx, &tasks).await?;
                let ids = insert_messages_in(&mut tx, rows).await?;
                let written: std::collections::HashSet<Uuid> = ids.iter().copied().collect();
                let named: std::collections::HashSet<Uuid> = rows
                    .iter()
                    .filter(|m| written.contains(&m.id))
                    .filter_map(|m| m.person_id)
                    .collect();
                // A sender none of whose messages was new (a delivery seen
                // before) is taken back out.
                let unused: Vec<&tracedesk_store::UnknownSender> = senders
                    .iter()
                    .filter(|s| !named.contains(&s.person.id))
                    .collect();
                for (table, ids) in [
                    ("tasks", unused.iter().map(|s| s.task.id).collect::<Vec<_>>()),
                    ("persons", unused.iter().map(|s| s.person.id).collect()),
                ] {
                    for chunk in ids.chunks(CHUNK) {
                        let mut q =
                            QueryBuilder::<$db>::new(format!("DELETE FROM {table} WHERE id IN ("));
                        push_ids(&mut q, chunk);
                        q.push(")");
                        q.build().execute(&mut *tx).await.map_err(err)?;
                    }
                }
                tx.commit().await.map_err(err)?;
                Ok(ids)
            }

            async fn retask_inbound(&self, id: Uuid, task: &TaskRow) -> StoreResult<()> {
                let mut tx = self.write_tx().await?;
                insert_tasks(&mut tx, std::slice::from_ref(task)).await?;
                let mut q = QueryBuilder::<$db>::new("UPDATE messages SET task_id = ");
                q.push_bind(task.id)
                    .push(" WHERE id = ")
                    .push_bind(id)
                    .push(" AND direction = 'in'");
                q.build().execute(&mut *tx).await.map_err(err)?;
                tx.commit().await.map_err(err)?;
                Ok(())
            }

            async fn identify_sender(
                &self,
                sender: Uuid,
                callback: &TaskRow,
                at: DateTime<Utc>,
            ) -> StoreResult<bool> {
                let mut tx = self.write_tx().await?;
                // The stand-in forgets the number, once: a second caller
                // finds it purged and writes nothing.
                let mut q = QueryBuilder::<$db>::new(
                    "UPDATE persons SET phone = NULL, language = NULL, purged_at = ",
                );
                q.push_bind(at)
                    .push(", updated_at = ")
                    .push_bind(at)
                    .push(" WHERE id = ")
                    .push_bind(sender)
                    .push(" AND purged_at IS NULL AND phone_bidx IS NULL");
                if q.build().execute(&mut *tx).await.map_err(err)?.rows_affected() != 1 {
                    return Ok(false);
                }
                insert_tasks(&mut tx, std::slice::from_ref(callback)).await?;
                let mut q = QueryBuilder::<$db>::new("UPDATE messages SET person_id = ");
                q.push_bind(callback.person_id)
                    .push(", jurisdiction = ")
                    .push_bind(&callback.jurisdiction)
                    .push(", task_id = ")
                    .push_bind(callback.id)
                    .push(", updated_at = ")
                    .push_bind(at)
                    .push(" WHERE person_id = ")
                    .push_bind(sender);
                q.build().execute(&mut *tx).await.map_err(err)?;
                let identified = tracedesk_store::withdrawal::IDENTIFIED;
                withdraw_tasks_in(&mut tx, identified, "person_id", &[sender]).await?;
                tx.commit().await.map_err(err)?;
                Ok(true)
            }

            async fn opted_out(&self, address_bidxs: &[Vec<u8>]) -> StoreResult<Vec<Vec<u8>>> {
                let mut out = Vec::new();
                for chunk in address_bidxs.chunks(CHUNK) {
                    let mut q = select("SELECT address_bidx FROM consents WHERE opted_out = ");
                    q.push_bind(true).push(" AND address_bidx IN (");
                    let mut sep = q.separated(", ");
                    for b in chunk {
                        sep.push_bind(b.clone());
                    }
                    q.push(")");
                    out.extend(
                        rows_of(self, q, |r| r.try_get::<Vec<u8>, _>(0).map_err(err)).await?,
                    );
                }
                Ok(out)
            }

            async fn task_messages(&self, task: Uuid, limit: u32) -> StoreResult<Vec<MessageRow>> {
                let mut q = select(format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE task_id = "));
                q.push_bind(task)
                    .push(" ORDER BY id DESC LIMIT ")
                    .push_bind(i64::from(limit));
                rows_of(self, q, message).await
            }

            async fn attach_inbound(
                &self,
                id: Uuid,
                task: &TaskRow,
                at: DateTime<Utc>,
            ) -> StoreResult<bool> {
                let mut tx = self.write_tx().await?;
                insert_tasks(&mut tx, std::slice::from_ref(task)).await?;
                let mut q = QueryBuilder::<$db>::new("UPDATE messages SET person_id = ");
                q.push_bind(task.person_id)
                    .push(", jurisdiction = ")
                    .push_bind(&task.jurisdiction)
                    .push(", task_id = ")
                    .push_bind(task.id)
                    .push(", updated_at = ")
                    .push_bind(at)
                    .push(" WHERE id = ")
                    .push_bind(id)
                    .push(" AND direction = 'in' AND person_id IS NULL");
                let n = q.build().execute(&mut *tx).await.map_err(err)?.rows_affected();
                if n != 1 {
                    // Dropped uncommitted: no task for a text already taken.
                    return Ok(false);
                }
                tx.commit().await.map_err(err)?;
                Ok(true)
            }

            async fn list_templates(&self) -> StoreResult<Vec<TemplateRow>> {
                let q = select(format!(
                    "SELECT {TEMPLATE_COLUMNS} FROM message_templates ORDER BY name, channel, language"
                ));
                rows_of(self, q, template).await
            }

            async fn put_template(&self, row: &TemplateRow) -> StoreResult<()> {
                let mut q = QueryBuilder::<$db>::new(format!(
                    "INSERT INTO message_templates ({TEMPLATE_COLUMNS}) VALUES ("
                ));
                let mut v = q.separated(", ");
                v.push_bind(&row.name)
                    .push_bind(&row.channel)
                    .push_bind(&row.language)
                    .push_bind(&row.body)
                    .push_bind(row.updated_by)
                    .push_bind(row.updated_at);
                q.push(
                    ") ON CONFLICT (name, channel, language) DO UPDATE SET body = excluded.body, \
                     updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                );
                let mut tx = self.write_tx().await?;
                q.build().execute(&mut *tx).await.map_err(err)?;
                tx.commit().await.map_err(err)
            }

            async fn delete_template(
                &self,
                name: &str,
                channel: &str,
                language: &str,
            ) -> StoreResult<bool> {
                let mut q = QueryBuilder::<$db>::new("DELETE FROM message_templates WHERE name = ");
                q.push_bind(name)
                    .push(" AND channel = ")
                    .push_bind(channel)
                    .push(" AND language = ")
                    .push_bind(language);
                let mut tx = self.write_tx().await?;
                let n = q.build().execute(&mut *tx).await.map_err(err)?.rows_affected();
                tx.commit().await.map_err(err)?;
                Ok(n == 1)
            }

            async fn last_known_messages(
                &self,
                address_bidxs: &[Vec<u8>],
            ) -> StoreResult<Vec<MessageRow>> {
                let mut out = Vec::new();
                for chunk in address_bidxs.chunks(CHUNK) {
                    let mut q = select(format!(
                        "SELECT {MESSAGE_COLUMNS} FROM (SELECT {MESSAGE_COLUMNS}, ROW_NUMBER() OVER \
                         (PARTITION BY address_bidx ORDER BY id DESC) AS rn FROM messages \
                         WHERE (direction = 'out' OR person_id IS NOT NULL) \
                         AND (template IS NULL OR template <> 'bridge') AND address_bidx IN ("
                    ));
                    let mut sep = q.separated(", ");
                    for b in chunk {
                        sep.push_bind(b.clone());
                    }
                    q.push(")) latest WHERE rn = 1");
                    out.extend(rows_of(self, q, message).await?);
                }
                Ok(out)
            }

            async fn phone_holders(
                &self,
                phone_bidxs: &[Vec<u8>],
            ) -> StoreResult<Vec<(Vec<u8>, Uuid, String)>> {
                let mut out = Vec::new();
                for chunk in phone_bidxs.chunks(CHUNK / 2) {
                    let mut q = select(
                        "SELECT phone_bidx AS b, COALESCE(merged_into, id) AS id, jurisdiction FROM persons WHERE phone_bidx IN (",
                    );
                    let mut sep = q.separated(", ");
                    for b in chunk {
                        sep.push_bind(b.clone());
                    }
                    q.push(
                        ") UNION ALL SELECT pp.bidx AS b, COALESCE(p.merged_into, p.id), p.jurisdiction FROM person_points pp \
                         JOIN persons p ON p.id = pp.person_id WHERE pp.kind = 'phone_bidx' AND pp.bidx IN (",
                    );
                    let mut sep = q.separated(", ");
                    for b in chunk {
                        sep.push_bind(b.clone());
                    }
                    q.push(")");
                    out.extend(
                        rows_of(self, q, |r| {
                            Ok((
                                r.try_get::<Vec<u8>, _>(0).map_err(err)?,
                                r.try_get::<Uuid, _>(1).map_err(err)?,
                                r.try_get::<String, _>(2).map_err(err)?,
                            ))
                        })
                        .await?,
                    );
                }
                Ok(out)
            }

            async fn consent(&self, address_bidx: &[u8]) -> StoreResult<Option<ConsentRow>> {
                let mut q = select(format!(
                    "SELECT {CONSENT_COLUMNS} FROM consents WHERE address_bidx = "
                ));
                q.push_bind(address_bidx);
                row_of(self, q, consent).await
            }
        }
    };
}
