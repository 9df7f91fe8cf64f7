//! Better Auth's admin plugin operations (docs/better-auth-compat.md §4.2), confined to the
//! actor's tenant.
//!
//! A tenant admin may not touch a global admin, nor hand out the global `admin` role: either
//! would let them reach past their tenant.

use super::audit::Record;
use super::tenant_rule::Target;
use super::types::*;
use super::{ADMIN_ROLE, Actor, AdminService, text};
use crate::domain::ending::EndReason;
use crate::domain::limits::{
    BAN_REASON_LEN, DELETE_BATCH, ID_LEN, MAX_BAN_SECONDS, MAX_ROLES, ROLE_LEN, SEARCH_LEN,
    TOKEN_LEN, USER_SESSIONS_CAP, USERS_MAX_OFFSET, USERS_PAGE,
};
use crate::domain::token::parse_session_ref;
use crate::domain::{Scope, User};
use crate::service::{Error, Result};
use crate::store::admin::{Ban, DeleteCriteria, FilterValue, Operator, UserField, UserQuery};
use serde_json::json;
use time::Duration;

/// The `YOU_ARE_NOT_ALLOWED_TO_*` refusal of one admin plugin route.
#[derive(Debug, Clone, Copy)]
pub struct Permission {
    pub code: &'static str,
    pub message: &'static str,
}

pub const LIST_USERS: Permission = Permission {
    code: "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS",
    message: "You are not allowed to list users",
};
pub const LIST_SESSIONS: Permission = Permission {
    code: "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS_SESSIONS",
    message: "You are not allowed to list users sessions",
};
pub const REVOKE_SESSIONS: Permission = Permission {
    code: "YOU_ARE_NOT_ALLOWED_TO_REVOKE_USERS_SESSIONS",
    message: "You are not allowed to revoke users sessions",
};
pub const BAN: Permission = Permission {
    code: "YOU_ARE_NOT_ALLOWED_TO_BAN_USERS",
    message: "You are not allowed to ban users",
};
pub const SET_PASSWORD: Permission = Permission {
    code: "YOU_ARE_NOT_ALLOWED_TO_SET_USERS_PASSWORD",
    message: "You are not allowed to set users password",
};
pub const SET_ROLE: Permission = Permission {
    code: "YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE",
    message: "You are not allowed to change users role",
};

impl Permission {
    pub fn denied(self) -> Error {
        Error::Forbidden {
            code: self.code,
            message: self.message.into(),
        }
    }
}

fn user_not_found() -> Error {
    Error::NotFound {
        code: "USER_NOT_FOUND",
        message: "User not found".into(),
    }
}

fn field(name: &str, what: &str, allowed: &[(&str, UserField)]) -> Result<UserField> {
    allowed
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
        .ok_or_else(|| {
            let names: Vec<&str> = allowed.iter().map(|(n, _)| *n).collect();
            Error::Validation(format!(
                "{what} must be one of {}, got {name:?}",
                names.join(", ")
            ))
        })
}

fn operator(name: &str, what: &str, allowed: &[(&str, Operator)]) -> Result<Operator> {
    allowed
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, o)| *o)
        .ok_or_else(|| {
            let names: Vec<&str> = allowed.iter().map(|(n, _)| *n).collect();
            Error::Validation(format!(
                "{what} must be one of {}, got {name:?}",
                names.join(", ")
            ))
        })
}

const FILTER_FIELDS: &[(&str, UserField)] = &[
    ("id", UserField::Id),
    ("email", UserField::Email),
    ("name", UserField::Name),
    ("role", UserField::Role),
    ("banned", UserField::Banned),
    ("emailVerified", UserField::EmailVerified),
    ("createdAt", UserField::CreatedAt),
    ("updatedAt", UserField::UpdatedAt),
];
const SORT_FIELDS: &[(&str, UserField)] = &[
    ("createdAt", UserField::CreatedAt),
    ("updatedAt", UserField::UpdatedAt),
    ("name", UserField::Name),
    ("email", UserField::Email),
    ("role", UserField::Role),
    ("id", UserField::Id),
];
const OPERATORS: &[(&str, Operator)] = &[
    ("eq", Operator::Eq),
    ("ne", Operator::Ne),
    ("lt", Operator::Lt),
    ("lte", Operator::Lte),
    ("gt", Operator::Gt),
    ("gte", Operator::Gte),
    ("contains", Operator::Contains),
    ("starts_with", Operator::StartsWith),
    ("ends_with", Operator::EndsWith),
];

