//! The SQL of password changes and user deletion (Better Auth's `updatePassword`,
//! `createAccount` and `deleteUser` on the credential account).

use super::ended_sql::Del;
use super::engine::Dialect;
use super::statements::leak;
use super::tables::{Schema, q};

#[derive(Debug, Clone)]
pub struct AccountSql {
    pub credential_hash: &'static str,
    pub update_password: &'static str,
    pub insert_credential: &'static str,
    pub delete_user_sessions: Del,
    pub delete_user_accounts: &'static str,
    pub delete_user: &'static str,
}

impl AccountSql {
    pub fn new(schema: &Schema, dialect: &Dialect) -> Self {
        let (u, s, a) = (&schema.user, &schema.session, &schema.account);
        let (ut, st, at) = (q(&u.table), q(&s.table), q(&a.table));
        let credential = format!(
            "{} = $1 AND {} = 'credential'",
            q(&a.user_id),
            q(&a.provider_id)
        );
        Self {
            credential_hash: leak(format!(
                "SELECT {} AS \"password\" FROM {at} WHERE {credential} LIMIT 1",
                q(&a.password)
            )),
            update_password: leak(format!(
                "UPDATE {at} SET {} = $2, {} = $3 WHERE {credential}",
                q(&a.password),
                q(&a.updated_at)
            )),
            insert_credential: leak(format!(
                "INSERT INTO {at} ({}, {}, {}, {}, {}, {}, {}) VALUES ($1, $2, 'credential', $2, $3, $4, $4)",
                q(&a.id),
                q(&a.account_id),
                q(&a.provider_id),
                q(&a.user_id),
                q(&a.password),
                q(&a.created_at),
                q(&a.updated_at)
            )),
            delete_user_sessions: Del::new(
                schema,
                dialect,
                format!("DELETE FROM {st} WHERE {} = $1", q(&s.user_id)),
                2,
            ),
            delete_user_accounts: leak(format!("DELETE FROM {at} WHERE {} = $1", q(&a.user_id))),
            delete_user: leak(format!("DELETE FROM {ut} WHERE {} = $1", q(&u.id))),
        }
    }
}
