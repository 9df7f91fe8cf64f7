//! SQL of the admin views, assembled from the [`Schema`] per request *shape*.
//!
//! The listing and deletion filters combine freely, and one catch-all statement
//! (`$1 IS NULL OR ...`) would let PostgreSQL settle on a generic plan that scans a million rows
//! for a one-user filter. So each combination of filters gets its own text, built the first
//! time it is seen and interned as `&'static str` (sqlx wants `'static` SQL). Only column names
//! and placeholders go into the text; every value is bound, so the number of distinct texts is
//! bounded by the number of filter combinations.

use super::admin::{
    DeleteCriteria, Operator, SessionFilter, SessionPage, StatsQuery, UserField, UserQuery,
};
use super::ended_sql::{Del, recorded};
use super::engine::Dialect;
use super::last_active::LastActive;
use super::statements::leak;
use super::tables::rows::{ADMIN_SESSION, pick, select, session_columns, user_columns};
use super::tables::{Schema, TenantColumn, q};
use crate::domain::session_status::{SessionStatus, StatusCutoffs};
use std::collections::HashMap;
use std::sync::Mutex;
use time::OffsetDateTime;

/// A bound value.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Text(Option<String>),
    Time(Option<OffsetDateTime>),
    Int(i64),
    Bool(bool),
}

/// A statement and its arguments, in placeholder order.
#[derive(Debug, Clone)]
pub struct Built {
    pub sql: &'static str,
    pub args: Vec<Arg>,
}

/// Session ids of a bulk deletion are bound in chunks of this many placeholders (padded with
/// NULL), so the statement text does not depend on how many ids were sent.
pub const ID_SLOTS: usize = 100;

pub const AUDIT_TABLE: &str = "\"sessionkeeper_audit\"";

#[derive(Default)]
struct Builder {
    args: Vec<Arg>,
    conds: Vec<String>,
}

impl Builder {
    fn arg(&mut self, a: Arg) -> String {
        self.args.push(a);
        format!("${}", self.args.len())
    }

    fn arg_no(&mut self, a: Arg) -> usize {
        self.args.push(a);
        self.args.len()
    }

    fn cond(&mut self, c: String) {
        self.conds.push(c);
    }

    fn where_sql(&self) -> String {
        if self.conds.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conds.join(" AND "))
        }
    }
}

/// One statement's worth of deletion criteria (a chunk of ids, or no ids).
pub struct Part(Builder);

/// `%text%` for LIKE, lowercased, with LIKE's metacharacters escaped by `\`.
fn like_pattern(text: &str, prefix: bool, suffix: bool) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    if prefix {
        out.push('%');
    }
    for ch in text.to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    if suffix {
        out.push('%');
    }
    out
}

pub struct AdminSql {
    schema: Schema,
    dialect: &'static Dialect,
    st: String,
    ut: String,
    s_id: String,
    s_user: String,
    s_created: String,
    s_expires: String,
    s_ip: String,
    s_ua: String,
    u_id: String,
    /// A session's last activity (see [`LastActive`]).
    last: LastActive,
    /// The admin session columns, joined user alias `u` (see `rows::decode_admin_session`).
    session_cols: String,
    user_cols: String,
    pub find_session: &'static str,
    pub delete_session: Del,
    pub delete_session_in_tenant: Del,
    pub delete_user_sessions: Del,
    pub insert_audit: &'static str,
    pub user_in_tenant: &'static str,
    pub set_role: Option<&'static str>,
    pub set_ban: Option<&'static str>,
    shapes: Mutex<HashMap<String, &'static str>>,
}