/// The `filterValue` of `list-users`, read as the type of the field it filters.
fn filter_value(name: &str, f: UserField, o: Operator, value: String) -> Result<FilterValue> {
    Ok(match f {
        UserField::Banned | UserField::EmailVerified => {
            if !matches!(o, Operator::Eq | Operator::Ne) {
                return Err(Error::Validation(format!(
                    "{name} can only be compared with eq or ne"
                )));
            }
            match value.as_str() {
                "true" => FilterValue::Bool(true),
                "false" => FilterValue::Bool(false),
                _ => {
                    return Err(Error::Validation(format!(
                        "filterValue for {name} must be true or false"
                    )));
                }
            }
        }
        UserField::CreatedAt | UserField::UpdatedAt => {
            if matches!(
                o,
                Operator::Contains | Operator::StartsWith | Operator::EndsWith
            ) {
                return Err(Error::Validation(format!(
                    "{name} cannot be compared with a text operator"
                )));
            }
            FilterValue::Time(crate::domain::timefmt::parse(&value).ok_or_else(|| {
                Error::Validation(format!(
                    "filterValue for {name} must be an ISO-8601 timestamp"
                ))
            })?)
        }
        _ => FilterValue::Text(text("filterValue", Some(value), SEARCH_LEN)?.unwrap_or_default()),
    })
}

/// Validates Better Auth's `list-users` query.
fn user_query(p: ListUsersParams, scope: &Scope) -> Result<UserQuery> {
    let search = match text("searchValue", p.search_value, SEARCH_LEN)? {
        None => None,
        Some(v) => {
            let f = field(
                p.search_field.as_deref().unwrap_or("email"),
                "searchField",
                &FILTER_FIELDS[1..3],
            )?;
            let o = operator(
                p.search_operator.as_deref().unwrap_or("contains"),
                "searchOperator",
                &OPERATORS[6..],
            )?;
            Some((f, o, v))
        }
    };
    let filter = match (p.filter_field, p.filter_value) {
        (None, None) => None,
        (Some(name), Some(value)) => {
            let f = field(&name, "filterField", FILTER_FIELDS)?;
            let o = operator(
                p.filter_operator.as_deref().unwrap_or("eq"),
                "filterOperator",
                OPERATORS,
            )?;
            let v = filter_value(&name, f, o, value)?;
            Some((f, o, v))
        }
        _ => {
            return Err(Error::Validation(
                "filterField and filterValue go together".into(),
            ));
        }
    };
    if p.filter_operator.is_some() && filter.is_none() {
        return Err(Error::Validation(
            "filterOperator needs filterField and filterValue".into(),
        ));
    }
    let sort = match p.sort_by {
        None => None,
        Some(name) => {
            let f = field(&name, "sortBy", SORT_FIELDS)?;
            let desc = match p.sort_direction.as_deref().unwrap_or("asc") {
                "asc" => false,
                "desc" => true,
                other => {
                    return Err(Error::Validation(format!(
                        "sortDirection must be asc or desc, got {other:?}"
                    )));
                }
            };
            Some((f, desc))
        }
    };
    let limit = super::page_limit(p.limit, USERS_PAGE)?;
    let offset = p.offset.unwrap_or(0);
    if offset > USERS_MAX_OFFSET {
        return Err(Error::Validation(format!(
            "offset must be at most {USERS_MAX_OFFSET}, got {offset}"
        )));
    }
    Ok(UserQuery {
        tenant: scope.tenant().map(str::to_owned),
        search,
        filter,
        sort,
        limit,
        offset,
    })
}

/// One role name: what Better Auth's access control can hold, and no comma (the separator).
fn valid_role(r: &str) -> bool {
    !r.is_empty()
        && r.len() <= ROLE_LEN
        && r.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_:.".contains(&b))
}

impl AdminService {
    pub async fn list_users(&self, actor: &Actor, p: ListUsersParams) -> Result<UserList> {
        let (limit, offset) = (p.limit, p.offset);
        let q = user_query(p, &actor.scope)?;
        let (users, total) = self.core.store().list_users(&q).await?;
        Ok(UserList {
            users,
            total,
            limit,
            offset,
        })
    }

