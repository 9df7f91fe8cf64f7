//! The auth service: sign-up, sign-in, sign-out, get-session, and a user's own sessions, as
//! Better Auth does them (docs/better-auth-compat.md §3, §4.1).

use super::{Core, Error, Result};
use crate::domain::ending::{Actor, EndReason as Why};
use crate::domain::ids::new_id;
use crate::domain::input;
use crate::domain::limits::USER_SESSIONS_CAP;
use crate::domain::model::{NewUser, Session, SessionWithUser, User};
use crate::domain::password::{self, MAX_LENGTH, MIN_LENGTH};
use crate::domain::policy::{CheckPolicy, LimitStrategy, PolicyEnd};
use crate::domain::timefmt;
use crate::domain::token::{TokenStorage, parse_session_ref, session_ref};
use crate::metrics::{self as m, EndReason};
use crate::store::tenant_policy::TenantCaps;
use crate::store::{SessionEvents, StoreError};
use serde_json::json;
use std::sync::Arc;
use time::Duration;

/// Where a request came from, recorded on the sessions it creates. Better Auth stores an empty
/// string, not NULL, when a value is unknown.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip_address: String,
    pub user_agent: String,
}

#[derive(Debug, Clone)]
pub struct SignUp {
    pub user: NewUser,
    pub password: String,
    pub remember_me: bool,
}

/// A new session and the raw token that only its holder ever sees.
#[derive(Debug, Clone)]
pub struct Issued {
    pub user: User,
    pub session: Session,
    pub token: String,
    pub remember_me: bool,
}

/// The outcome of checking a presented token.
// Returned once per check and never stored: boxing the large variant would only add a heap
// allocation to the hottest path.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum SessionCheck {
    /// No such session (or it was revoked).
    Missing,
    /// The session had expired; its row has now been deleted (unless the check was asked
    /// not to: see [`AuthService::check_session_with`]).
    Expired,
    Valid {
        data: SessionWithUser,
        /// True when this check slid the expiry (the cookie must be re-sent).
        refreshed: bool,
    },
}

fn from_millis(ms: i64) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

/// Better Auth lowercases e-mails and rejects what zod's `email()` rejects; this accepts the
/// common `local@domain.tld` form.
fn limit_reached() -> Error {
    Error::Forbidden {
        code: "SESSION_LIMIT_REACHED",
        message: "Session limit reached: sign out of another session first".into(),
    }
}

fn normalize_email(email: &str) -> Result<String> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= input::EMAIL_LEN
        && !input::has_forbidden(&email)
        && !email.contains(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        });
    if valid {
        Ok(email)
    } else {
        Err(Error::InvalidEmail)
    }
}

/// A name and an image URL: bounded, and without control or invisible formatting characters.
fn check_profile(name: Option<&str>, image: Option<&str>) -> Result<()> {
    if let Some(name) = name {
        input::check(name, input::NAME_LEN)
            .map_err(|r| Error::Validation(r.message("[body.name] Name")))?;
    }
    if let Some(image) = image.filter(|i| !i.is_empty()) {
        input::check(image, input::IMAGE_LEN)
            .map_err(|r| Error::Validation(r.message("[body.image] Image")))?;
    }
    Ok(())
}

pub(crate) fn check_password(password: &str) -> Result<()> {
    let len = password.chars().count();
    if len < MIN_LENGTH {
        return Err(Error::PasswordTooShort);
    }
    if len > MAX_LENGTH {
        return Err(Error::PasswordTooLong);
    }
    Ok(())
}

/// What a user does with their own account and sessions.
pub struct AuthService {
    pub(super) core: Arc<Core>,
}

impl AuthService {
    pub(super) fn new(core: Arc<Core>) -> Self {
        Self { core }
    }

