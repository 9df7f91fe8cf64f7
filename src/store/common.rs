//! The [`Store`](super::Store) methods that both backends share, written once. The macro is
//! expanded in `sqlite.rs` and `postgres.rs`; the backend type supplies `pool`, `q` (the
//! [`Queries`](super::queries::Queries)), `begin_write()` and `lock_user()`.

macro_rules! impl_store {
    ($store:ty, $row:ty, $backend:expr) => {
        use sqlx::Row;
        use time::OffsetDateTime;
        use $crate::domain::{Session, SessionWithUser, User};
        use $crate::store::queries::SESSION_COLS;
        use $crate::store::ts::Ts;
        use $crate::store::{Backend, Result, Store, UserWithPassword, on_unique};

        fn decode_session(row: &$row, o: usize) -> std::result::Result<Session, sqlx::Error> {
            Ok(Session {
                id: row.try_get(o)?,
                token: row.try_get(o + 1)?,
                expires_at: row.try_get::<Ts, _>(o + 2)?.0,
                created_at: row.try_get::<Ts, _>(o + 3)?.0,
                updated_at: row.try_get::<Ts, _>(o + 4)?.0,
                ip_address: row.try_get(o + 5)?,
                user_agent: row.try_get(o + 6)?,
                user_id: row.try_get(o + 7)?,
                impersonated_by: row.try_get(o + 8)?,
                active_organization_id: row.try_get(o + 9)?,
            })
        }

        fn decode_user(row: &$row, o: usize) -> std::result::Result<User, sqlx::Error> {
            Ok(User {
                id: row.try_get(o)?,
                name: row.try_get(o + 1)?,
                email: row.try_get(o + 2)?,
                email_verified: row.try_get(o + 3)?,
                image: row.try_get(o + 4)?,
                created_at: row.try_get::<Ts, _>(o + 5)?.0,
                updated_at: row.try_get::<Ts, _>(o + 6)?.0,
                role: row.try_get(o + 7)?,
                banned: row.try_get(o + 8)?,
                ban_reason: row.try_get(o + 9)?,
                ban_expires: row.try_get::<Option<Ts>, _>(o + 10)?.map(|t| t.0),
                tenant_id: row.try_get(o + 11)?,
            })
        }

        /// The statements of [`SessionLookups`](crate::store::lookup_batch::SessionLookups): a
        /// batch of one uses the plain `token = $1` lookup, which plans and runs cheaper than
        /// the array form, so a check that arrives alone costs what it did before batching.
        fn fetch_sessions<'c>(
            conn: &'c mut <<$row as sqlx::Row>::Database as sqlx::Database>::Connection,
            sql: $crate::store::lookup_batch::LookupSql,
            tokens: &'c [&'c str],
        ) -> futures::future::BoxFuture<'c, std::result::Result<Vec<SessionWithUser>, sqlx::Error>>
        {
            Box::pin(async move {
                let rows = if let [token] = tokens {
                    sqlx::query(sql.one).bind(*token).fetch_all(conn).await?
                } else {
                    sqlx::query(sql.many)
                        .bind(<$store>::tokens_param(tokens)?)
                        .fetch_all(conn)
                        .await?
                };
                rows.iter()
                    .map(|row| {
                        Ok(SessionWithUser {
                            session: decode_session(row, 0)?,
                            user: decode_user(row, SESSION_COLS)?,
                        })
                    })
                    .collect()
            })
        }

        #[async_trait::async_trait]
        impl Store for $store {
            fn backend(&self) -> Backend {
                $backend
            }

            async fn ping(&self) -> Result<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn migrate(&self, mode: $crate::config::Mode) -> Result<()> {
                self.run_migrations(mode).await
            }

            async fn insert_user(&self, user: &User, password_hash: &str) -> Result<()> {
                let schema = &self.schema.user;
                let mut tx = self.begin_write().await?;
                let mut insert = sqlx::query(self.q.insert_user)
                    .bind(&user.id)
                    .bind(&user.name)
                    .bind(&user.email)
                    .bind(user.email_verified)
                    .bind(&user.image)
                    .bind(Ts(user.created_at))
                    .bind(Ts(user.updated_at));
                if schema.role.is_some() {
                    insert = insert.bind(&user.role);
                }
                if schema.banned.is_some() {
                    insert = insert.bind(user.banned.unwrap_or(false));
                }
                if schema.tenant_id.is_some() {
                    insert = insert.bind(&user.tenant_id);
                }
                insert
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| on_unique(e, "email"))?;
                sqlx::query(self.q.insert_account)
                    .bind($crate::domain::ids::new_id())
                    .bind(&user.id)
                    .bind("credential")
                    .bind(&user.id)
                    .bind(password_hash)
                    .bind(Ts(user.created_at))
                    .bind(Ts(user.updated_at))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn find_user_by_email(&self, email: &str) -> Result<Option<UserWithPassword>> {
                let row = sqlx::query(self.q.find_user_by_email)
                    .bind(email)
                    .fetch_optional(&self.pool)
                    .await?;
                match row {
                    Some(row) => Ok(Some(UserWithPassword {
                        user: decode_user(&row, 0)?,
                        password_hash: row.try_get(12)?,
                    })),
                    None => Ok(None),
                }
            }

            async fn find_user(&self, id: &str) -> Result<Option<User>> {
                let row = sqlx::query(self.q.find_user_by_id)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|r| decode_user(&r, 0)).transpose()?)
            }

            async fn update_user_profile(&self, user: &User) -> Result<bool> {
                let done = sqlx::query(self.q.update_user)
                    .bind(&user.id)
                    .bind(&user.name)
                    .bind(&user.image)
                    .bind(Ts(user.updated_at))
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn insert_session(
                &self,
                session: &Session,
                max_active: Option<u32>,
                now: OffsetDateTime,
            ) -> Result<u64> {
                let mut tx = self.begin_write().await?;
                let mut evicted = 0;
                if let Some(max) = max_active {
                    Self::lock_user(&mut tx, self.q.lock_user, &session.user_id).await?;
                    let active: i64 = sqlx::query_scalar(self.q.count_active_sessions)
                        .bind(&session.user_id)
                        .bind(Ts(now))
                        .fetch_one(&mut *tx)
                        .await?;
                    let over = active + 1 - i64::from(max);
                    if over > 0 {
                        evicted = sqlx::query(self.q.evict_least_active)
                            .bind(&session.user_id)
                            .bind(Ts(now))
                            .bind(over)
                            .execute(&mut *tx)
                            .await?
                            .rows_affected();
                    }
                }
                let s = &self.schema.session;
                let mut insert = sqlx::query(self.q.insert_session)
                    .bind(&session.id)
                    .bind(&session.token)
                    .bind(Ts(session.expires_at))
                    .bind(Ts(session.created_at))
                    .bind(Ts(session.updated_at))
                    .bind(&session.ip_address)
                    .bind(&session.user_agent)
                    .bind(&session.user_id);
                if s.impersonated_by.is_some() {
                    insert = insert.bind(&session.impersonated_by);
                }
                if s.active_organization_id.is_some() {
                    insert = insert.bind(&session.active_organization_id);
                }
                insert
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| on_unique(e, "session token"))?;
                tx.commit().await?;
                Ok(evicted)
            }

            async fn find_session(&self, token_key: &str) -> Result<Option<SessionWithUser>> {
                self.sessions.find(token_key).await
            }

            async fn find_session_by_id(&self, id: &str) -> Result<Option<Session>> {
                let row = sqlx::query(self.q.find_session_by_id)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|r| decode_session(&r, 0)).transpose()?)
            }

            async fn touch_session(
                &self,
                id: &str,
                expires_at: OffsetDateTime,
                updated_at: OffsetDateTime,
            ) -> Result<bool> {
                let done = sqlx::query(self.q.touch_session)
                    .bind(id)
                    .bind(Ts(expires_at))
                    .bind(Ts(updated_at))
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn delete_session_by_token(&self, token_key: &str) -> Result<bool> {
                let done = sqlx::query(self.q.delete_session_by_token)
                    .bind(token_key)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn delete_session(&self, id: &str) -> Result<bool> {
                let done = sqlx::query(self.q.delete_session)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn list_user_sessions(
                &self,
                user_id: &str,
                active_at: Option<OffsetDateTime>,
                limit: u32,
            ) -> Result<Vec<Session>> {
                let rows = sqlx::query(self.q.list_user_sessions)
                    .bind(user_id)
                    .bind(active_at.map(Ts))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                Ok(rows
                    .iter()
                    .map(|r| decode_session(r, 0))
                    .collect::<std::result::Result<_, _>>()?)
            }

            async fn delete_user_sessions(
                &self,
                user_id: &str,
                except_id: Option<&str>,
                unexpired_at: Option<OffsetDateTime>,
            ) -> Result<u64> {
                let done = sqlx::query(self.q.delete_user_sessions)
                    .bind(user_id)
                    .bind(except_id)
                    .bind(unexpired_at.map(Ts))
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }
        }
    };
}

pub(crate) use impl_store;