    /// The tenant an action on `user` is recorded under: the user's own with the user column,
    /// else the actor's (an organisation belongs to sessions, not users).
    fn tenant_of<'a>(&self, actor: &'a Actor, user: &'a User) -> Option<&'a str> {
        match self.core.config().admin.tenant_source {
            crate::config::TenantSource::UserColumn => user.tenant_id.as_deref(),
            crate::config::TenantSource::ActiveOrganization => actor.scope.tenant(),
        }
    }

    /// The target user, when the actor may act on them ([`AdminService::authorize`], the
    /// tenant rule). `perm` names the refusal; tenant admins learn nothing about users they
    /// may not reach, not even whether they exist.
    async fn target_user(
        &self,
        actor: &Actor,
        user_id: &str,
        perm: Permission,
        wide: bool,
    ) -> Result<User> {
        super::required("userId", user_id, ID_LEN)?;
        let Some(user) = self.core.store().find_user(user_id).await? else {
            return Err(match actor.scope {
                Scope::All => user_not_found(),
                Scope::Tenant(_) => perm.denied(),
            });
        };
        let target = if wide {
            Target::UserWide(&user)
        } else {
            Target::UserSessions(&user)
        };
        if self.authorize(actor, target).await? {
            Ok(user)
        } else {
            Err(perm.denied())
        }
    }

    /// Better Auth's `list-user-sessions`: expired sessions included, capped at 100; `token` is
    /// the `ref_<id>` handle (owned mode keeps only hashes, and a token is never shown anyway).
    pub async fn list_user_sessions(
        &self,
        actor: &Actor,
        user_id: &str,
    ) -> Result<SessionsEnvelope> {
        let user = self
            .target_user(actor, user_id, LIST_SESSIONS, false)
            .await?;
        let mut sessions = match self.core.redis_alone() {
            Some(redis) => {
                let mut all = self.core.redis_user_sessions(redis, &user.id).await?;
                all.truncate(USER_SESSIONS_CAP as usize);
                all
            }
            None => {
                self.core
                    .store()
                    .list_user_sessions(&user.id, None, USER_SESSIONS_CAP)
                    .await?
            }
        };
        if let (Scope::Tenant(t), crate::config::TenantSource::ActiveOrganization) =
            (&actor.scope, self.core.config().admin.tenant_source)
        {
            sessions.retain(|s| s.active_organization_id.as_deref() == Some(t.as_str()));
        }
        let shown: Vec<String> = sessions
            .iter()
            .map(|s| crate::domain::token::session_ref(&s.id))
            .collect();
        let sessions = sessions
            .iter()
            .zip(&shown)
            .map(|(s, t)| serde_json::to_value(s.to_json(t)).unwrap_or_default())
            .collect();
        Ok(SessionsEnvelope { sessions })
    }

    /// Better Auth's `revoke-user-session`. Succeeds when there is no such session, as Better
    /// Auth does; another tenant's session is refused.
    pub async fn revoke_user_session(&self, actor: &Actor, token: &str) -> Result<SuccessBody> {
        super::required("sessionToken", token, TOKEN_LEN)?;
        if let Some(redis) = self.core.redis_alone() {
            let revoked = self
                .revoke_user_session_in_redis(redis, actor, token)
                .await?;
            self.stats_changed().await;
            return Ok(revoked);
        }
        let id = match parse_session_ref(token) {
            Some(id) => Some(id.to_owned()),
            None => self.core.find_session(token).await?.map(|f| f.session.id),
        };
        let session = match id {
            Some(id) => self.core.store().find_admin_session(&id).await?,
            None => None,
        };
        let Some(session) = session else {
            return Ok(SuccessBody { success: true });
        };
        if let Scope::Tenant(t) = &actor.scope
            && (session.tenant_id.as_deref() != Some(t.as_str())
                || !self.may_end_session_of(actor, &session.user_id).await?)
        {
            return Err(REVOKE_SESSIONS.denied());
        }
        if self
            .core
            .store()
            .delete_admin_session(
                &session.id,
                actor.scope.tenant(),
                actor.ending(&self.core, EndReason::RevokedByAdmin).as_ref(),
            )
            .await?
        {
            let record = Record {
                action: "user.revoke_session",
                target: Some(format!("session:{}", session.id)),
                criteria: None,
                count: 1,
                tenant: session.tenant_id.as_deref(),
            };
            self.audit(actor, record).await;
            self.stats_changed().await;
            self.core.secondary_reconcile_user(&session.user_id).await?;
        }
        Ok(SuccessBody { success: true })
    }

