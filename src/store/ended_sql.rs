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

/// A session delete and its recorded form. The recorded form takes the delete's own
/// parameters followed by three more, `reason`, `actor` (NULL: the session's own user) and
/// `endedAt`, numbered from `first`.
#[derive(Debug, Clone, Copy)]
pub struct Del {
    pub plain: &'static str,
    pub recorded: &'static str,
}

impl Del {
    /// `delete` must read `DELETE FROM <session table> [alias] WHERE ...`; its caller binds
    /// `first - 1` arguments.
    pub fn new(schema: &Schema, dialect: &Dialect, delete: String, first: usize) -> Self {
        Self {
            recorded: leak(recorded(schema, dialect.backend, &delete, first)),
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

/// The recorded form of a session delete (see [`Del`]).
pub fn recorded(schema: &Schema, backend: Backend, delete: &str, first: usize) -> String {
    let select = record_select(schema, "x", first);
    let join = user_join(schema, "x");
    match backend {
        // One statement: the records are what the delete returns. The table's rows never
        // leave the database, so `*` (which includes the token) is safe here.
        Backend::Postgres => format!(
            "WITH x AS ({delete} RETURNING *) INSERT INTO {TABLE} ({COLUMNS}) SELECT {select} FROM x {join}"
        ),
        // SQLite cannot read a DELETE's RETURNING in a statement: the same selection is
        // recorded first, then deleted, inside one write transaction (which holds SQLite's one
        // write lock, so the selection cannot change in between).
        Backend::Sqlite => {
            let rest = delete.strip_prefix("DELETE ").unwrap_or(delete);
            let st = q(&schema.session.table);
            let id = q(&schema.session.id);
            format!(
                "INSERT INTO {TABLE} ({COLUMNS}) SELECT {select} FROM {st} x {join} \
                 WHERE x.{id} IN (SELECT {id} {rest})"
            )
        }
    }
}

/// The recorded form of the heap walk's capped delete, a CTE whose delete is `d AS (DELETE ...
/// RETURNING 1)`: the records are inserted from the same returned rows.
pub fn recorded_capped(schema: &Schema, capped: &str, first: usize) -> String {
    let select = record_select(schema, "d", first);
    let join = user_join(schema, "d");
    capped.replacen(
        "RETURNING 1)",
        &format!(
            "RETURNING *), rec AS (INSERT INTO {TABLE} ({COLUMNS}) SELECT {select} FROM d {join})"
        ),
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
