//! The per-account sign-in locks (`SIGN_IN_MAX_FAILURES_PER_ACCOUNT`): list and clear. Global
//! admins only: an e-mail is not tied to a tenant until it names a user.

use super::audit::Record;
use super::types::{ClearedBody, SignInLock, SignInLockList};
use super::{Actor, AdminService};
use crate::domain::Scope;
use crate::domain::timefmt;
use crate::service::{Error, Result};
use time::OffsetDateTime;

/// Locks listed at most.
pub const LOCKS_PAGE: u32 = 1000;

fn global_only(actor: &Actor) -> Result<()> {
    if actor.scope == Scope::All {
        Ok(())
    } else {
        Err(Error::Forbidden {
            code: "FORBIDDEN",
            message: "Only a global admin may see or clear sign-in locks".into(),
        })
    }
}

fn iso_ms(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map(timefmt::format)
        .unwrap_or_default()
}

impl AdminService {
    pub async fn list_sign_in_locks(&self, actor: &Actor) -> Result<SignInLockList> {
        global_only(actor)?;
        let locks = self
            .core
            .rate_limiter()
            .account_locks(LOCKS_PAGE)
            .await?
            .into_iter()
            .map(|l| SignInLock {
                email: l.email,
                failures: l.failures,
                last_failure_at: iso_ms(l.last_failure_ms),
                locked_until: iso_ms(l.locked_until_ms),
            })
            .collect();
        Ok(SignInLockList { locks })
    }

    pub async fn clear_sign_in_lock(&self, actor: &Actor, email: &str) -> Result<ClearedBody> {
        global_only(actor)?;
        let email = email.trim().to_lowercase();
        super::required("email", &email, crate::domain::input::EMAIL_LEN)?;
        let cleared = self.core.rate_limiter().clear_account(&email).await?;
        let record = Record {
            action: "sign_in_lock.clear",
            target: Some(format!("email:{email}")),
            criteria: None,
            count: u64::from(cleared),
            tenant: None,
        };
        self.audit(actor, record).await;
        Ok(ClearedBody { cleared })
    }
}