    pub async fn revoke_user_sessions(&self, actor: &Actor, user_id: &str) -> Result<SuccessBody> {
        let user = self
            .target_user(actor, user_id, REVOKE_SESSIONS, false)
            .await?;
        let c = DeleteCriteria {
            user_id: Some(user.id.clone()),
            tenant: actor.scope.tenant().map(str::to_owned),
            spare_role: Self::spared_role(actor),
            ..Default::default()
        };
        let record = actor.ending(&self.core, EndReason::RevokedByAdmin);
        let count = match self.core.redis_alone() {
            Some(redis) => {
                super::redis_admin::refuse_tenant_scope(actor)?;
                self.core
                    .end_user_in_redis(redis, &user.id, None, None, record.as_ref())
                    .await?
            }
            None => {
                self.core
                    .store()
                    .delete_matching(&c, DELETE_BATCH, record.as_ref())
                    .await?
            }
        };
        let record = Record {
            action: "user.revoke_sessions",
            target: Some(format!("user:{}", user.id)),
            criteria: None,
            count,
            tenant: self.tenant_of(actor, &user),
        };
        self.audit(actor, record).await;
        if count > 0 {
            self.stats_changed().await;
        }
        self.core.secondary_reconcile_user(&user.id).await?;
        Ok(SuccessBody { success: true })
    }

    pub async fn ban_user(&self, actor: &Actor, body: BanBody) -> Result<UserEnvelope> {
        if actor.user.as_ref().is_some_and(|u| u.id == body.user_id) {
            return Err(Error::BadRequest {
                code: "YOU_CANNOT_BAN_YOURSELF",
                message: "You cannot ban yourself".into(),
            });
        }
        let reason = text("banReason", body.ban_reason, BAN_REASON_LEN)?
            .unwrap_or_else(|| "No reason".into());
        let expires = match body.ban_expires_in {
            None => None,
            Some(s) if (1..=MAX_BAN_SECONDS).contains(&s) => {
                Some(self.core.now() + Duration::seconds(s))
            }
            Some(s) => {
                return Err(Error::Validation(format!(
                    "banExpiresIn must be between 1 and {MAX_BAN_SECONDS} seconds, got {s}"
                )));
            }
        };
        let user = self.target_user(actor, &body.user_id, BAN, true).await?;
        let ban = Ban {
            reason: reason.clone(),
            expires,
        };
        let end = actor.ending(&self.core, EndReason::Banned);
        let (user, deleted) = match self.core.redis_alone() {
            Some(redis) => {
                // The ban first, so the Node app refuses a new sign-in while the sessions go.
                let user = self
                    .core
                    .store()
                    .set_user_ban_only(&user.id, &ban, self.core.now())
                    .await?
                    .ok_or_else(user_not_found)?;
                let n = self
                    .core
                    .end_user_in_redis(redis, &user.id, None, None, end.as_ref())
                    .await?;
                (user, n)
            }
            None => self
                .core
                .store()
                .set_user_ban(&user.id, Some(&ban), self.core.now(), end.as_ref())
                .await?
                .ok_or_else(user_not_found)?,
        };
        let record = Record {
            action: "user.ban",
            target: Some(format!("user:{}", user.id)),
            criteria: Some(json!({ "banReason": reason, "banExpiresIn": body.ban_expires_in })),
            count: deleted,
            tenant: self.tenant_of(actor, &user),
        };
        self.audit(actor, record).await;
        if deleted > 0 {
            self.stats_changed().await;
        }
        self.core.secondary_reconcile_user(&user.id).await?;
        Ok(UserEnvelope { user })
    }

    pub async fn unban_user(&self, actor: &Actor, user_id: &str) -> Result<UserEnvelope> {
        let user = self.target_user(actor, user_id, BAN, true).await?;
        let (user, _) = self
            .core
            .store()
            .set_user_ban(&user.id, None, self.core.now(), None)
            .await?
            .ok_or_else(user_not_found)?;
        self.core.cache_forget_user(&user.id).await?;
        let record = Record {
            action: "user.unban",
            target: Some(format!("user:{}", user.id)),
            criteria: None,
            count: 1,
            tenant: self.tenant_of(actor, &user),
        };
        self.audit(actor, record).await;
        Ok(UserEnvelope { user })
    }

