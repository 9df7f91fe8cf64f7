//! The [`Store`] operations of the auth path (users and sessions), written once for both
//! backends.

use super::SessionEvents;
use super::engine::{Args, Bind, Engine, Run};
use super::lookup_batch::LookupSql;
use super::outbox::NewEvent;
use super::sql_store::SqlStore;
use super::tables::rows::{decode_session, decode_user};
use super::{Backend, Result, Store, UserWithPassword, on_unique};
use crate::config::Mode;
use crate::domain::ending::Ending;
use crate::domain::{Session, SessionWithUser, User};
use crate::store::engine::Read;
use futures::future::BoxFuture;
use time::OffsetDateTime;

/// The statements of [`SessionLookups`](super::lookup_batch::SessionLookups): a batch of one
/// uses the plain `token = $1` lookup, which plans and runs cheaper than the batch form, so a
/// check that arrives alone costs what it did before batching.
pub(crate) fn fetch_sessions<'c, DB: Engine>(
    conn: &'c mut DB::Connection,
    lookup: LookupSql,
    tokens: &'c [&'c str],
) -> BoxFuture<'c, std::result::Result<Vec<SessionWithUser>, sqlx::Error>> {
    Box::pin(async move {
        let mut args = DB::Arguments::default();
        let sql = if let [token] = tokens {
            args.text(token).map_err(sqlx::Error::Encode)?;
            lookup.one
        } else {
            DB::bind_tokens(&mut args, tokens).map_err(sqlx::Error::Encode)?;
            lookup.many
        };
        let rows = match DB::begin_statement(lookup.pooler) {
            // Behind a transaction-mode pooler: one transaction, so preparing and running the
            // unnamed statement reach the same server connection.
            Some(begin) => {
                let mut tx = sqlx::Connection::begin_with(&mut *conn, begin).await?;
                let rows = tx.fetch_all(sql, args, lookup.pooler).await?;
                tx.commit().await?;
                rows
            }
            None => conn.fetch_all(sql, args, lookup.pooler).await?,
        };
        rows.iter()
            .map(|row| {
                Ok(SessionWithUser {
                    session: decode_session(row)?,
                    user: decode_user(row)?,
                })
            })
            .collect()
    })
}

#[async_trait::async_trait]
impl<DB: Engine> Store for SqlStore<DB> {
    fn pool_stats(&self) -> Vec<super::PoolStats> {
        SqlStore::pool_stats(self)
    }

    fn backend(&self) -> Backend {
        DB::BACKEND
    }

    async fn ping(&self) -> Result<()> {
        self.fetch_optional("SELECT 1", Args::new()).await?;
        Ok(())
    }

    async fn migrate(&self, mode: Mode) -> Result<()> {
        DB::migrate(&self.pool, mode, self.pooler).await
    }