impl AdminSql {
    /// The fixed statements; the others are built per request shape by the methods below.
    pub fn new(schema: &Schema, dialect: &'static Dialect) -> Self {
        let s = &schema.session;
        let u = &schema.user;
        let col = |c: &str| format!("s.{}", q(c));
        let st = q(&s.table);
        let ut = q(&u.table);
        let del = |sql: String, first: usize| Del::new(schema, dialect, sql, first);
        let last = LastActive::new(schema, dialect.backend);
        let session_cols = format!(
            "{}, u.{} AS \"u_email\", u.{} AS \"u_name\", {} AS \"tenantId\", {} AS \"lastActiveAt\"",
            select("s", &pick(&session_columns(s), ADMIN_SESSION)),
            q(&u.email),
            q(&u.name),
            schema.tenant_expr("s", "u"),
            last.value("s"),
        );
        let from_joined = format!(
            "{st} s LEFT JOIN {ut} u ON u.{} = s.{}",
            q(&u.id),
            q(&s.user_id)
        );
        let user_tenant = user_tenant_filter(schema, 2);
        let set_role = u.role.as_ref().map(|role| {
            leak(format!(
                "UPDATE {ut} SET {} = $2, {} = $3 WHERE {} = $1",
                q(role),
                q(&u.updated_at),
                q(&u.id)
            ))
        });
        let set_ban = match (&u.banned, &u.ban_reason, &u.ban_expires) {
            (Some(b), Some(r), Some(e)) => Some(leak(format!(
                "UPDATE {ut} SET {} = $2, {} = $3, {} = $4, {} = $5 WHERE {} = $1",
                q(b),
                q(r),
                q(e),
                q(&u.updated_at),
                q(&u.id)
            ))),
            _ => None,
        };
        Self {
            find_session: leak(format!(
                "SELECT {session_cols} FROM {from_joined} WHERE s.{} = $1",
                q(&s.id)
            )),
            delete_session: del(format!("DELETE FROM {st} WHERE {} = $1", q(&s.id)), 2),
            delete_session_in_tenant: del(
                format!(
                    "DELETE FROM {st} WHERE {id} IN (SELECT s.{id} FROM {st} s WHERE s.{id} = $1 AND {})",
                    schema.tenant_filter("s", 2),
                    id = q(&s.id)
                ),
                3,
            ),
            delete_user_sessions: del(format!("DELETE FROM {st} WHERE {} = $1", q(&s.user_id)), 2),
            insert_audit: leak(format!(
                "INSERT INTO {AUDIT_TABLE} (\"id\", \"at\", \"actor\", \"action\", \"target\", \"criteria\", \"count\", \"tenantId\") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            )),
            user_in_tenant: leak(format!(
                "SELECT 1 FROM {ut} u WHERE u.{} = $1 AND {user_tenant}",
                q(&u.id)
            )),
            set_role,
            set_ban,
            user_cols: select("u", &user_columns(u)),
            s_id: col(&s.id),
            s_user: col(&s.user_id),
            s_created: col(&s.created_at),
            s_expires: col(&s.expires_at),
            s_ip: col(&s.ip_address),
            s_ua: col(&s.user_agent),
            u_id: format!("u.{}", q(&u.id)),
            last,
            session_cols,
            st,
            ut,
            schema: schema.clone(),
            dialect,
            shapes: Mutex::new(HashMap::new()),
        }
    }

    /// The `'static` copy of `sql`, made the first time this text is seen.
    fn intern(&self, sql: String) -> &'static str {
        let mut shapes = self.shapes.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(found) = shapes.get(&sql) {
            return found;
        }
        let leaked = leak(sql.clone());
        shapes.insert(sql, leaked);
        leaked
    }

    fn built(&self, sql: String, b: Builder) -> Built {
        Built {
            sql: self.intern(sql),
            args: b.args,
        }
    }

    fn tenant_cond(&self, b: &mut Builder, tenant: &Option<String>) {
        if let Some(t) = tenant {
            let n = b.arg_no(Arg::Text(Some(t.clone())));
            b.cond(self.schema.tenant_filter("s", n));
        }
    }

    /// A case-insensitive LIKE (see `Dialect::ilike`).
    fn ilike(&self, column: &str, param: &str) -> String {
        format!("{column} {} {param} ESCAPE '\\'", self.dialect.ilike)
    }

    fn contains_cond(&self, b: &mut Builder, column: &str, text: &Option<String>) {
        if let Some(t) = text {
            let p = b.arg(Arg::Text(Some(like_pattern(t, true, true))));
            b.cond(self.ilike(column, &p));
        }
    }

    fn eq_cond(&self, b: &mut Builder, column: &str, value: &Option<String>) {
        if let Some(v) = value {
            let p = b.arg(Arg::Text(Some(v.clone())));
            b.cond(format!("{column} = {p}"));
        }
    }

    fn time_cond(&self, b: &mut Builder, column: &str, op: &str, at: Option<OffsetDateTime>) {
        if let Some(t) = at {
            let p = b.arg(Arg::Time(Some(t)));
            b.cond(format!("{column} {op} {p}"));
        }
    }

    /// Last active at or after (`since`) or before `at`.
    fn last_used_cond(&self, b: &mut Builder, since: bool, at: Option<OffsetDateTime>) {
        if let Some(t) = at {
            let p = b.arg(Arg::Time(Some(t)));
            b.cond(if since {
                self.last.since("s", &p)
            } else {
                self.last.before("s", &p)
            });
        }
    }

    fn status_cond(&self, b: &mut Builder, status: SessionStatus, c: &StatusCutoffs) {
        let now = b.arg(Arg::Time(Some(c.now)));
        let exp = &self.s_expires;
        let cond = match status {
            SessionStatus::Expired => format!("{exp} < {now}"),
            SessionStatus::Inactive => {
                let cut = b.arg(Arg::Time(Some(c.inactive_before)));
                format!("{exp} >= {now} AND {}", self.last.before("s", &cut))
            }
            SessionStatus::Active => {
                let cut = b.arg(Arg::Time(Some(c.inactive_before)));
                format!("{exp} >= {now} AND {}", self.last.since("s", &cut))
            }
        };
        b.cond(cond);
    }

    fn filter_conds(&self, b: &mut Builder, f: &SessionFilter, c: &StatusCutoffs) {
        self.tenant_cond(b, &f.tenant);
        self.eq_cond(b, &self.s_user, &f.user_id);
        if let Some(status) = f.status {
            self.status_cond(b, status, c);
        }
        self.eq_cond(b, &self.s_ip, &f.ip);
        self.contains_cond(b, &self.s_ua, &f.user_agent);
        self.time_cond(b, &self.s_created, ">=", f.created_from);
        self.time_cond(b, &self.s_created, "<", f.created_to);
        self.last_used_cond(b, true, f.last_used_from);
        self.last_used_cond(b, false, f.last_used_to);
    }

    fn newest_first(&self) -> String {
        format!("{} DESC, {} DESC", self.s_created, self.s_id)
    }

    pub fn list_sessions(&self, page: &SessionPage) -> Built {
        let mut b = Builder::default();
        self.filter_conds(&mut b, &page.filter, &page.cutoffs);
        if let Some((at, id)) = &page.after {
            let pa = b.arg(Arg::Time(Some(*at)));
            let pi = b.arg(Arg::Text(Some(id.clone())));
            // A row comparison, so PostgreSQL walks the (createdAt, id) index from the cursor.
            b.cond(format!(
                "({}, {}) < ({pa}, {pi})",
                self.s_created, self.s_id
            ));
        }
        let limit = b.arg(Arg::Int(i64::from(page.limit)));
        let sql = format!(
            "SELECT {} FROM {} s LEFT JOIN {} u ON {} = {}{} ORDER BY {} LIMIT {limit}",
            self.session_cols,
            self.st,
            self.ut,
            self.u_id,
            self.s_user,
            b.where_sql(),
            self.newest_first()
        );
        self.built(sql, b)
    }

    /// Criteria split into statements: one per chunk of [`ID_SLOTS`] ids, or one in all.
    pub fn deletion_parts(&self, c: &DeleteCriteria) -> Vec<Part> {
        let chunks: Vec<Option<&[String]>> = match &c.session_ids {
            Some(ids) => ids.chunks(ID_SLOTS).map(Some).collect(),
            None => vec![None],
        };
        chunks
            .into_iter()
            .map(|chunk| {
                let mut b = Builder::default();
                if let Some(ids) = chunk {
                    let slots: Vec<String> = (0..ID_SLOTS)
                        .map(|i| b.arg(Arg::Text(ids.get(i).cloned())))
                        .collect();
                    b.cond(format!("{} IN ({})", self.s_id, slots.join(", ")));
                }
                self.eq_cond(&mut b, &self.s_user, &c.user_id);
                self.tenant_cond(&mut b, &c.tenant);
                self.time_cond(&mut b, &self.s_created, "<", c.created_before);
                self.last_used_cond(&mut b, false, c.used_before);
                self.time_cond(&mut b, &self.s_expires, "<", c.expired_at);
                self.eq_cond(&mut b, &self.s_ip, &c.ip);
                self.contains_cond(&mut b, &self.s_ua, &c.user_agent);
                if let Some(keep) = &c.keep_id {
                    let p = b.arg(Arg::Text(Some(keep.clone())));
                    b.cond(format!("{} <> {p}", self.s_id));
                }
                if let (Some(role), Some(column)) = (&c.spare_role, &self.schema.user.role) {
                    let p = b.arg(Arg::Text(Some(format!(
                        "%,{},%",
                        role.to_ascii_lowercase()
                    ))));
                    b.cond(format!(
                        "NOT EXISTS (SELECT 1 FROM {} su WHERE su.{} = {} AND ',' || LOWER(REPLACE(su.{}, ' ', '')) || ',' LIKE {p})",
                        self.ut,
                        q(&self.schema.user.id),
                        self.s_user,
                        q(column)
                    ));
                }
                Part(b)
            })
            .collect()
    }

    pub fn count_matching(&self, part: &Part) -> Built {
        let b = Builder {
            args: part.0.args.clone(),
            conds: part.0.conds.clone(),
        };
        let sql = format!(
            "SELECT COUNT(*) AS \"n\" FROM {} s{}",
            self.st,
            b.where_sql()
        );
        self.built(sql, b)
    }

    pub fn sample_matching(&self, part: &Part, limit: u32) -> Built {
        let mut b = Builder {
            args: part.0.args.clone(),
            conds: part.0.conds.clone(),
        };
        let where_sql = b.where_sql();
        let limit = b.arg(Arg::Int(i64::from(limit)));
        let sql = format!(
            "SELECT {} FROM {} s LEFT JOIN {} u ON {} = {}{where_sql} ORDER BY {} LIMIT {limit}",
            self.session_cols,
            self.st,
            self.ut,
            self.u_id,
            self.s_user,
            self.newest_first()
        );
        self.built(sql, b)
    }

    /// One batch of a bulk delete, with its recorded form (see [`Del`]): the same arguments
    /// followed by the ending's three.
    pub fn delete_batch(&self, part: &Part, batch: u32) -> (Built, Del) {
        let mut b = Builder {
            args: part.0.args.clone(),
            conds: part.0.conds.clone(),
        };
        let where_sql = b.where_sql();
        let limit = b.arg(Arg::Int(i64::from(batch)));
        let id = q(&self.schema.session.id);
        let sql = format!(
            "DELETE FROM {st} WHERE {id} IN (SELECT {} FROM {st} s{where_sql} LIMIT {limit})",
            self.s_id,
            st = self.st
        );
        let [records, events, both] =
            recorded(&self.schema, self.dialect.backend, &sql, b.args.len() + 1);
        let built = self.built(sql, b);
        let del = Del {
            plain: built.sql,
            records: self.intern(records),
            events: self.intern(events),
            both: self.intern(both),
        };
        (built, del)
    }

    fn stats_scope(&self, b: &mut Builder, q: &StatsQuery) -> String {
        self.tenant_cond(b, &q.tenant);
        b.where_sql()
    }

    /// Per-user counts in one grouping pass (an index-only scan of `(userId, expiresAt,
    /// updatedAt)` on PostgreSQL), feeding three kinds of rows told apart by the first column:
    /// `0` the totals (sessions, expired, inactive, users, users over the limit), `1` the top
    /// users, `2` sessions per tenant (user-column tenants only; see [`Self::stats_org_tenants`]).
    pub fn stats_users(&self, sq: &StatsQuery) -> Built {
        let mut b = Builder::default();
        let now = b.arg(Arg::Time(Some(sq.cutoffs.now)));
        let cut = b.arg(Arg::Time(Some(sq.cutoffs.inactive_before)));
        let max = b.arg(Arg::Int(i64::from(sq.max_sessions_per_user)));
        let top = b.arg(Arg::Int(i64::from(sq.top_users.max(1))));
        let scope = self.stats_scope(&mut b, sq);
        let (exp, user) = (&self.s_expires, &self.s_user);
        let idle = self.last.before("s", &cut);
        let (ut, uid) = (&self.ut, &self.u_id);
        let (email, name) = (q(&self.schema.user.email), q(&self.schema.user.name));
        let tenants = match &self.schema.tenant {
            TenantColumn::User(c) => format!(
                " UNION ALL SELECT 2, u.{c}, NULL, NULL, CAST(SUM(pu.n) AS BIGINT), 0, 0, 0, 0 \
                 FROM per_user pu LEFT JOIN {ut} u ON {uid} = pu.uid GROUP BY u.{c}",
                c = q(c)
            ),
            // Without a tenant column every session counts under `null`.
            TenantColumn::Absent => {
                " UNION ALL SELECT 2, NULL, NULL, NULL, CAST(SUM(n) AS BIGINT), 0, 0, 0, 0 \
                 FROM per_user HAVING COUNT(*) > 0"
                    .to_owned()
            }
            TenantColumn::Session(_) => String::new(),
        };
        let sql = format!(
            "WITH per_user AS MATERIALIZED (SELECT {user} AS uid, COUNT(*) AS n, \
             SUM(CASE WHEN {exp} < {now} THEN 1 ELSE 0 END) AS expired, \
             SUM(CASE WHEN {exp} >= {now} AND {idle} THEN 1 ELSE 0 END) AS inactive \
             FROM {st} s{scope} GROUP BY {user}) \
             SELECT 0 AS \"kind\", NULL AS \"id\", NULL AS \"email\", NULL AS \"name\", \
             CAST(COALESCE(SUM(n), 0) AS BIGINT) AS \"n\", CAST(COALESCE(SUM(expired), 0) AS BIGINT) AS \"expired\", \
             CAST(COALESCE(SUM(inactive), 0) AS BIGINT) AS \"inactive\", COUNT(*) AS \"users\", \
             CAST(COALESCE(SUM(CASE WHEN n - expired > {max} THEN 1 ELSE 0 END), 0) AS BIGINT) AS \"over\" FROM per_user \
             UNION ALL SELECT 1, t.uid, u.{email}, u.{name}, t.n, 0, 0, 0, 0 \
             FROM (SELECT uid, n FROM per_user ORDER BY n DESC, uid ASC LIMIT {top}) t LEFT JOIN {ut} u ON {uid} = t.uid{tenants}",
            st = self.st,
        );
        self.built(sql, b)
    }

    /// Sessions per organisation, when tenants are a column of the session itself.
    pub fn stats_org_tenants(&self, sq: &StatsQuery) -> Option<Built> {
        let TenantColumn::Session(c) = &self.schema.tenant else {
            return None;
        };
        let mut b = Builder::default();
        let scope = self.stats_scope(&mut b, sq);
        let sql = format!(
            "SELECT s.{c} AS \"tenant\", COUNT(*) AS \"n\" FROM {st} s{scope} GROUP BY s.{c} ORDER BY 2 DESC LIMIT {cap}",
            c = q(c),
            st = self.st,
            cap = crate::domain::limits::STATS_TENANTS,
        );
        Some(self.built(sql, b))
    }

    /// `(userAgent, count)`, most common first (an index-only scan of `userAgent` on PostgreSQL).
    pub fn stats_agents(&self, sq: &StatsQuery) -> Built {
        let mut b = Builder::default();
        let scope = self.stats_scope(&mut b, sq);
        let limit = b.arg(Arg::Int(i64::from(sq.agent_limit)));
        let sql = format!(
            "SELECT {ua} AS \"agent\", COUNT(*) AS \"n\" FROM {st} s{scope} GROUP BY {ua} ORDER BY 2 DESC LIMIT {limit}",
            ua = self.s_ua,
            st = self.st
        );
        self.built(sql, b)
    }

    /// Sessions created per day (one column per `[days[i], days[i+1])` bucket), then created
    /// since `created_since`, then the `createdAt` of the oldest active session. For all
    /// tenants each column is its own range count on the `createdAt` index (cheaper than one
    /// scan testing thirty ranges per row); for one tenant, one pass over its recent sessions
    /// (thirty range counts would each repeat the tenant join).
    pub fn stats_days(&self, sq: &StatsQuery) -> Built {
        let mut b = Builder::default();
        let bounds: Vec<String> = sq.days.iter().map(|d| b.arg(Arg::Time(Some(*d)))).collect();
        let since = b.arg(Arg::Time(Some(sq.created_since)));
        let now = b.arg(Arg::Time(Some(sq.cutoffs.now)));
        let cut = b.arg(Arg::Time(Some(sq.cutoffs.inactive_before)));
        let tenant = match &sq.tenant {
            Some(t) => {
                let n = b.arg_no(Arg::Text(Some(t.clone())));
                format!(" AND {}", self.schema.tenant_filter("s", n))
            }
            None => String::new(),
        };
        let (created, st) = (&self.s_created, &self.st);
        let oldest = format!(
            "(SELECT MIN({created}) FROM {st} s WHERE {} >= {now} AND {}{tenant}) AS \"oldest\"",
            self.s_expires,
            self.last.since("s", &cut)
        );
        let sql = if tenant.is_empty() {
            let mut cols: Vec<String> = bounds
                .windows(2)
                .enumerate()
                .map(|(i, w)| {
                    format!(
                        "(SELECT COUNT(*) FROM {st} s WHERE {created} >= {} AND {created} < {}) AS \"d{i}\"",
                        w[0], w[1]
                    )
                })
                .collect();
            cols.push(format!(
                "(SELECT COUNT(*) FROM {st} s WHERE {created} >= {since}) AS \"since\""
            ));
            cols.push(oldest);
            format!("SELECT {}", cols.join(", "))
        } else {
            let mut cols: Vec<String> = bounds
                .windows(2)
                .enumerate()
                .map(|(i, w)| {
                    format!(
                        "SUM(CASE WHEN {created} >= {} AND {created} < {} THEN 1 ELSE 0 END) AS \"d{i}\"",
                        w[0], w[1]
                    )
                })
                .collect();
            cols.push(format!(
                "SUM(CASE WHEN {created} >= {since} THEN 1 ELSE 0 END) AS \"since\""
            ));
            cols.push(oldest);
            // The first day starts long before `since` (30 days against 24 hours).
            let first = bounds.first().unwrap_or(&since);
            format!(
                "SELECT {} FROM {st} s WHERE {created} >= {first}{tenant}",
                cols.join(", ")
            )
        };
        self.built(sql, b)
    }

    pub fn list_audit(
        &self,
        tenant: Option<&str>,
        after: Option<(OffsetDateTime, String)>,
        limit: u32,
    ) -> Built {
        let mut b = Builder::default();
        if let Some(t) = tenant {
            let p = b.arg(Arg::Text(Some(t.to_owned())));
            b.cond(format!("a.\"tenantId\" = {p}"));
        }
        if let Some((at, id)) = after {
            let pa = b.arg(Arg::Time(Some(at)));
            let pi = b.arg(Arg::Text(Some(id)));
            b.cond(format!("(a.\"at\", a.\"id\") < ({pa}, {pi})"));
        }
        let limit = b.arg(Arg::Int(i64::from(limit)));
        let sql = format!(
            "SELECT a.\"id\", a.\"at\", a.\"actor\", a.\"action\", a.\"target\", a.\"criteria\", a.\"count\", a.\"tenantId\" \
             FROM {AUDIT_TABLE} a{} ORDER BY a.\"at\" DESC, a.\"id\" DESC LIMIT {limit}",
            b.where_sql()
        );
        self.built(sql, b)
    }

    fn user_col(&self, f: UserField) -> String {
        let u = &self.schema.user;
        let c = match f {
            UserField::Id => Some(&u.id),
            UserField::Email => Some(&u.email),
            UserField::Name => Some(&u.name),
            UserField::Role => u.role.as_ref(),
            UserField::Banned => u.banned.as_ref(),
            UserField::EmailVerified => Some(&u.email_verified),
            UserField::CreatedAt => Some(&u.created_at),
            UserField::UpdatedAt => Some(&u.updated_at),
        };
        c.map_or_else(|| "NULL".to_owned(), |c| format!("u.{}", q(c)))
    }

    fn user_conds(&self, b: &mut Builder, uq: &UserQuery) {
        if let Some(t) = &uq.tenant {
            let n = b.arg_no(Arg::Text(Some(t.clone())));
            b.cond(user_tenant_filter(&self.schema, n));
        }
        if let Some((field, op, text)) = &uq.search {
            let pattern = like_pattern(
                text,
                matches!(op, Operator::Contains | Operator::EndsWith),
                matches!(op, Operator::Contains | Operator::StartsWith),
            );
            let p = b.arg(Arg::Text(Some(pattern)));
            b.cond(format!(
                "LOWER({}) LIKE {p} ESCAPE '\\'",
                self.user_col(*field)
            ));
        }
        if let Some((field, op, value)) = &uq.filter {
            use super::admin::FilterValue as V;
            let col = self.user_col(*field);
            let (col, arg) = match value {
                V::Text(t)
                    if matches!(
                        op,
                        Operator::Contains | Operator::StartsWith | Operator::EndsWith
                    ) =>
                {
                    let pattern = like_pattern(
                        t,
                        matches!(op, Operator::Contains | Operator::EndsWith),
                        matches!(op, Operator::Contains | Operator::StartsWith),
                    );
                    let p = b.arg(Arg::Text(Some(pattern)));
                    b.cond(self.ilike(&col, &p));
                    return;
                }
                V::Text(t) => (col, Arg::Text(Some(t.clone()))),
                // Rows written without the admin plugin have NULL for false.
                V::Bool(v) => (format!("COALESCE({col}, FALSE)"), Arg::Bool(*v)),
                V::Time(t) => (col, Arg::Time(Some(*t))),
            };
            let p = b.arg(arg);
            let sym = match op {
                Operator::Eq => "=",
                Operator::Ne => "<>",
                Operator::Lt => "<",
                Operator::Lte => "<=",
                Operator::Gt => ">",
                Operator::Gte => ">=",
                Operator::Contains | Operator::StartsWith | Operator::EndsWith => "=",
            };
            b.cond(format!("{col} {sym} {p}"));
        }
    }

    pub fn list_users(&self, uq: &UserQuery) -> Built {
        let mut b = Builder::default();
        self.user_conds(&mut b, uq);
        let (field, desc) = uq.sort.unwrap_or((UserField::CreatedAt, false));
        let dir = if desc { "DESC" } else { "ASC" };
        let limit = b.arg(Arg::Int(i64::from(uq.limit)));
        let offset = b.arg(Arg::Int(i64::try_from(uq.offset).unwrap_or(i64::MAX)));
        let sql = format!(
            "SELECT {} FROM {} u{} ORDER BY {} {dir}, {} {dir} LIMIT {limit} OFFSET {offset}",
            self.user_cols,
            self.ut,
            b.where_sql(),
            self.user_col(field),
            self.u_id
        );
        self.built(sql, b)
    }

    pub fn count_users(&self, uq: &UserQuery) -> Built {
        let mut b = Builder::default();
        self.user_conds(&mut b, uq);
        let sql = format!(
            "SELECT COUNT(*) AS \"n\" FROM {} u{}",
            self.ut,
            b.where_sql()
        );
        self.built(sql, b)
    }
}

/// A predicate on user alias `u`: the user belongs to tenant `$param`.
fn user_tenant_filter(schema: &Schema, param: usize) -> String {
    match &schema.tenant {
        TenantColumn::User(c) => format!("u.{} = ${param}", q(c)),
        // Organisations live in the plugin's member table, which sessionkeeper does not read;
        // a user belongs to the organisation their sessions are active in.
        TenantColumn::Session(c) => format!(
            "u.{} IN (SELECT ts.{} FROM {} ts WHERE ts.{} = ${param})",
            q(&schema.user.id),
            q(&schema.session.user_id),
            q(&schema.session.table),
            q(c)
        ),
        TenantColumn::Absent => format!("(CAST(${param} AS TEXT) IS NULL AND 1 = 0)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_metacharacters() {
        assert_eq!(
            like_pattern("Fire%fox_\\", true, true),
            "%fire\\%fox\\_\\\\%"
        );
        assert_eq!(like_pattern("ab", false, true), "ab%");
        assert_eq!(like_pattern("ab", true, false), "%ab");
    }

    #[test]
    fn statement_texts_depend_on_the_shape_not_the_values() {
        let aq = AdminSql::new(
            &Schema::default(),
            crate::store::Backend::Postgres.dialect(),
        );
        let now = OffsetDateTime::now_utc();
        let page = |user: &str| SessionPage {
            filter: SessionFilter {
                user_id: Some(user.into()),
                ..Default::default()
            },
            cutoffs: StatusCutoffs::new(now, 30),
            after: None,
            limit: 10,
        };
        let (a, b) = (aq.list_sessions(&page("a")), aq.list_sessions(&page("b")));
        assert!(std::ptr::eq(a.sql, b.sql), "same shape, same interned text");
        assert!(!a.sql.contains("'a'"), "values are bound, never inlined");
        let ids: Vec<String> = (0..250).map(|i| format!("id{i}")).collect();
        let c = DeleteCriteria {
            session_ids: Some(ids),
            ..Default::default()
        };
        let parts = aq.deletion_parts(&c);
        assert_eq!(parts.len(), 3);
        assert!(std::ptr::eq(
            aq.count_matching(&parts[0]).sql,
            aq.count_matching(&parts[2]).sql
        ));
    }
}