    pub async fn set_role(&self, actor: &Actor, body: SetRoleBody) -> Result<UserEnvelope> {
        let roles: Vec<String> = match body.role {
            RoleValue::One(r) => vec![r],
            RoleValue::Many(rs) => rs,
        };
        if roles.is_empty() || roles.len() > MAX_ROLES || !roles.iter().all(|r| valid_role(r)) {
            return Err(Error::Validation(format!(
                "role must be a role name or a list of 1 to {MAX_ROLES} role names (letters, digits, - _ : .)"
            )));
        }
        if actor.scope != Scope::All && roles.iter().any(|r| r.eq_ignore_ascii_case(ADMIN_ROLE)) {
            return Err(SET_ROLE.denied());
        }
        let role = roles.join(",");
        let user = self
            .target_user(actor, &body.user_id, SET_ROLE, true)
            .await?;
        let user = self
            .core
            .store()
            .set_user_role(&user.id, &role, self.core.now())
            .await?
            .ok_or_else(user_not_found)?;
        // A cached copy with the old role would keep its permissions.
        self.core.cache_forget_user(&user.id).await?;
        let record = Record {
            action: "user.set_role",
            target: Some(format!("user:{}", user.id)),
            criteria: Some(json!({ "role": role })),
            count: 1,
            tenant: self.tenant_of(actor, &user),
        };
        self.audit(actor, record).await;
        Ok(UserEnvelope { user })
    }

    /// Better Auth's `set-user-password` (creating the credential account when the user has
    /// none). Unlike Better Auth, it also ends every session of the user: an admin resets a
    /// password to throw someone out.
    pub async fn set_user_password(
        &self,
        actor: &Actor,
        body: SetUserPasswordBody,
    ) -> Result<StatusBody> {
        if body.new_password.is_empty() {
            return Err(Error::Validation("newPassword cannot be empty".into()));
        }
        crate::service::check_password(&body.new_password)?;
        let user = self
            .target_user(actor, &body.user_id, SET_PASSWORD, true)
            .await?;
        let algorithm = self.core.config().session.password_hash;
        let password = body.new_password;
        let hash = self
            .core
            .hashing(move || crate::domain::password::hash(&password, algorithm))
            .await?;
        let ending = actor.ending(&self.core, EndReason::PasswordChanged);
        let redis = self.core.redis_alone();
        let end = match redis {
            Some(_) => crate::store::account::EndSessions::None,
            None => crate::store::account::EndSessions::All(ending.clone()),
        };
        let (_, mut ended) = self
            .core
            .store()
            .set_password(&user.id, &hash, self.core.now(), true, end)
            .await?;
        if let Some(redis) = redis {
            ended = self
                .core
                .end_user_in_redis(redis, &user.id, None, None, ending.as_ref())
                .await?;
        }
        let record = Record {
            action: "user.set_password",
            target: Some(format!("user:{}", user.id)),
            criteria: None,
            count: ended,
            tenant: self.tenant_of(actor, &user),
        };
        self.audit(actor, record).await;
        if ended > 0 {
            self.core.secondary_reconcile_user(&user.id).await?;
        }
        Ok(StatusBody { status: true })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_users_query_is_validated() {
        let all = Scope::All;
        let ok = ListUsersParams {
            search_value: Some("ada".into()),
            ..Default::default()
        };
        let q = user_query(ok, &all).unwrap();
        assert_eq!(
            q.search,
            Some((UserField::Email, Operator::Contains, "ada".into()))
        );
        assert_eq!(q.limit, 100);
        for bad in [
            ListUsersParams {
                search_value: Some("x".into()),
                search_field: Some("password".into()),
                ..Default::default()
            },
            ListUsersParams {
                sort_by: Some("password".into()),
                ..Default::default()
            },
            ListUsersParams {
                sort_by: Some("name".into()),
                sort_direction: Some("up".into()),
                ..Default::default()
            },
            ListUsersParams {
                filter_field: Some("banned".into()),
                filter_value: Some("maybe".into()),
                ..Default::default()
            },
            ListUsersParams {
                filter_field: Some("role".into()),
                ..Default::default()
            },
            ListUsersParams {
                limit: Some(0),
                ..Default::default()
            },
            ListUsersParams {
                limit: Some(1_000_000),
                ..Default::default()
            },
        ] {
            assert!(user_query(bad.clone(), &all).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn role_names_are_checked() {
        assert!(valid_role("tenant-admin"));
        assert!(!valid_role("a,b"));
        assert!(!valid_role(""));
        assert!(!valid_role("a b"));
    }
}
