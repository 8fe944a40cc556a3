//! The `IdentityStore` impl, written once for both SQL backends.

/// Expands `impl IdentityStore` for a backend. The backend provides
/// `write_tx()` (a write transaction) and `read_pool()`, and has `err`,
/// the row decoders and `sql_common!` in scope.
#[macro_export]
macro_rules! identity_store_impl {
    ($store:ty, $db:ty) => {
        fn user_values<'a>(q: &mut QueryBuilder<'a, $db>, u: &'a UserRow) {
            q.push_values([u], |mut b, u| {
                b.push_bind(u.id)
                    .push_bind(&u.username)
                    .push_bind(&u.username_bidx)
                    .push_bind(&u.display_name)
                    .push_bind(&u.role)
                    .push_bind(&u.jurisdiction)
                    .push_bind(&u.password_hash)
                    .push_bind(u.must_change_password)
                    .push_bind(u.mfa_required)
                    .push_bind(&u.totp_secret)
                    .push_bind(u.totp_confirmed)
                    .push_bind(u.totp_last_step)
                    .push_bind(u.failed_logins)
                    .push_bind(u.last_failed_at)
                    .push_bind(u.locked_at)
                    .push_bind(u.disabled_at)
                    .push_bind(i64::from(u.key_version))
                    .push_bind(u.created_at)
                    .push_bind(u.updated_at)
                    .push_bind(u.phi_granted);
            });
        }

        /// Runs a statement in its own write transaction; returns rows affected.
        async fn write_one(store: &$store, mut q: QueryBuilder<'_, $db>) -> StoreResult<u64> {
            let mut tx = store.write_tx().await?;
            let done = q.build().execute(&mut *tx).await.map_err(err)?;
            tx.commit().await.map_err(err)?;
            Ok(done.rows_affected())
        }

        /// Runs `change` then reads the counter `count` in one write
        /// transaction, so concurrent failures each see their own count.
        async fn change_then_count(
            store: &$store,
            mut change: QueryBuilder<'_, $db>,
            mut count: QueryBuilder<'_, $db>,
        ) -> StoreResult<i32> {
            let mut tx = store.write_tx().await?;
            change.build().execute(&mut *tx).await.map_err(err)?;
            let n: i32 = count
                .build()
                .fetch_one(&mut *tx)
                .await
                .map_err(err)?
                .try_get(0)
                .map_err(err)?;
            tx.commit().await.map_err(err)?;
            Ok(n)
        }

        fn select<'a>(sql: impl Into<String>) -> QueryBuilder<'a, $db> {
            QueryBuilder::<$db>::new(sql.into())
        }

        async fn ids_of(store: &$store, q: QueryBuilder<'_, $db>) -> StoreResult<Vec<Uuid>> {
            rows_of(store, q, |r| r.try_get::<Uuid, _>(0).map_err(err)).await
        }

        /// Every row of a query, decoded.
        async fn rows_of<T>(
            store: &$store,
            q: QueryBuilder<'_, $db>,
            decode: impl Fn(&<$db as sqlx::Database>::Row) -> StoreResult<T>,
        ) -> StoreResult<Vec<T>> {
            fetch_rows(store, q, decode, true).await
        }

        /// Every row of a query, decoded; `cached`: a prepared statement kept
        /// for reuse, else one planned for these values.
        async fn fetch_rows<T>(
            store: &$store,
            mut q: QueryBuilder<'_, $db>,
            decode: impl Fn(&<$db as sqlx::Database>::Row) -> StoreResult<T>,
            cached: bool,
        ) -> StoreResult<Vec<T>> {
            q.build()
                .persistent(cached)
                .fetch_all(store.read_pool())
                .await
                .map_err(err)?
                .iter()
                .map(decode)
                .collect()
        }

        /// Every row of a list page, planned for its own values each time
        /// where the database would otherwise reuse a generic plan
        /// (`PLAN_EACH_LIST_READ`): a cached statement planned for "some
        /// jurisdiction, some cursor" walks the primary key from the cursor
        /// and filters, which for a sparse jurisdiction reads in proportion to
        /// the table (PostgreSQL: 9.5 ms against 0.2 ms at 300,000 cases).
        async fn list_rows_of<T>(
            store: &$store,
            q: QueryBuilder<'_, $db>,
            decode: impl Fn(&<$db as sqlx::Database>::Row) -> StoreResult<T>,
        ) -> StoreResult<Vec<T>> {
            fetch_rows(store, q, decode, !PLAN_EACH_LIST_READ).await
        }

        /// The first row of a query, if any, decoded.
        async fn row_of<T>(
            store: &$store,
            mut q: QueryBuilder<'_, $db>,
            decode: impl Fn(&<$db as sqlx::Database>::Row) -> StoreResult<T>,
        ) -> StoreResult<Option<T>> {
            q.build()
                .fetch_optional(store.read_pool())
                .await
                .map_err(err)?
                .map(|r| decode(&r))
                .transpose()
        }

        #[async_trait::async_trait]
        impl tracedesk_store::IdentityStore for $store {
            async fn insert_user(&self, u: &UserRow) -> StoreResult<()> {
                let mut q = select(format!("INSERT INTO users ({USER_COLUMNS}) "));
                user_values(&mut q, u);
                write_one(self, q).await.map(|_| ())
            }

            async fn update_user(&self, u: &UserRow) -> StoreResult<()> {
                let mut q = select("UPDATE users SET display_name = ");
                q.push_bind(&u.display_name)
                    .push(", role = ")
                    .push_bind(&u.role)
                    .push(", jurisdiction = ")
                    .push_bind(&u.jurisdiction)
                    .push(", password_hash = ")
                    .push_bind(&u.password_hash)
                    .push(", must_change_password = ")
                    .push_bind(u.must_change_password)
                    .push(", mfa_required = ")
                    .push_bind(u.mfa_required)
                    .push(", totp_secret = ")
                    .push_bind(&u.totp_secret)
                    .push(", totp_confirmed = ")
                    .push_bind(u.totp_confirmed)
                    .push(", totp_last_step = ")
                    .push_bind(u.totp_last_step)
                    .push(", failed_logins = ")
                    .push_bind(u.failed_logins)
                    .push(", last_failed_at = ")
                    .push_bind(u.last_failed_at)
                    .push(", locked_at = ")
                    .push_bind(u.locked_at)
                    .push(", disabled_at = ")
                    .push_bind(u.disabled_at)
                    .push(", key_version = ")
                    .push_bind(i64::from(u.key_version))
                    .push(", updated_at = ")
                    .push_bind(u.updated_at)
                    .push(", phi_granted = ")
                    .push_bind(u.phi_granted)
                    .push(" WHERE id = ")
                    .push_bind(u.id);
                match write_one(self, q).await? {
                    0 => Err(StoreError::NotFound),
                    _ => Ok(()),
                }
            }

            async fn get_user(&self, id: Uuid) -> StoreResult<Option<UserRow>> {
                let mut q = select(format!("SELECT {USER_COLUMNS} FROM users WHERE id = "));
                q.push_bind(id);
                row_of(self, q, user).await
            }

            async fn user_by_username(&self, bidx: &[u8]) -> StoreResult<Option<UserRow>> {
                let mut q =
                    select(format!("SELECT {USER_COLUMNS} FROM users WHERE username_bidx = "));
                q.push_bind(bidx);
                row_of(self, q, user).await
            }

            async fn list_users(&self) -> StoreResult<Vec<UserRow>> {
                rows_of(self, select(format!("SELECT {USER_COLUMNS} FROM users ORDER BY id")), user).await
            }

            async fn record_login_failure(
                &self,
                id: Uuid,
                at: DateTime<Utc>,
                lock_at: i32,
            ) -> StoreResult<i32> {
                let mut q = select(
                    "UPDATE users SET failed_logins = failed_logins + 1, last_failed_at = ",
                );
                q.push_bind(at)
                    .push(", locked_at = CASE WHEN failed_logins + 1 >= ")
                    .push_bind(lock_at)
                    .push(" THEN COALESCE(locked_at, ")
                    .push_bind(at)
                    .push(") ELSE locked_at END WHERE id = ")
                    .push_bind(id);
                let mut count = select("SELECT failed_logins FROM users WHERE id = ");
                count.push_bind(id);
                change_then_count(self, q, count).await
            }

            async fn clear_login_failures(&self, id: Uuid) -> StoreResult<()> {
                let mut q = select(
                    "UPDATE users SET failed_logins = 0, last_failed_at = NULL WHERE id = ",
                );
                q.push_bind(id);
                write_one(self, q).await.map(|_| ())
            }

            async fn client_failures(
                &self,
                client: &str,
            ) -> StoreResult<Option<(i32, DateTime<Utc>)>> {
                let mut q = select(
                    "SELECT failures, last_failed_at FROM login_throttle WHERE client = ",
                );
                q.push_bind(client);
                row_of(self, q, |r| Ok((r.try_get(0).map_err(err)?, r.try_get(1).map_err(err)?))).await
            }

            async fn record_client_failure(
                &self,
                client: &str,
                at: DateTime<Utc>,
            ) -> StoreResult<i32> {
                let mut q =
                    select("INSERT INTO login_throttle (client, failures, last_failed_at) VALUES (");
                q.push_bind(client)
                    .push(", 1, ")
                    .push_bind(at)
                    .push(") ON CONFLICT (client) DO UPDATE SET failures = login_throttle.failures + 1, last_failed_at = excluded.last_failed_at");
                let mut count = select("SELECT failures FROM login_throttle WHERE client = ");
                count.push_bind(client);
                change_then_count(self, q, count).await
            }

            async fn clear_client_failures(&self, client: &str) -> StoreResult<()> {
                let mut q = select("DELETE FROM login_throttle WHERE client = ");
                q.push_bind(client);
                write_one(self, q).await.map(|_| ())
            }

            async fn prune_client_failures(&self, before: DateTime<Utc>) -> StoreResult<u64> {
                let mut q = select("DELETE FROM login_throttle WHERE last_failed_at < ");
                q.push_bind(before);
                write_one(self, q).await
            }

            async fn upsert_jurisdiction(&self, j: &JurisdictionRow) -> StoreResult<()> {
                let mut q = select("INSERT INTO jurisdictions (code, name, parent) ");
                q.push_values([j], |mut b, j| {
                    b.push_bind(&j.code).push_bind(&j.name).push_bind(&j.parent);
                });
                q.push(" ON CONFLICT (code) DO UPDATE SET name = excluded.name, parent = excluded.parent");
                write_one(self, q).await.map(|_| ())
            }

            async fn list_jurisdictions(&self) -> StoreResult<Vec<JurisdictionRow>> {
                rows_of(self, select("SELECT code, name, parent FROM jurisdictions ORDER BY code"), |r| {
                        Ok(JurisdictionRow {
                            code: r.try_get("code").map_err(err)?,
                            name: r.try_get("name").map_err(err)?,
                            parent: r.try_get("parent").map_err(err)?,
                        })
                    }).await
            }

            async fn insert_team(&self, t: &TeamRow) -> StoreResult<()> {
                let mut q = select("INSERT INTO teams (id, name, jurisdiction, created_at) ");
                q.push_values([t], |mut b, t| {
                    b.push_bind(t.id)
                        .push_bind(&t.name)
                        .push_bind(&t.jurisdiction)
                        .push_bind(t.created_at);
                });
                write_one(self, q).await.map(|_| ())
            }

            async fn list_teams(&self) -> StoreResult<Vec<TeamRow>> {
                rows_of(self, select("SELECT id, name, jurisdiction, created_at FROM teams ORDER BY name"), |r| {
                        Ok(TeamRow {
                            id: r.try_get("id").map_err(err)?,
                            name: r.try_get("name").map_err(err)?,
                            jurisdiction: r.try_get("jurisdiction").map_err(err)?,
                            created_at: r.try_get("created_at").map_err(err)?,
                        })
                    }).await
            }

            async fn set_team_member(&self, team: Uuid, user: Uuid, member: bool) -> StoreResult<()> {
                let mut q = if member {
                    let mut q = select("INSERT INTO team_members (team_id, user_id) VALUES (");
                    q.push_bind(team)
                        .push(", ")
                        .push_bind(user)
                        .push(") ON CONFLICT DO NOTHING");
                    q
                } else {
                    let mut q = select("DELETE FROM team_members WHERE team_id = ");
                    q.push_bind(team).push(" AND user_id = ").push_bind(user);
                    q
                };
                let mut tx = self.write_tx().await?;
                q.build().execute(&mut *tx).await.map_err(err)?;
                tx.commit().await.map_err(err)
            }

            async fn team_memberships(&self) -> StoreResult<Vec<(Uuid, Uuid)>> {
                rows_of(self, select("SELECT team_id, user_id FROM team_members ORDER BY team_id, user_id"), |r| Ok((r.try_get(0).map_err(err)?, r.try_get(1).map_err(err)?))).await
            }

            async fn teammates(&self, user: Uuid) -> StoreResult<Vec<Uuid>> {
                let mut q = select(
                    "SELECT DISTINCT m.user_id FROM team_members m JOIN team_members mine
                     ON mine.team_id = m.team_id WHERE mine.user_id = ",
                );
                q.push_bind(user);
                ids_of(self, q).await
            }

            async fn insert_session(&self, s: &SessionRow) -> StoreResult<()> {
                let mut q = select(format!("INSERT INTO sessions ({SESSION_COLUMNS}) "));
                q.push_values([s], |mut b, s| {
                    b.push_bind(&s.hash)
                        .push_bind(s.user_id)
                        .push_bind(s.created_at)
                        .push_bind(s.last_seen_at)
                        .push_bind(s.mfa_done);
                });
                write_one(self, q).await.map(|_| ())
            }

            async fn session(&self, hash: &[u8]) -> StoreResult<Option<SessionRow>> {
                let mut q = select(format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE hash = "));
                q.push_bind(hash);
                row_of(self, q, session).await
            }

            async fn touch_session(&self, hash: &[u8], at: DateTime<Utc>) -> StoreResult<()> {
                let mut q = select("UPDATE sessions SET last_seen_at = ");
                q.push_bind(at).push(" WHERE hash = ").push_bind(hash);
                write_one(self, q).await.map(|_| ())
            }

            async fn delete_session(&self, hash: &[u8]) -> StoreResult<()> {
                let mut q = select("DELETE FROM sessions WHERE hash = ");
                q.push_bind(hash);
                write_one(self, q).await.map(|_| ())
            }

            async fn delete_user_sessions(&self, user: Uuid) -> StoreResult<u64> {
                let mut q = select("DELETE FROM sessions WHERE user_id = ");
                q.push_bind(user);
                write_one(self, q).await
            }

            async fn insert_break_glass(&self, g: &BreakGlassRow) -> StoreResult<()> {
                let mut q = select(format!("INSERT INTO break_glass ({BREAK_GLASS_COLUMNS}) "));
                q.push_values([g], |mut b, g| {
                    b.push_bind(g.id)
                        .push_bind(g.user_id)
                        .push_bind(g.person_id)
                        .push_bind(g.opened_at)
                        .push_bind(g.expires_at)
                        .push_bind(i64::from(g.key_version))
                        .push_bind(&g.reason);
                });
                write_one(self, q).await.map(|_| ())
            }

            async fn break_glass_by_users(
                &self,
                users: &[Uuid],
                since: DateTime<Utc>,
            ) -> StoreResult<Vec<BreakGlassRow>> {
                let mut q = select(format!(
                    "SELECT {BREAK_GLASS_COLUMNS} FROM break_glass WHERE opened_at >= "
                ));
                q.push_bind(since).push(" AND user_id IN (");
                push_ids(&mut q, users);
                q.push(") ORDER BY opened_at DESC");
                rows_of(self, q, break_glass).await
            }

            async fn access_rows(&self, user: Uuid, person: Uuid) -> StoreResult<AccessRows> {
                // One round trip: every fact tagged by its kind. Each branch
                // selects columns of the same types (text, text, uuid,
                // timestamp) so PostgreSQL can unify them; only the column
                // the kind names is read.
                let mut q = select(
                    "SELECT 'h' AS kind, jurisdiction AS jur, id AS uid, created_at AS until FROM persons WHERE id = ",
                );
                q.push_bind(person)
                    .push(" UNION ALL SELECT 'j', jurisdiction, id, created_at FROM cases WHERE person_id = ")
                    .push_bind(person)
                    .push(" UNION ALL SELECT 'j', jurisdiction, id, created_at FROM exposures WHERE contact_person_id = ")
                    .push_bind(person)
                    .push(" UNION ALL SELECT 'j', jurisdiction, id, created_at FROM tasks WHERE person_id = ")
                    .push_bind(person)
                    .push(format!(
                        " UNION ALL SELECT 'a', jurisdiction, assignee_id, created_at FROM tasks \
                         WHERE assignee_id IS NOT NULL AND status IN ({HOLDING_TASK_STATUSES}) AND person_id = "
                    ))
                    .push_bind(person)
                    // The naming case's tasks in the case's own jurisdiction:
                    // its tracer sees the contacts that case named there.
                    .push(format!(
                        " UNION ALL SELECT 'c', c.jurisdiction, t.assignee_id, t.created_at FROM exposures e \
                         JOIN cases c ON c.id = e.case_id JOIN tasks t ON t.person_id = c.person_id \
                         AND t.jurisdiction = c.jurisdiction \
                         WHERE t.assignee_id IS NOT NULL AND t.status IN ({HOLDING_TASK_STATUSES}) \
                         AND e.contact_person_id = "
                    ))
                    .push_bind(person)
                    .push(" UNION ALL SELECT 'b', 'b', person_id, expires_at FROM break_glass WHERE user_id = ")
                    .push_bind(user)
                    .push(" AND person_id = ")
                    .push_bind(person);
                let facts = rows_of(self, q, |r| {
                    let kind: String = r.try_get("kind").map_err(err)?;
                    let jur = || r.try_get::<Option<String>, _>("jur").map_err(err);
                    Ok(match kind.as_str() {
                        "h" | "j" => (kind, jur()?, None, None),
                        "a" | "c" => (kind, jur()?, r.try_get::<Option<Uuid>, _>("uid").map_err(err)?, None),
                        _ => (kind, None, None, r.try_get::<Option<DateTime<Utc>>, _>("until").map_err(err)?),
                    })
                })
                .await?;
                let mut out = AccessRows::default();
                for (kind, jur, uid, until) in facts {
                    match (kind.as_str(), jur, uid, until) {
                        ("h", Some(j), _, _) => out.home = Some(j),
                        ("j", Some(j), _, _) if !out.jurisdictions.contains(&j) => out.jurisdictions.push(j),
                        ("a", Some(j), Some(u), _) if !out.assignees.contains(&(u, j.clone())) => out.assignees.push((u, j)),
                        ("c", Some(j), Some(u), _) if !out.case_assignees.contains(&(u, j.clone())) => out.case_assignees.push((u, j)),
                        ("b", _, _, Some(t)) => {
                            out.break_glass_until = Some(out.break_glass_until.map_or(t, |b| b.max(t)));
                        }
                        _ => {}
                    }
                }
                Ok(out)
            }

            async fn get_task(&self, id: Uuid) -> StoreResult<Option<TaskRow>> {
                let mut q = select(format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = "));
                q.push_bind(id);
                row_of(self, q, task).await
            }

            async fn assign_task(
                &self,
                id: Uuid,
                assignee: Option<Uuid>,
            ) -> StoreResult<&'static str> {
                let (status, reason) = match assignee {
                    Some(_) => ("assigned", tracedesk_store::withdrawal::BY_HAND),
                    None => ("pending", tracedesk_store::withdrawal::RETURNED),
                };
                let mut q = select("UPDATE tasks SET assignee_id = ");
                q.push_bind(assignee)
                    .push(", status = ")
                    .push_bind(status)
                    // Routing must follow: assign it to the same person, or
                    // let go of it and route it anew. Asked even when the task looks
                    // unrouted: the feed may be handing it over right now,
                    // and its progress must not undo this.
                    .push(", withdrawal = ")
                    .push_bind(reason)
                    .push(" WHERE id = ")
                    .push_bind(id);
                let mut tx = self.write_tx().await?;
                if q.build().execute(&mut *tx).await.map_err(err)?.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                // A case interview assigned by hand makes its investigator.
                hold_investigators_in(&mut tx, &[id], chrono::Utc::now()).await?;
                tx.commit().await.map_err(err)?;
                Ok(status)
            }

            async fn list_tasks(&self, f: &TaskFilter) -> StoreResult<Vec<TaskRow>> {
                list_rows_of(self, tasks_query("", f), task).await
            }
        }
    };
}
