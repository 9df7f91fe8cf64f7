//! Password changes and user deletion, each in one transaction with the sessions it ends.

use super::Result;
use super::engine::{Args, Engine, Read};
use super::sql_store::SqlStore;
use crate::domain::ending::Ending;
use async_trait::async_trait;
use time::OffsetDateTime;

/// What a password change does to the user's sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndSessions {
    None,
    /// Every session of the user (the caller gets a new one afterwards, as Better Auth does),
    /// recorded with the ending when given.
    All(Option<Ending>),
}

#[async_trait]
pub trait AccountStore: Send + Sync {
    /// The hash of the user's credential account (`providerId = 'credential'`), if any.
    async fn credential_hash(&self, user_id: &str) -> Result<Option<String>>;
    /// Writes a new password hash (creating the credential account when `create` and there is
    /// none) and ends sessions, in one transaction. Returns `(account found or created,
    /// sessions ended)`.
    async fn set_password(
        &self,
        user_id: &str,
        hash: &str,
        now: OffsetDateTime,
        create: bool,
        end: EndSessions,
    ) -> Result<(bool, u64)>;
    /// Deletes the user with its accounts and, with `EndSessions::All`, its sessions
    /// (recorded with the ending when given); `EndSessions::None` when the sessions are not
    /// in the database (`SESSION_STORAGE=secondary`). False when there was no such user.
    async fn delete_user(&self, user_id: &str, end: EndSessions) -> Result<bool>;
}

#[async_trait]
impl<DB: Engine> AccountStore for SqlStore<DB> {
    async fn credential_hash(&self, user_id: &str) -> Result<Option<String>> {
        let row = self
            .fetch_optional(self.sql.account.credential_hash, Args::new().text(user_id))
            .await?;
        Ok(row.map(|r| r.opt_text("password")).transpose()?.flatten())
    }

    async fn set_password(
        &self,
        user_id: &str,
        hash: &str,
        now: OffsetDateTime,
        create: bool,
        end: EndSessions,
    ) -> Result<(bool, u64)> {
        let q = &self.sql.account;
        let mut tx = self.begin_write().await?;
        let mut ended = 0;
        if let EndSessions::All(record) = &end {
            let args = || Args::new().text(user_id);
            ended = self
                .delete_ending_in(&mut *tx, &q.delete_user_sessions, &args, record.as_ref())
                .await?;
        }
        let args = Args::new().text(user_id).text(hash).time(now);
        let mut found = self.execute_in(&mut *tx, q.update_password, args).await? > 0;
        if !found && create {
            let args = Args::new()
                .text(&crate::domain::ids::new_id())
                .text(user_id)
                .text(hash)
                .time(now);
            self.execute_in(&mut *tx, q.insert_credential, args).await?;
            found = true;
        }
        tx.commit().await?;
        Ok((found, ended))
    }

    async fn delete_user(&self, user_id: &str, end: EndSessions) -> Result<bool> {
        let q = &self.sql.account;
        let mut tx = self.begin_write().await?;
        let args = || Args::new().text(user_id);
        if let EndSessions::All(record) = &end {
            self.delete_ending_in(&mut *tx, &q.delete_user_sessions, &args, record.as_ref())
                .await?;
        }
        self.execute_in(&mut *tx, q.delete_user_accounts, args())
            .await?;
        let deleted = self
            .execute_in(&mut *tx, q.delete_user, Args::new().text(user_id))
            .await?;
        tx.commit().await?;
        Ok(deleted > 0)
    }
}
