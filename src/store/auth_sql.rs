//! The SQL of the session and user paths. Both backends run the same text (SQLite accepts
//! PostgreSQL's `$n` placeholders) but for the batched session check's token condition.

use super::ended_sql::Del;
use super::engine::Dialect;
use super::statements::leak;
use super::tables::rows::{select, session_columns, user_columns};
use super::tables::{Schema, q};

#[derive(Debug, Clone)]
pub struct AuthSql {
    pub find_user_by_email: &'static str,
    pub find_user_by_id: &'static str,
    pub insert_user: &'static str,
    pub insert_account: &'static str,
    pub update_user: &'static str,
    pub find_session_with_user: &'static str,
    /// The same for a batch of tokens, bound as one parameter (see `Engine::bind_tokens`).
    pub find_sessions_batch: &'static str,
    pub find_session_by_id: &'static str,
    pub insert_session: &'static str,
    pub count_active_sessions: &'static str,
    pub evict_least_active: Del,
    pub lock_user: &'static str,
    pub touch_session: &'static str,
    pub delete_session: Del,
    pub delete_session_by_token: Del,
    pub list_user_sessions: &'static str,
    pub delete_user_sessions: Del,
    /// The user agents of a user's sessions, live and ended since `$2` (as `ua`).
    pub user_agents_seen: &'static str,
}

impl AuthSql {
    /// SQL text builder: one statement per field, no logic beyond formatting.
    pub fn new(schema: &Schema, dialect: &Dialect) -> Self {
        let u = &schema.user;
        let s = &schema.session;
        let a = &schema.account;
        let (ut, st, at) = (q(&u.table), q(&s.table), q(&a.table));
        let del = |sql: String, first: usize| Del::new(schema, dialect, sql, first);

        let session_cols = select("s", &session_columns(s));
        let user_cols = select("u", &user_columns(u));

        let session_join = format!(
            "SELECT {session_cols}, {user_cols} FROM {st} s JOIN {ut} u ON u.{} = s.{} WHERE s.{}",
            q(&u.id),
            q(&s.user_id),
            q(&s.token)
        );

        let mut user_insert_cols = vec![
            q(&u.id),
            q(&u.name),
            q(&u.email),
            q(&u.email_verified),
            q(&u.image),
            q(&u.created_at),
            q(&u.updated_at),
        ];
        // Optional columns are bound in this order: role, banned, tenantId.
        for c in [&u.role, &u.banned, &u.tenant_id].into_iter().flatten() {
            user_insert_cols.push(q(c));
        }
        let insert_user = insert_sql(&ut, &user_insert_cols);

        let mut session_insert_cols = vec![
            q(&s.id),
            q(&s.token),
            q(&s.expires_at),
            q(&s.created_at),
            q(&s.updated_at),
            q(&s.ip_address),
            q(&s.user_agent),
            q(&s.user_id),
        ];
        for c in [&s.impersonated_by, &s.active_organization_id]
            .into_iter()
            .flatten()
        {
            session_insert_cols.push(q(c));
        }
        let insert_session = insert_sql(&st, &session_insert_cols);

        // Least recently active first, by the stored activity too (see `LastActive`).
        let activity_asc = format!(
            "{} ASC, s.{} ASC, s.{} ASC",
            super::last_active::LastActive::new(schema, dialect.backend).value("s"),
            q(&s.created_at),
            q(&s.id)
        );

        let user_agents_seen = format!(
            "SELECT s.{ua} AS \"ua\" FROM {st} s WHERE s.{uid} = $1 UNION \
             SELECT e.\"userAgent\" FROM {} e WHERE e.\"userId\" = $1 AND e.\"endedAt\" >= $2",
            super::ended_sql::TABLE,
            ua = q(&s.user_agent),
            uid = q(&s.user_id),
        );
        Self {
            user_agents_seen: leak(user_agents_seen),
            find_user_by_email: leak(format!(
                "SELECT {user_cols}, a.{pw} AS \"password\" FROM {ut} u LEFT JOIN {at} a ON a.{auid} = u.{uid} AND a.{prov} = 'credential' WHERE u.{email} = $1",
                pw = q(&a.password),
                auid = q(&a.user_id),
                uid = q(&u.id),
                prov = q(&a.provider_id),
                email = q(&u.email),
            )),
            find_user_by_id: leak(format!(
                "SELECT {user_cols} FROM {ut} u WHERE u.{} = $1",
                q(&u.id)
            )),
            insert_user: leak(insert_user),
            insert_account: leak(insert_sql(
                &at,
                &[
                    q(&a.id),
                    q(&a.account_id),
                    q(&a.provider_id),
                    q(&a.user_id),
                    q(&a.password),
                    q(&a.created_at),
                    q(&a.updated_at),
                ],
            )),
            update_user: leak(format!(
                "UPDATE {ut} SET {} = $2, {} = $3, {} = $4 WHERE {} = $1",
                q(&u.name),
                q(&u.image),
                q(&u.updated_at),
                q(&u.id)
            )),
            find_session_with_user: leak(format!("{session_join} = $1")),
            find_sessions_batch: leak(format!("{session_join} {}", dialect.token_in_batch)),
            find_session_by_id: leak(format!(
                "SELECT {session_cols} FROM {st} s WHERE s.{} = $1",
                q(&s.id)
            )),
            insert_session: leak(insert_session),
            count_active_sessions: leak(format!(
                "SELECT COUNT(*) AS \"n\" FROM {st} WHERE {} = $1 AND {} >= $2",
                q(&s.user_id),
                q(&s.expires_at)
            )),
            evict_least_active: del(
                format!(
                    "DELETE FROM {st} WHERE {id} IN (SELECT s.{id} FROM {st} s WHERE s.{uid} = $1 AND s.{exp} >= $2 ORDER BY {activity_asc} LIMIT $3)",
                    id = q(&s.id),
                    uid = q(&s.user_id),
                    exp = q(&s.expires_at),
                ),
                4,
            ),
            lock_user: leak(format!(
                "SELECT 1 FROM {ut} WHERE {} = $1 FOR UPDATE",
                q(&u.id)
            )),
            touch_session: leak(format!(
                "UPDATE {st} SET {} = $2, {} = $3 WHERE {} = $1",
                q(&s.expires_at),
                q(&s.updated_at),
                q(&s.id)
            )),
            delete_session: del(format!("DELETE FROM {st} WHERE {} = $1", q(&s.id)), 2),
            delete_session_by_token: del(format!("DELETE FROM {st} WHERE {} = $1", q(&s.token)), 2),
            list_user_sessions: leak(format!(
                "SELECT {session_cols} FROM {st} s WHERE s.{uid} = $1 AND ($2 IS NULL OR s.{exp} > $2) ORDER BY s.{created} ASC, s.{id} ASC LIMIT $3",
                uid = q(&s.user_id),
                exp = q(&s.expires_at),
                created = q(&s.created_at),
                id = q(&s.id),
            )),
            delete_user_sessions: del(
                format!(
                    "DELETE FROM {st} WHERE {uid} = $1 AND ($2 IS NULL OR {id} <> $2) AND ($3 IS NULL OR {exp} >= $3)",
                    uid = q(&s.user_id),
                    id = q(&s.id),
                    exp = q(&s.expires_at),
                ),
                4,
            ),
        }
    }
}

fn insert_sql(table: &str, cols: &[String]) -> String {
    let params: Vec<String> = (1..=cols.len()).map(|i| format!("${i}")).collect();
    format!(
        "INSERT INTO {table} ({}) VALUES ({})",
        cols.join(", "),
        params.join(", ")
    )
}
