//! The SQL of termination records: each session delete's recorded form, which writes one
//! record per removed session in the same statement (PostgreSQL: a data-modifying CTE) or the
//! same transaction (SQLite: `INSERT ... SELECT` over the same selection, then the delete),
//! set-based either way; and the history's listing and pruning.

use super::Backend;
use super::engine::Dialect;
use super::last_active::LastActive;
use super::statements::leak;
use super::tables::{Schema, TenantColumn, q};
use crate::domain::ending::Ending;

pub const TABLE: &str = "\"sessionkeeper_session_ended\"";

/// The record's columns, in the order every recorded form writes them.
const COLUMNS: &str = "\"sessionId\", \"userId\", \"tenantId\", \"createdAt\", \"lastActiveAt\", \
                       \"ipAddress\", \"userAgent\", \"endedAt\", \"reason\", \"actor\"";

pub const OUTBOX: &str = "\"sessionkeeper_outbox\"";

/// The outbox columns a `session.ended` event fills.
const OUTBOX_ENDED: &str = "\"endpoint\", \"type\", \"orderKey\", \"sessionId\", \"userId\", \
                            \"tenantId\", \"reason\", \"actor\", \"occurredAt\", \"nextAttemptAt\"";

/// One row per receiver index (`ep.n`, below `limits::WEBHOOK_URLS`), cut to the configured
/// count by the statement's `endpoints` parameter.
fn endpoints() -> String {
    (0..crate::domain::limits::WEBHOOK_URLS)
        .map(|i| format!("SELECT {i} AS n"))
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

/// A session delete and its recorded forms. These take the delete's own parameters followed
/// by three more, numbered from `first`: `reason`, `actor` (NULL: the session's own user),
/// `endedAt`; the forms that enqueue events take a fourth, how many receivers get a
/// `session.ended` event (see [`Del::form`]).
///
/// Each combination (records, events, both) has its own statement rather than one statement
/// switched by parameters: a switched-off insert still made PostgreSQL read, join and sort
/// every deleted row for nothing.
#[derive(Debug, Clone, Copy)]
pub struct Del {
    pub plain: &'static str,
    /// PostgreSQL: the one statement that deletes and records, returning the count as `n`.
    /// SQLite: the records' insert, run before the delete.
    pub records: &'static str,
    /// PostgreSQL: the one statement that deletes and enqueues. SQLite: the events' insert,
    /// run before the delete.
    pub events: &'static str,
    /// PostgreSQL: the one statement that deletes, records and enqueues (empty on SQLite,
    /// which runs `records` then `events`).
    pub both: &'static str,
}

impl Del {
    /// `delete` must read `DELETE FROM <session table> [alias] WHERE ...`; its caller binds
    /// `first - 1` arguments.
    pub fn new(schema: &Schema, dialect: &Dialect, delete: String, first: usize) -> Self {
        let [records, events, both] = recorded(schema, dialect.backend, &delete, first);
        Self {
            records: leak(records),
            events: leak(events),
            both: leak(both),
            plain: leak(delete),
        }
    }

    /// The forms of each statement of a tenant-scoped pair (see `cleanup_sql`), or of a
    /// layer's three variants (unscoped, scoped, excluding the overriding tenants).
    pub fn pair<const N: usize>(
        schema: &Schema,
        dialect: &Dialect,
        deletes: [&str; N],
        first: usize,
    ) -> [Del; N] {
        deletes.map(|d| Del::new(schema, dialect, d.to_owned(), first))
    }

    /// PostgreSQL: the one statement for `end` (which [`Ending::new`] never makes with
    /// neither records nor receivers).
    ///
    /// [`Ending::new`]: crate::domain::ending::Ending::new
    pub fn form(&self, end: &Ending) -> &'static str {
        match (end.record, end.endpoints > 0) {
            (true, true) => self.both,
            (false, true) => self.events,
            _ => self.records,
        }
    }
}

/// The `SELECT` list of a record from session alias `s` (with its tenant as `tenant` and its
/// last activity as `last`).
fn record_select(schema: &Schema, s: &str, tenant: &str, last: &str, first: usize) -> String {
    let c = &schema.session;
    format!(
        "{s}.{id}, {s}.{uid}, {tenant}, {s}.{created}, {last}, {s}.{ip}, {s}.{ua}, ${at}, ${reason}, COALESCE(${actor}, {s}.{uid})",
        id = q(&c.id),
        uid = q(&c.user_id),
        created = q(&c.created_at),
        ip = q(&c.ip_address),
        ua = q(&c.user_agent),
        reason = first,
        actor = first + 1,
        at = first + 2,
    )
}

