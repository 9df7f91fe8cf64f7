//! A user's own account: changing the password (Better Auth's `/change-password`, ending the
//! other sessions on request) and deleting the account (`/delete-user`), with Better Auth's
//! checks in its order (`api/routes/update-user.ts`, 1.7.25).

use super::auth::{AuthService, ClientInfo, Issued, check_password};
use super::{Error, Result};
use crate::domain::ending::{Actor, EndReason};
use crate::domain::model::{SessionWithUser, User};
use crate::domain::password::{self, MAX_LENGTH};
use crate::store::account::EndSessions;
use time::Duration;

pub fn invalid_password() -> Error {
    Error::BadRequest {
        code: "INVALID_PASSWORD",
        message: "Invalid password".into(),
    }
}

fn no_credential_account() -> Error {
    Error::BadRequest {
        code: "CREDENTIAL_ACCOUNT_NOT_FOUND",
        message: "Credential account not found".into(),
    }
}

fn not_too_long(password: &str) -> Result<()> {
    if password.chars().count() > MAX_LENGTH {
        return Err(Error::PasswordTooLong);
    }
    Ok(())
}

/// What a password change asks for.
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
    pub revoke_other_sessions: bool,
}

/// The outcome: the caller's new session when the others were ended (Better Auth ends them
/// all and issues a new one), and the user.
pub struct PasswordChanged {
    pub issued: Option<Issued>,
    pub user: User,
}

impl AuthService {
    async fn verify_credential(&self, user_id: &str, given: String) -> Result<()> {
        let stored = self
            .core
            .store()
            .credential_hash(user_id)
            .await?
            .ok_or_else(no_credential_account)?;
        let ok = self
            .core
            .hashing(move || password::verify(&given, &stored))
            .await?;
        if ok { Ok(()) } else { Err(invalid_password()) }
    }

    pub async fn change_password(
        &self,
        current: &SessionWithUser,
        change: PasswordChange,
        client: ClientInfo,
    ) -> Result<PasswordChanged> {
        check_password(&change.new_password)?;
        not_too_long(&change.current_password)?;
        let user_id = current.user.id.clone();
        self.verify_credential(&user_id, change.current_password)
            .await?;
        let algorithm = self.core.config().session.password_hash;
        let new_password = change.new_password;
        let hash = self
            .core
            .hashing(move || password::hash(&new_password, algorithm))
            .await?;
        let by = Actor::User(user_id.clone());
        let ending = self.core.ending(EndReason::PasswordChanged, &by);
        let redis = self.core.redis_alone();
        let end = if change.revoke_other_sessions && redis.is_none() {
            EndSessions::All(ending.clone())
        } else {
            EndSessions::None
        };
        let (_, mut ended) = self
            .core
            .store()
            .set_password(&user_id, &hash, self.core.now(), false, end)
            .await?;
        if let Some(redis) = redis
            && change.revoke_other_sessions
        {
            ended = self
                .core
                .end_user_in_redis(redis, &user_id, None, None, ending.as_ref())
                .await?;
        }
        tracing::info!(user_id = %user_id, sessions_ended = ended, "password changed");
        if ended > 0
            && let Err(e) = self.core.secondary_reconcile_user(&user_id).await
        {
            // The password is changed; the next cleanup sweep finishes the Redis side.
            tracing::warn!(error = %e, "cannot remove ended sessions from Redis");
        }
        let issued = if change.revoke_other_sessions {
            Some(
                self.issue_session(current.user.clone(), true, client)
                    .await?,
            )
        } else {
            None
        };
        Ok(PasswordChanged {
            issued,
            user: current.user.clone(),
        })
    }

    /// Better Auth's delete-user without e-mail verification: with `password`, it must be the
    /// user's; without, the session must be fresh (`SESSION_FRESH_AGE`), else `SESSION_EXPIRED`.
    /// A deletion `token` is never valid here: no verification e-mail is ever sent.
    pub async fn delete_user(
        &self,
        current: &SessionWithUser,
        password: Option<String>,
        token: Option<String>,
    ) -> Result<()> {
        let confirmed = password.is_some();
        if let Some(given) = password {
            not_too_long(&given)?;
            self.verify_credential(&current.user.id, given).await?;
        }
        if token.is_some() {
            return Err(Error::NotFound {
                code: "INVALID_TOKEN",
                message: "Invalid token".into(),
            });
        }
        let fresh_age = self.core.config().session.fresh_age;
        let age = self.core.now() - current.session.created_at;
        if fresh_age > 0 && age >= Duration::seconds(fresh_age) && !confirmed {
            return Err(Error::BadRequest {
                code: "SESSION_EXPIRED",
                message: "Session expired. Re-authenticate to perform this action.".into(),
            });
        }
        // The user ended their own sessions by deleting the account: recorded as revoked.
        let by = Actor::User(current.user.id.clone());
        let record = self.core.ending(EndReason::Revoked, &by);
        // As Better Auth's deleteUser with secondary storage: the Redis sessions go first (the
        // user's list and every key it names), so a Redis fault leaves the account in place.
        let end = match self.core.redis_alone() {
            Some(redis) => {
                self.core
                    .end_user_in_redis(redis, &current.user.id, None, None, record.as_ref())
                    .await?;
                redis
                    .drop_list(&current.user.id)
                    .await
                    .map_err(|e| Error::Secondary(e.to_string()))?;
                EndSessions::None
            }
            None => EndSessions::All(record),
        };
        self.core.store().delete_user(&current.user.id, end).await?;
        self.core.secondary_reconcile_user(&current.user.id).await?;
        tracing::info!(user_id = %current.user.id, "user deleted their account");
        Ok(())
    }
}
