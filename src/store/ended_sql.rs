//! The SQL of termination records: each session delete's recorded form, which writes one
//! record per removed session in the same statement (PostgreSQL: a data-modifying CTE) or the
//! same transaction (SQLite: `INSERT ... SELECT` over the same selection, then the delete),
//! set-based either way; and the history's listing and pruning.

use super::Backend;
use super::engine::Dialect;
use super::statements::leak;
use super::tables::{Schema, q};

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
/// by five more, numbered from `first`: `reason`, `actor` (NULL: the session's own user),
/// `endedAt`, whether to write termination records, and how many receivers get a
/// `session.ended` event (0: none).
#[derive(Debug, Clone, Copy)]
pub struct Del {
    pub plain: &'static str,
    /// PostgreSQL: the one statement that deletes, records and enqueues, returning the count
    /// as `n`. SQLite: the records' insert, run before the delete.
    pub recorded: &'static str,
    /// SQLite: the events' insert, run before the delete (unused on PostgreSQL).
    pub events: &'static str,
}

impl Del {
    /// `delete` must read `DELETE FROM <session table> [alias] WHERE ...`; its caller binds
    /// `first - 1` arguments.
    pub fn new(schema: &Schema, dialect: &Dialect, delete: String, first: usize) -> Self {
        let (recorded, events) = recorded(schema, dialect.backend, &delete, first);
        Self {
            recorded: leak(recorded),
            events: leak(events),
            plain: leak(delete),
        }
    }

    /// The pair of a tenant-scoped statement pair (see `cleanup_sql`).
    pub fn pair(schema: &Schema, dialect: &Dialect, deletes: [&str; 2], first: usize) -> [Del; 2] {
        deletes.map(|d| Del::new(schema, dialect, d.to_owned(), first))
    }
}

/// The `SELECT` list of a record from session alias `s` (with its user joined as `u`).
fn record_select(schema: &Schema, s: &str, first: usize) -> String {
    let c = &schema.session;
    format!(
        "{s}.{id}, {s}.{uid}, {tenant}, {s}.{created}, {s}.{upd}, {s}.{ip}, {s}.{ua}, ${at}, ${reason}, COALESCE(${actor}, {s}.{uid})",
        id = q(&c.id),
        uid = q(&c.user_id),
        tenant = schema.tenant_expr(s, "u"),
        created = q(&c.created_at),
        upd = q(&c.updated_at),
        ip = q(&c.ip_address),
        ua = q(&c.user_agent),
        reason = first,
        actor = first + 1,
        at = first + 2,
    )
}

fn user_join(schema: &Schema, s: &str) -> String {
    format!(
        "LEFT JOIN {} u ON u.{} = {s}.{}",
        q(&schema.user.table),
        q(&schema.user.id),
        q(&schema.session.user_id)
    )
}

/// The `SELECT` list of a `session.ended` outbox row from session alias `s`.
fn event_select(schema: &Schema, s: &str, first: usize) -> String {
    let c = &schema.session;
    format!(
        "ep.n, 'session.ended', {s}.{id}, {s}.{id}, {s}.{uid}, {tenant}, ${reason}, COALESCE(${actor}, {s}.{uid}), ${at}, ${at}",
        id = q(&c.id),
        uid = q(&c.user_id),
        tenant = schema.tenant_expr(s, "u"),
        reason = first,
        actor = first + 1,
        at = first + 2,
    )
}

/// The two inserts of a recorded delete reading session alias `s`, from the CTE `s` (no
/// `filter`) or from the session table as `s` filtered by `filter` (a `WHERE` clause): records
/// (when parameter `first + 3` is true) and events (one per receiver below parameter
/// `first + 4`).
fn inserts(schema: &Schema, s: &str, first: usize, filter: Option<&str>) -> (String, String) {
    let join = user_join(schema, s);
    let (rec, eps) = (first + 3, first + 4);
    let (source, filter) = match filter {
        Some(f) => (
            format!("{} {s}", q(&schema.session.table)),
            format!("{f} AND"),
        ),
        None => (s.to_owned(), "WHERE".to_owned()),
    };
    (
        format!(
            "INSERT INTO {TABLE} ({COLUMNS}) SELECT {} FROM {source} {join} {filter} ${rec}",
            record_select(schema, s, first)
        ),
        format!(
            "INSERT INTO {OUTBOX} ({OUTBOX_ENDED}) SELECT {} FROM {source} {join} CROSS JOIN ({}) ep \
             {filter} ep.n < ${eps} ORDER BY {s}.{}, ep.n",
            event_select(schema, s, first),
            endpoints(),
            q(&schema.session.id)
        ),
    )
}

/// The recorded forms of a session delete (see [`Del`]): `(recorded, events)`.
pub fn recorded(schema: &Schema, backend: Backend, delete: &str, first: usize) -> (String, String) {
    match backend {
        // One statement: records and events are what the delete returns. The table's rows
        // never leave the database, so `*` (which includes the token) is safe here.
        Backend::Postgres => {
            let (rec, ev) = inserts(schema, "x", first, None);
            (
                format!(
                    "WITH x AS ({delete} RETURNING *), r AS ({rec}), o AS ({ev}) SELECT COUNT(*) AS \"n\" FROM x"
                ),
                String::new(),
            )
        }
        // SQLite cannot read a DELETE's RETURNING in a statement: the same selection is
        // recorded first, then deleted, inside one write transaction (which holds SQLite's one
        // write lock, so the selection cannot change in between).
        Backend::Sqlite => {
            let rest = delete.strip_prefix("DELETE ").unwrap_or(delete);
            let id = q(&schema.session.id);
            let filter = format!("WHERE x.{id} IN (SELECT {id} {rest})");
            inserts(schema, "x", first, Some(&filter))
        }
    }
}

/// The recorded form of the heap walk's capped delete, a CTE whose delete is `d AS (DELETE ...
/// RETURNING 1)`: records and events are inserted from the same returned rows.
pub fn recorded_capped(schema: &Schema, capped: &str, first: usize) -> String {
    let (rec, ev) = inserts(schema, "d", first, None);
    capped.replacen(
        "RETURNING 1)",
        &format!("RETURNING *), rec AS ({rec}), ev AS ({ev})"),
        1,
    )
}

/// Listing and pruning the history.
#[derive(Debug, Clone)]
pub struct EndedSql {
    /// `$1` tenant, `$2` user, `$3` reason, `$4` ended from, `$5` ended before, `$6`/`$7` the
    /// keyset cursor (`endedAt`, `sessionId`), `$8` the page size; every filter optional.
    pub list: &'static str,
    /// Deletes records that ended before `$1`.
    pub prune: &'static str,
}

impl EndedSql {
    pub fn new() -> Self {
        Self {
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

impl Default for EndedSql {
    fn default() -> Self {
        Self::new()
    }
}