    async fn insert_user(&self, user: &User, password_hash: &str) -> Result<()> {
        let schema = &self.schema.user;
        let mut args = Args::<DB>::new()
            .text(&user.id)
            .text(&user.name)
            .text(&user.email)
            .flag(user.email_verified)
            .opt_text(user.image.as_deref())
            .time(user.created_at)
            .time(user.updated_at);
        // The optional columns the statement names, in its order: role, banned, tenantId.
        if schema.role.is_some() {
            args = args.opt_text(user.role.as_deref());
        }
        if schema.banned.is_some() {
            args = args.flag(user.banned.unwrap_or(false));
        }
        if schema.tenant_id.is_some() {
            args = args.opt_text(user.tenant_id.as_deref());
        }
        let account = Args::<DB>::new()
            .text(&crate::domain::ids::new_id())
            .text(&user.id)
            .text("credential")
            .text(&user.id)
            .text(password_hash)
            .time(user.created_at)
            .time(user.updated_at);
        self.note_general_wait();
        let mut tx = self.begin_write().await?;
        self.execute_in(&mut *tx, self.sql.auth.insert_user, args)
            .await
            .map_err(|e| on_unique(e, "email"))?;
        self.execute_in(&mut *tx, self.sql.auth.insert_account, account)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<UserWithPassword>> {
        let args = Args::new().text(email);
        let row = self
            .fetch_optional(self.sql.auth.find_user_by_email, args)
            .await?;
        match row {
            Some(row) => Ok(Some(UserWithPassword {
                user: decode_user(&row)?,
                password_hash: row.opt_text("password")?,
            })),
            None => Ok(None),
        }
    }

    async fn find_user(&self, id: &str) -> Result<Option<User>> {
        let args = Args::new().text(id);
        let row = self
            .fetch_optional(self.sql.auth.find_user_by_id, args)
            .await?;
        Ok(row.map(|r| decode_user(&r)).transpose()?)
    }

    async fn update_user_profile(&self, user: &User) -> Result<bool> {
        let args = Args::new()
            .text(&user.id)
            .text(&user.name)
            .opt_text(user.image.as_deref())
            .time(user.updated_at);
        Ok(self.execute(self.sql.auth.update_user, args).await? > 0)
    }

    async fn insert_session_ending(
        &self,
        session: &Session,
        max_active: Option<u32>,
        now: OffsetDateTime,
        evicted_end: Option<&Ending>,
        events: Option<&SessionEvents>,
    ) -> Result<u64> {
        let q = &self.sql.auth;
        self.note_general_wait();
        let mut tx = self.begin_write().await?;
        let mut evicted = 0;
        if let Some(max) = max_active {
            let over = self.active_after_insert(&mut tx, session, now).await? - i64::from(max);
            if over > 0 {
                let args = || Args::new().text(&session.user_id).time(now).int(over);
                evicted = self
                    .delete_ending_in(&mut *tx, &q.evict_least_active, &args, evicted_end)
                    .await?;
            }
        }
        self.write_session(&mut tx, session, now, events).await?;
        tx.commit().await?;
        Ok(evicted)
    }

    async fn insert_session_unless_full(
        &self,
        session: &Session,
        max_active: u32,
        now: OffsetDateTime,
        events: Option<&SessionEvents>,
    ) -> Result<bool> {
        self.note_general_wait();
        let mut tx = self.begin_write().await?;
        if self.active_after_insert(&mut tx, session, now).await? > i64::from(max_active) {
            tx.rollback().await?;
            return Ok(false);
        }
        self.write_session(&mut tx, session, now, events).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn find_session(&self, token_key: &str) -> Result<Option<SessionWithUser>> {
        self.sessions.find(token_key).await
    }

    async fn find_session_by_id(&self, id: &str) -> Result<Option<Session>> {
        let args = Args::new().text(id);
        let row = self
            .fetch_optional(self.sql.auth.find_session_by_id, args)
            .await?;
        Ok(row.map(|r| decode_session(&r)).transpose()?)
    }

    async fn touch_session(
        &self,
        id: &str,
        expires_at: OffsetDateTime,
        updated_at: OffsetDateTime,
    ) -> Result<bool> {
        let args = Args::new().text(id).time(expires_at).time(updated_at);
        Ok(self.execute(self.sql.auth.touch_session, args).await? > 0)
    }

    async fn delete_session(&self, id: &str, end: Option<&Ending>) -> Result<bool> {
        let args = || Args::new().text(id);
        Ok(self
            .delete_ending(&self.sql.auth.delete_session, args, end)
            .await?
            > 0)
    }

    async fn delete_session_by_token(&self, token_key: &str, end: Option<&Ending>) -> Result<bool> {
        let args = || Args::new().text(token_key);
        Ok(self
            .delete_ending(&self.sql.auth.delete_session_by_token, args, end)
            .await?
            > 0)
    }

    async fn list_user_sessions(
        &self,
        user_id: &str,
        active_at: Option<OffsetDateTime>,
        limit: u32,
    ) -> Result<Vec<Session>> {
        let args = Args::new()
            .text(user_id)
            .opt_time(active_at)
            .int(i64::from(limit));
        let rows = self
            .fetch_all(self.sql.auth.list_user_sessions, args)
            .await?;
        Ok(rows
            .iter()
            .map(decode_session)
            .collect::<std::result::Result<_, _>>()?)
    }

    async fn delete_user_sessions(
        &self,
        user_id: &str,
        except_id: Option<&str>,
        unexpired_at: Option<OffsetDateTime>,
        end: Option<&Ending>,
    ) -> Result<u64> {
        let args = || {
            Args::new()
                .text(user_id)
                .opt_text(except_id)
                .opt_time(unexpired_at)
        };
        Ok(self
            .delete_ending(&self.sql.auth.delete_user_sessions, args, end)
            .await?)
    }
}

impl<DB: Engine> SqlStore<DB> {
    /// Locks the user (serialising their sign-ins) and counts their unexpired sessions, plus
    /// the one about to be written.
    pub(super) async fn active_after_insert(
        &self,
        tx: &mut sqlx::Transaction<'static, DB>,
        session: &Session,
        now: OffsetDateTime,
    ) -> Result<i64> {
        let q = &self.sql.auth;
        DB::lock_user(&mut **tx, q.lock_user, &session.user_id, self.pooler).await?;
        let args = Args::new().text(&session.user_id).time(now);
        let active = self
            .fetch_one_in(&mut **tx, q.count_active_sessions, args)
            .await?
            .int("n")?;
        Ok(active + 1)
    }

    /// Writes the session, with its `session.created` (and, for a device not seen in the
    /// window, `session.new-device`) events in the same transaction.
    pub(super) async fn write_session(
        &self,
        tx: &mut sqlx::Transaction<'static, DB>,
        session: &Session,
        now: OffsetDateTime,
        events: Option<&SessionEvents>,
    ) -> Result<()> {
        let q = &self.sql.auth;
        let s = &self.schema.session;
        let mut args = Args::<DB>::new()
            .text(&session.id)
            .text(&session.token)
            .time(session.expires_at)
            .time(session.created_at)
            .time(session.updated_at)
            .opt_text(session.ip_address.as_deref())
            .opt_text(session.user_agent.as_deref())
            .text(&session.user_id);
        if s.impersonated_by.is_some() {
            args = args.opt_text(session.impersonated_by.as_deref());
        }
        if s.active_organization_id.is_some() {
            args = args.opt_text(session.active_organization_id.as_deref());
        }
        // Read before the insert, so the new session is not among the devices seen.
        let new_device = match events {
            Some(ev) if ev.new_device_endpoints > 0 => {
                let args = Args::new().text(&session.user_id).time(ev.window_start);
                let rows = self
                    .fetch_all_in(&mut **tx, q.user_agents_seen, args)
                    .await?;
                let seen = rows
                    .iter()
                    .map(|r| r.opt_text("ua"))
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                crate::domain::device::is_new_device(session.user_agent.as_deref(), &seen)
            }
            _ => false,
        };
        self.execute_in(&mut **tx, q.insert_session, args)
            .await
            .map_err(|e| on_unique(e, "session token"))?;
        if let Some(ev) = events {
            let event = |event_type, endpoints| NewEvent {
                event_type,
                order_key: &session.id,
                session_id: Some(&session.id),
                user_id: Some(&session.user_id),
                tenant_id: ev.tenant_id.as_deref(),
                data: Some(ev.data.clone()),
                at: now,
                endpoints,
            };
            self.enqueue_in(&mut **tx, &event("session.created", ev.created_endpoints))
                .await?;
            if new_device {
                let e = event("session.new-device", ev.new_device_endpoints);
                self.enqueue_in(&mut **tx, &e).await?;
            }
        }
        Ok(())
    }
}