fn user_join(schema: &Schema, s: &str) -> String {
    match schema.tenant {
        // SQLite: the join is only for a tenant kept on the user.
        TenantColumn::User(_) => format!(
            " LEFT JOIN {} u ON u.{} = {s}.{}",
            q(&schema.user.table),
            q(&schema.user.id),
            q(&schema.session.user_id)
        ),
        _ => String::new(),
    }
}

/// The `SELECT` list of a `session.ended` outbox row from session alias `s`.
fn event_select(schema: &Schema, s: &str, tenant: &str, first: usize) -> String {
    let c = &schema.session;
    format!(
        "ep.n, 'session.ended', {s}.{id}, {s}.{id}, {s}.{uid}, {tenant}, ${reason}, COALESCE(${actor}, {s}.{uid}), ${at}, ${at}",
        id = q(&c.id),
        uid = q(&c.user_id),
        reason = first,
        actor = first + 1,
        at = first + 2,
    )
}

/// The two inserts of a recorded delete reading session alias `s` from `source` (a `FROM`
/// body) filtered by `filter` (a `WHERE` clause or empty), its tenant read as `tenant` and its
/// last activity as `last`:
/// records, and events (one per receiver below parameter `first + 3`). No `ORDER BY`: one
/// delete ends each session once, so the order of its rows in the outbox says nothing.
fn inserts(
    schema: &Schema,
    s: &str,
    tenant: &str,
    last: &str,
    first: usize,
    source: &str,
    filter: &str,
) -> (String, String) {
    let eps = first + 3;
    let filter = if filter.is_empty() {
        "WHERE".to_owned()
    } else {
        format!("{filter} AND")
    };
    (
        format!(
            "INSERT INTO {TABLE} ({COLUMNS}) SELECT {} FROM {source} {}",
            record_select(schema, s, tenant, last, first),
            filter.strip_suffix(" AND").unwrap_or("")
        ),
        format!(
            "INSERT INTO {OUTBOX} ({OUTBOX_ENDED}) SELECT {} FROM {source} CROSS JOIN ({}) ep \
             {filter} ep.n < ${eps}",
            event_select(schema, s, tenant, first),
            endpoints(),
        ),
    )
}

/// The session columns a recorded delete returns: what records and events read, never the
/// token; a user-column tenant as `sk_tenant`, looked up per returned row through the user's
/// primary key. A join would be planned as a hash of the whole user table in every statement:
/// a fixed cost per batch that made the heap walk shrink its ranges to a block each.
fn returning(schema: &Schema, delete: &str) -> String {
    let c = &schema.session;
    // The deleted row by its alias, or by the table's name when it has none.
    let st = q(&c.table);
    let after = delete
        .find(&st)
        .map(|i| &delete[i + st.len()..])
        .unwrap_or("");
    let alias = match after.split_whitespace().next() {
        Some(a) if !a.eq_ignore_ascii_case("WHERE") => a.to_owned(),
        _ => st,
    };
    // `updatedAt` carries the last activity into the record.
    let last = LastActive::new(schema, Backend::Postgres).value(&alias);
    let mut cols = vec![
        q(&c.id),
        q(&c.user_id),
        q(&c.created_at),
        format!("{last} AS {}", q(&c.updated_at)),
        q(&c.ip_address),
        q(&c.user_agent),
    ];
    match &schema.tenant {
        TenantColumn::Session(t) => cols.push(q(t)),
        TenantColumn::User(t) => {
            cols.push(format!(
                "(SELECT u.{} FROM {} u WHERE u.{} = {alias}.{}) AS sk_tenant",
                q(t),
                q(&schema.user.table),
                q(&schema.user.id),
                q(&c.user_id)
            ));
        }
        TenantColumn::Absent => {}
    }
    cols.join(", ")
}

/// The tenant of a row returned by a recorded delete as `d` (see [`returning`]).
fn returned_tenant(schema: &Schema, d: &str) -> String {
    match schema.tenant {
        TenantColumn::User(_) => format!("{d}.sk_tenant"),
        _ => schema.tenant_expr(d, "u"),
    }
}

/// PostgreSQL: the CTEs after a delete CTE `d` that record and/or enqueue what it returned,
/// as `[records, events, both]`.
fn pg_ctes(schema: &Schema, d: &str, first: usize) -> [String; 3] {
    let tenant = returned_tenant(schema, d);
    let last = format!("{d}.{}", q(&schema.session.updated_at));
    let (rec, ev) = inserts(schema, d, &tenant, &last, first, d, "");
    [
        format!("rec AS ({rec})"),
        format!("ev AS ({ev})"),
        format!("rec AS ({rec}), ev AS ({ev})"),
    ]
}