    /// Creates a user with a password. Used by sign-up and by `users create`.
    pub async fn create_user(&self, new: NewUser, password: String) -> Result<User> {
        let email = normalize_email(&new.email)?;
        if new.name.trim().is_empty() {
            return Err(Error::Validation("[body.name] Name is required".into()));
        }
        check_profile(Some(&new.name), new.image.as_deref())?;
        check_password(&password)?;
        let algorithm = self.core.config().session.password_hash;
        let hash = self
            .core
            .hashing(move || password::hash(&password, algorithm))
            .await?;
        let now = self.core.now();
        let user = User {
            name: new.name,
            email,
            email_verified: false,
            image: new.image,
            created_at: now,
            updated_at: now,
            role: Some(new.role.unwrap_or_else(|| "user".into())),
            banned: Some(false),
            ban_reason: None,
            ban_expires: None,
            id: new_id(),
            tenant_id: new.tenant_id,
        };
        match self.core.store().insert_user(&user, &hash).await {
            Ok(()) => Ok(user),
            Err(StoreError::Duplicate(_)) => Err(Error::UserExists),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn sign_up(&self, input: SignUp, client: ClientInfo) -> Result<Issued> {
        let result = async {
            let user = self.create_user(input.user, input.password).await?;
            self.issue_session(user, input.remember_me, client).await
        }
        .await;
        metrics::counter!(m::SIGN_UPS, "outcome" => outcome(&result)).increment(1);
        result
    }

    pub async fn sign_in(
        &self,
        email: &str,
        password: String,
        remember_me: bool,
        client: ClientInfo,
    ) -> Result<Issued> {
        let result = self
            .sign_in_inner(email, password, remember_me, client)
            .await;
        metrics::counter!(m::SIGN_INS, "outcome" => outcome(&result)).increment(1);
        result
    }

    async fn sign_in_inner(
        &self,
        email: &str,
        password: String,
        remember_me: bool,
        client: ClientInfo,
    ) -> Result<Issued> {
        let email = normalize_email(email)?;
        let limiter = self.core.rate_limiter();
        // A locked e-mail answers as a wrong password would; failures are counted per e-mail,
        // registered or not, so a lock tells nothing about who has an account.
        if limiter.account_locked(&email).await {
            return Err(Error::InvalidCredentials);
        }
        let found = self.core.store().find_user_by_email(&email).await?;
        let stored = found
            .as_ref()
            .and_then(|f| f.password_hash.clone())
            .unwrap_or_else(|| {
                password::dummy_hash(self.core.config().session.password_hash).to_owned()
            });
        // A miss verifies against a dummy hash so that it costs what a wrong password costs.
        let ok = self
            .core
            .hashing(move || password::verify(&password, &stored))
            .await?;
        let Some(found) = found.filter(|f| ok && f.password_hash.is_some()) else {
            limiter.record_failure(&email).await;
            return Err(Error::InvalidCredentials);
        };
        if let Err(e) = limiter.clear_account(&email).await {
            tracing::warn!(error = %e, "clearing sign-in failures failed");
        }
        let mut user = found.user;
        if user.banned == Some(true) {
            let now = self.core.now();
            match user.ban_expires {
                Some(until) if until < now => {
                    user.banned = Some(false);
                    user.ban_expires = None;
                    user.ban_reason = None;
                }
                _ => return Err(Error::Banned),
            }
        }
        self.issue_session(user, remember_me, client).await
    }

    /// Creates a session for `user`, evicting its least recently active ones beyond the limit.
    pub async fn issue_session(
        &self,
        user: User,
        remember_me: bool,
        client: ClientInfo,
    ) -> Result<Issued> {
        let now = self.core.now();
        // rememberMe=false gives a fixed one-day session that never slides (docs/better-auth-compat.md §3.2).
        let lifetime = if remember_me {
            Duration::seconds(self.core.config().session.expires_in)
        } else {
            Duration::days(1)
        };
        let token = new_id();
        let mut session = Session {
            id: new_id(),
            token: self.core.token_key(&token),
            expires_at: now + lifetime,
            created_at: now,
            updated_at: now,
            ip_address: Some(client.ip_address),
            user_agent: Some(client.user_agent),
            user_id: user.id.clone(),
            impersonated_by: None,
            active_organization_id: None,
        };
        let tenant = self.core.tenant_of(&session, &user).map(str::to_owned);
        let tenant_policy = self.core.tenant_policies().get(tenant.as_deref());
        // Never past the absolute timeout (the tenant's, where it set one).
        session.expires_at = self.core.check_policy_for(tenant.as_deref()).slid_expiry(
            now,
            now,
            lifetime.whole_seconds(),
        );
        let policy = &self.core.config().cleanup.policy;
        let global_limit = policy
            .enforce_session_limits
            .then_some(policy.max_sessions_per_user);
        let limit = match &tenant_policy {
            Some(p) => p.user_limit(global_limit),
            None => global_limit,
        };
        let record = self.core.ending(Why::EvictedLimit, &Actor::Service);
        let events = self.session_events(&user, &session);
        let store = self.core.store();
        let strategy = self.core.config().session.limit_strategy;
        if let Some(redis) = self.core.redis_alone() {
            let data = SessionWithUser { session, user };
            let deny = strategy == LimitStrategy::Deny;
            let evicted = self
                .core
                .issue_in_redis(redis, &data, limit, deny, record.as_ref())
                .await?;
            metrics::counter!(m::SESSIONS_CREATED).increment(1);
            if evicted > 0 {
                metrics::counter!(m::EVICTED_AT_SIGN_IN).increment(evicted);
                m::sessions_ended(EndReason::Evicted, evicted);
            }
            let SessionWithUser { session, user } = data;
            return Ok(Issued {
                user,
                session,
                token,
                remember_me,
            });
        }
        let tenant_cap = tenant
            .as_deref()
            .zip(tenant_policy.and_then(|p| p.max_sessions_per_tenant));
        // Whose sessions an eviction removed: the tenant cap reaches other users' too.
        let mut evicted_users = vec![user.id.clone()];
        let evicted = match (limit, strategy, tenant_cap) {
            (_, _, Some((tenant, tenant_max))) => {
                let caps = TenantCaps {
                    user_max: limit,
                    tenant,
                    tenant_max,
                    deny: strategy == LimitStrategy::Deny,
                };
                let evicted = store
                    .insert_session_capped(&session, caps, now, record.as_ref(), events.as_ref())
                    .await?
                    .ok_or_else(limit_reached)?;
                evicted_users = evicted.users;
                evicted.count
            }
            (Some(max), LimitStrategy::Deny, None) => {
                if !store
                    .insert_session_unless_full(&session, max, now, events.as_ref())
                    .await?
                {
                    return Err(limit_reached());
                }
                0
            }
            _ => {
                store
                    .insert_session_ending(&session, limit, now, record.as_ref(), events.as_ref())
                    .await?
            }
        };
        metrics::counter!(m::SESSIONS_CREATED).increment(1);
        if evicted > 0 {
            tracing::info!(user_id = %user.id, evicted, "session limit reached: evicted least recently active sessions");
            metrics::counter!(m::EVICTED_AT_SIGN_IN).increment(evicted);
            m::sessions_ended(EndReason::Evicted, evicted);
            // The sign-in stands; a Redis fault is left to the next cleanup sweep.
            evicted_users.sort();
            evicted_users.dedup();
            for id in &evicted_users {
                if let Err(e) = self.core.secondary_reconcile_user(id).await {
                    tracing::warn!(error = %e, "cannot remove evicted sessions from Redis");
                }
            }
        }
        let data = SessionWithUser { session, user };
        self.core.cache_put(&data).await;
        let SessionWithUser { session, user } = data;
        Ok(Issued {
            user,
            session,
            token,
            remember_me,
        })
    }

    /// The events a new session writes, when any receiver wants them.
    fn session_events(&self, user: &User, session: &Session) -> Option<SessionEvents> {
        let config = self.core.config();
        let w = &config.webhooks;
        let created_endpoints = w.endpoints_for("session.created");
        let new_device_endpoints = w.endpoints_for("session.new-device");
        if created_endpoints == 0 && new_device_endpoints == 0 {
            return None;
        }
        let d = crate::domain::device::parse(session.user_agent.as_deref());
        // Never the token: the session's public columns and the parsed device.
        let data = json!({
            "sessionId": session.id,
            "userId": session.user_id,
            "tenantId": user.tenant_id,
            "createdAt": timefmt::format(session.created_at),
            "expiresAt": timefmt::format(session.expires_at),
            "ipAddress": session.ip_address,
            "userAgent": session.user_agent,
            "browser": d.browser,
            "os": d.os,
            "deviceType": d.device_type,
        });
        // The window of devices seen is the history's retention (at least a day).
        let days = i64::from(config.cleanup.history_retention_days.max(1));
        Some(SessionEvents {
            created_endpoints,
            new_device_endpoints,
            window_start: session.created_at - Duration::days(days),
            tenant_id: user.tenant_id.clone(),
            data: data.to_string(),
        })
    }

    /// Better Auth's get-session: the session for a raw token, deleting it when expired and
    /// sliding it once `updateAge` has passed since its expiry was last set.
    pub async fn check_session(&self, token: &str, allow_refresh: bool) -> Result<SessionCheck> {
        self.check_session_with(token, allow_refresh, true).await
    }

    /// [`check_session`](Self::check_session) with the expired-row delete optional: the
    /// library's validator is read-only unless asked, so that it runs on a read replica.
    pub async fn check_session_with(
        &self,
        token: &str,
        allow_refresh: bool,
        delete_expired: bool,
    ) -> Result<SessionCheck> {
        let Some(mut data) = self.core.find_session(token).await? else {
            return Ok(SessionCheck::Missing);
        };
        let now = self.core.now();
        if data.session.is_expired(now) {
            let record = self.core.ending(Why::Expired, &Actor::Service);
            if let Some(redis) = self.core.redis_alone() {
                if delete_expired {
                    let s = std::slice::from_ref(&data.session);
                    let n = self.core.end_in_redis(redis, s, record.as_ref()).await?;
                    m::sessions_ended(EndReason::Expired, n);
                }
                return Ok(SessionCheck::Expired);
            }
            if delete_expired
                && self
                    .core
                    .store()
                    .delete_session(&data.session.id, record.as_ref())
                    .await?
            {
                m::sessions_ended(EndReason::Expired, 1);
                let s = &data.session;
                if let Err(e) = self.core.secondary_remove_one(&s.token, &s.user_id).await {
                    // The next cleanup sweep removes it; the caller's answer does not change.
                    tracing::warn!(error = %e, "cannot remove an expired session from Redis");
                }
            }
            return Ok(SessionCheck::Expired);
        }
        let tenant = self.core.tenant_of(&data.session, &data.user);
        let policy = self.core.check_policy_for(tenant);
        if let Some(end) = self.policy_end(&data.session, &policy, now).await {
            if delete_expired {
                self.remove_by_policy(&data.session, end).await?;
            }
            // Answered as an expired session is: null, and the cookie cleared.
            return Ok(SessionCheck::Expired);
        }
        if let Some(tracker) = self.core.activity() {
            tracker.record(&data.session.id, now);
        }
        let s = &self.core.config().session;
        let due = data.session.expires_at - Duration::seconds(s.expires_in)
            + Duration::seconds(s.update_age)
            <= now;
        let expires_at = policy.slid_expiry(data.session.created_at, now, s.expires_in);
        // A session capped by the absolute timeout has nothing left to slide.
        if !(allow_refresh && due && expires_at > data.session.expires_at) {
            return Ok(SessionCheck::Valid {
                data,
                refreshed: false,
            });
        }
        if let Some(redis) = self.core.redis_alone() {
            let s = &data.session;
            let slid = redis
                .slide_session(&s.token, &s.user_id, expires_at, now)
                .await
                .map_err(|e| Error::Secondary(e.to_string()))?;
            if !slid {
                return Err(Error::FailedToGetSession);
            }
        } else if !self
            .core
            .store()
            .touch_session(&data.session.id, expires_at, now)
            .await?
        {
            if self.core.cache().is_some() {
                // A cached copy of a row that is gone (a removal whose Redis step failed):
                // the session is over, and its copy goes now rather than at the next sweep.
                let s = &data.session;
                if let Err(e) = self.core.secondary_remove_one(&s.token, &s.user_id).await {
                    tracing::warn!(error = %e, "cannot remove a stale session from the Redis cache");
                }
                return Ok(SessionCheck::Missing);
            }
            return Err(Error::FailedToGetSession);
        }
        data.session.expires_at = expires_at;
        data.session.updated_at = now;
        self.core.cache_put(&data).await;
        Ok(SessionCheck::Valid {
            data,
            refreshed: true,
        })
    }

    /// Whether the check policy has ended `session` at `now`. Last activity is the latest of
    /// `updatedAt`, this instance's memory and, before refusing for inactivity, the stored
    /// activity (another instance may have seen the session since): the extra read happens
    /// only for a session that looks idle here, never on the ordinary path.
    async fn policy_end(
        &self,
        session: &Session,
        policy: &CheckPolicy,
        now: time::OffsetDateTime,
    ) -> Option<PolicyEnd> {
        let later = |last: time::OffsetDateTime, t: Option<time::OffsetDateTime>| {
            t.map_or(last, |t| t.max(last))
        };
        // `updatedAt` first: the ordinary check ends here, without taking the tracker's lock.
        let PolicyEnd::Inactive = policy.check(session.created_at, session.updated_at, now)? else {
            return Some(PolicyEnd::AbsoluteTimeout);
        };
        let noted = self
            .core
            .activity()
            .and_then(|t| t.noted(&session.id))
            .and_then(from_millis);
        let last = later(session.updated_at, noted);
        policy.check(session.created_at, last, now)?;
        match self.core.store().stored_activity(&session.id).await {
            Ok(stored) => policy.check(
                session.created_at,
                later(last, stored.and_then(from_millis)),
                now,
            ),
            // A store without our activity table (the read-only validator on the app's
            // database): `updatedAt` is the only activity there is.
            Err(e) => {
                tracing::debug!(error = %e, "stored session activity unavailable");
                Some(PolicyEnd::Inactive)
            }
        }
    }

    /// Removal path of the check policy: reason `inactive` (idle past the inactivity
    /// timeout) or `absolute-timeout` (older than the absolute timeout). The Redis copy goes
    /// too, as for an expired session.
    async fn remove_by_policy(&self, session: &Session, end: PolicyEnd) -> Result<()> {
        let (why, reason) = match end {
            PolicyEnd::Inactive => (Why::Inactive, EndReason::Inactive),
            PolicyEnd::AbsoluteTimeout => (Why::AbsoluteTimeout, EndReason::AbsoluteTimeout),
        };
        let record = self.core.ending(why, &Actor::Service);
        if let Some(redis) = self.core.redis_alone() {
            let s = std::slice::from_ref(session);
            let n = self.core.end_in_redis(redis, s, record.as_ref()).await?;
            m::sessions_ended(reason, n);
            return Ok(());
        }
        if self
            .core
            .store()
            .delete_session(&session.id, record.as_ref())
            .await?
        {
            m::sessions_ended(reason, 1);
            if let Err(e) = self
                .core
                .secondary_remove_one(&session.token, &session.user_id)
                .await
            {
                // The next cleanup sweep removes it; the caller's answer does not change.
                tracing::warn!(error = %e, "cannot remove an ended session from Redis");
            }
        }
        Ok(())
    }

    /// One statement: the row goes whether or not it had expired. The actor is the session's
    /// own user, read by the same statement.
    pub async fn sign_out(&self, token: &str) -> Result<()> {
        let record = self.core.ending(Why::SignedOut, &Actor::Owner);
        if let Some(redis) = self.core.redis_alone() {
            if let Some(found) = self.core.find_session(token).await? {
                let s = std::slice::from_ref(&found.session);
                let n = self.core.end_in_redis(redis, s, record.as_ref()).await?;
                m::sessions_ended(EndReason::SignOut, n);
            }
            return Ok(());
        }
        let deleted = self
            .core
            .store()
            .delete_session_by_token(&self.core.token_key(token), record.as_ref())
            .await?;
        m::sessions_ended(EndReason::SignOut, u64::from(deleted));
        // Like Better Auth's deleteSession: the Redis copy goes whether or not a row did; its
        // user is read from the stored value. A fault is left to the next cleanup sweep.
        let gone = [crate::secondary::SessionRef {
            token: self.core.token_key(token),
            user_id: None,
        }];
        if let Err(e) = self.core.secondary_remove(&gone).await {
            tracing::warn!(error = %e, "cannot remove a signed-out session from Redis");
        }
        Ok(())
    }

    /// What `token` a listed session shows: the caller's own raw token, the stored token in
    /// shared mode (Better Auth shows it too), or else an opaque handle revoke-session accepts.
    pub fn shown_token(&self, session: &Session, current: &Session, raw_current: &str) -> String {
        if session.id == current.id {
            raw_current.to_owned()
        } else if self.core.token_storage() == TokenStorage::Plain {
            session.token.clone()
        } else {
            session_ref(&session.id)
        }
    }

    /// The caller's unexpired sessions (at most 100, as Better Auth caps them), without
    /// impersonation sessions.
    pub async fn list_sessions(&self, current: &SessionWithUser) -> Result<Vec<Session>> {
        let now = self.core.now();
        let fresh_age = self.core.config().session.fresh_age;
        if fresh_age > 0 && now - current.session.created_at >= Duration::seconds(fresh_age) {
            return Err(Error::SessionNotFresh);
        }
        let mut sessions = match self.core.redis_alone() {
            Some(redis) => {
                let mut all = self
                    .core
                    .redis_user_sessions(redis, &current.user.id)
                    .await?;
                all.retain(|s| s.expires_at > now);
                all.truncate(USER_SESSIONS_CAP as usize);
                all
            }
            None => {
                self.core
                    .store()
                    .list_user_sessions(&current.user.id, Some(now), USER_SESSIONS_CAP)
                    .await?
            }
        };
        sessions.retain(|s| s.impersonated_by.is_none());
        Ok(sessions)
    }

    /// Revokes one of the caller's sessions by raw token or listed handle. Like Better Auth,
    /// succeeds silently when the session is not the caller's. Returns true when it was the
    /// caller's current session.
    pub async fn revoke_session(&self, current: &SessionWithUser, token: &str) -> Result<bool> {
        let target = match parse_session_ref(token) {
            // Shared mode lists raw tokens, never handles; Redis has no index by id.
            Some(_) if self.core.redis_alone().is_some() => None,
            Some(id) => self.core.store().find_session_by_id(id).await?,
            None => self.core.find_session(token).await?.map(|f| f.session),
        };
        match target {
            Some(s) if s.user_id == current.user.id => {
                let record = self.user_ending(current);
                if let Some(redis) = self.core.redis_alone() {
                    let gone = std::slice::from_ref(&s);
                    let n = self.core.end_in_redis(redis, gone, record.as_ref()).await?;
                    m::sessions_ended(EndReason::Revoked, n);
                    return Ok(s.id == current.session.id);
                }
                let deleted = self
                    .core
                    .store()
                    .delete_session(&s.id, record.as_ref())
                    .await?;
                m::sessions_ended(EndReason::Revoked, u64::from(deleted));
                self.core.secondary_remove_one(&s.token, &s.user_id).await?;
                Ok(s.id == current.session.id)
            }
            _ => Ok(false),
        }
    }

    /// A revocation by the signed-in user.
    fn user_ending(&self, current: &SessionWithUser) -> Option<crate::domain::ending::Ending> {
        self.core
            .ending(Why::Revoked, &Actor::User(current.user.id.clone()))
    }

    pub async fn revoke_sessions(&self, current: &SessionWithUser) -> Result<u64> {
        if let Some(redis) = self.core.redis_alone() {
            let record = self.user_ending(current);
            let n = self
                .core
                .end_user_in_redis(redis, &current.user.id, None, None, record.as_ref())
                .await?;
            m::sessions_ended(EndReason::Revoked, n);
            return Ok(n);
        }
        let n = self
            .core
            .store()
            .delete_user_sessions(
                &current.user.id,
                None,
                None,
                self.user_ending(current).as_ref(),
            )
            .await?;
        m::sessions_ended(EndReason::Revoked, n);
        self.core.secondary_reconcile_user(&current.user.id).await?;
        Ok(n)
    }

    /// Deletes the caller's other unexpired sessions; expired rows are left, as Better Auth does.
    pub async fn revoke_other_sessions(&self, current: &SessionWithUser) -> Result<u64> {
        let now = self.core.now();
        if let Some(redis) = self.core.redis_alone() {
            let record = self.user_ending(current);
            let except = Some(current.session.id.as_str());
            let n = self
                .core
                .end_user_in_redis(redis, &current.user.id, except, Some(now), record.as_ref())
                .await?;
            m::sessions_ended(EndReason::Revoked, n);
            return Ok(n);
        }
        let n = self
            .core
            .store()
            .delete_user_sessions(
                &current.user.id,
                Some(&current.session.id),
                Some(now),
                self.user_ending(current).as_ref(),
            )
            .await?;
        m::sessions_ended(EndReason::Revoked, n);
        self.core.secondary_reconcile_user(&current.user.id).await?;
        Ok(n)
    }

    pub async fn update_user(
        &self,
        current: &SessionWithUser,
        name: Option<String>,
        image: Option<Option<String>>,
    ) -> Result<User> {
        let mut user = current.user.clone();
        if let Some(name) = name {
            if name.trim().is_empty() {
                return Err(Error::Validation(
                    "[body.name] Name must not be empty".into(),
                ));
            }
            check_profile(Some(&name), None)?;
            user.name = name;
        }
        if let Some(Some(image)) = &image {
            check_profile(None, Some(image))?;
        }
        if let Some(image) = image {
            user.image = image;
        }
        user.updated_at = self.core.now();
        if !self.core.store().update_user_profile(&user).await? {
            return Err(Error::Unauthorized);
        }
        self.core.cache_forget_user(&user.id).await?;
        Ok(user)
    }
}

/// The `outcome` label of a sign-in or sign-up: a fixed word per way it can end.
fn outcome<T>(result: &Result<T>) -> &'static str {
    match result {
        Ok(_) => "success",
        Err(Error::InvalidCredentials) => "invalid_credentials",
        Err(Error::Banned) => "banned",
        Err(Error::UserExists) => "user_exists",
        Err(
            Error::Validation(_)
            | Error::InvalidEmail
            | Error::PasswordTooShort
            | Error::PasswordTooLong,
        ) => "invalid_input",
        Err(_) => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(
            normalize_email(" Bob@Example.COM ").unwrap(),
            "bob@example.com"
        );
        for bad in [
            "",
            "bob",
            "@x.io",
            "bob@",
            "bob@localhost",
            "a b@x.io",
            "bob@.x",
            "a@b@c.io",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }
}