/// The recorded forms of a session delete (see [`Del`]): `[records, events, both]`.
pub fn recorded(schema: &Schema, backend: Backend, delete: &str, first: usize) -> [String; 3] {
    match backend {
        // One statement: records and events are what the delete returns.
        Backend::Postgres => pg_ctes(schema, "x", first).map(|ctes| {
            format!(
                "WITH x AS ({delete} RETURNING {}), {ctes} SELECT COUNT(*) AS \"n\" FROM x",
                returning(schema, delete)
            )
        }),
        // SQLite cannot read a DELETE's RETURNING in a statement: the same selection is
        // recorded first, then deleted, inside one write transaction (which holds SQLite's one
        // write lock, so the selection cannot change in between).
        Backend::Sqlite => {
            let rest = delete.strip_prefix("DELETE ").unwrap_or(delete);
            let id = q(&schema.session.id);
            let filter = format!("WHERE x.{id} IN (SELECT {id} {rest})");
            let source = format!("{} x{}", q(&schema.session.table), user_join(schema, "x"));
            let tenant = schema.tenant_expr("x", "u");
            let last = LastActive::new(schema, backend).value("x");
            let (rec, ev) = inserts(schema, "x", &tenant, &last, first, &source, &filter);
            [rec, ev, String::new()]
        }
    }
}

/// The recorded forms of the heap walk's capped delete, a CTE whose delete is `d AS (DELETE
/// ... RETURNING 1)`: records and/or events are inserted from the same returned rows, as
/// `[records, events, both]`.
pub fn recorded_capped(schema: &Schema, capped: &str, first: usize) -> [String; 3] {
    let delete = capped
        .find("d AS (DELETE ")
        .map(|i| &capped[i + 6..])
        .unwrap_or(capped);
    pg_ctes(schema, "d", first).map(|ctes| {
        capped.replacen(
            "RETURNING 1)",
            &format!("RETURNING {}), {ctes}", returning(schema, delete)),
            1,
        )
    })
}

/// Listing and pruning the history.
#[derive(Debug, Clone)]
pub struct EndedSql {
    /// `$1` tenant, `$2` user, `$3` reason, `$4` ended from, `$5` ended before, `$6`/`$7` the
    /// keyset cursor (`endedAt`, `sessionId`), `$8` the page size; every filter optional.
    pub list: &'static str,
    /// Deletes records that ended before `$1`.
    pub prune: &'static str,
    /// One record of a session that had no row (the app keeps it in Redis): `$1` id, `$2`
    /// user, `$3` tenant (or NULL: the user's, where the tenant is a user column), `$4`
    /// createdAt, `$5` lastActiveAt, `$6` ip, `$7` user agent, `$8` endedAt, `$9` reason, `$10`
    /// actor (NULL: the user).
    pub record_one: &'static str,
    /// Its `session.ended` events: `$1` id, `$2` user, `$3` tenant (as above), `$4` reason,
    /// `$5` actor, `$6` endedAt, `$7` the receiver count.
    pub enqueue_one: &'static str,
}

impl EndedSql {
    pub fn new(schema: &Schema) -> Self {
        let tenant = match &schema.tenant {
            TenantColumn::User(c) => format!(
                "COALESCE($3, (SELECT u.{} FROM {} u WHERE u.{} = $2))",
                q(c),
                q(&schema.user.table),
                q(&schema.user.id)
            ),
            _ => "$3".to_owned(),
        };
        Self {
            record_one: leak(format!(
                "INSERT INTO {TABLE} ({COLUMNS}) SELECT $1, $2, {tenant}, $4, $5, $6, $7, $8, $9, COALESCE($10, $2)"
            )),
            enqueue_one: leak(format!(
                "INSERT INTO {OUTBOX} ({OUTBOX_ENDED}) SELECT ep.n, 'session.ended', $1, $1, $2, {tenant}, $4, COALESCE($5, $2), $6, $6 \
                 FROM ({}) ep WHERE ep.n < $7",
                endpoints()
            )),
            list: leak(format!(
                "SELECT {COLUMNS} FROM {TABLE} \
                 WHERE ($1 IS NULL OR \"tenantId\" = $1) AND ($2 IS NULL OR \"userId\" = $2) \
                 AND ($3 IS NULL OR \"reason\" = $3) AND ($4 IS NULL OR \"endedAt\" >= $4) \
                 AND ($5 IS NULL OR \"endedAt\" < $5) \
                 AND ($6 IS NULL OR \"endedAt\" < $6 OR (\"endedAt\" = $6 AND \"sessionId\" < $7)) \
                 ORDER BY \"endedAt\" DESC, \"sessionId\" DESC LIMIT $8"
            )),
            prune: leak(format!("DELETE FROM {TABLE} WHERE \"endedAt\" < $1")),
        }
    }
}
