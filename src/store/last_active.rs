//! A session's last activity in SQL: the later of `updatedAt` and the time our flush stored in
//! `sessionkeeper_activity` (issue 13), or `updatedAt` alone with `SESSION_ACTIVITY_TRACKING`
//! off ([`Schema::activity`]). Every statement that asks "idle since?" or "last used when?"
//! takes its SQL from here, in either mode: the activity table is ours, so Better Auth's tables
//! are only read.
//!
//! The conditions are written so that the `updatedAt` index still does the work: "idle before
//! `cut`" is `updatedAt < cut AND NOT EXISTS (a newer stored activity)`, one primary-key probe
//! of the activity table per session that `updatedAt` already calls idle. With the activity
//! table empty that probe finds nothing at once.

use super::Backend;
use super::tables::{Schema, q};

const TABLE: &str = "\"sessionkeeper_activity\"";

/// Whether the activity table holds any row: uncorrelated, so both databases evaluate it once
/// per statement, and with the table empty (tracking just turned on, or the bench) no session
/// costs a probe.
const ANY: &str = "EXISTS (SELECT 1 FROM \"sessionkeeper_activity\")";

/// The alias of the activity table in [`LastActive::join`].
const JOINED: &str = "sk_j";

#[derive(Debug, Clone)]
pub struct LastActive {
    id: String,
    upd: String,
    on: bool,
    backend: Backend,
}

impl LastActive {
    pub fn new(schema: &Schema, backend: Backend) -> Self {
        Self {
            id: q(&schema.session.id),
            upd: q(&schema.session.updated_at),
            on: schema.activity,
            backend,
        }
    }

    /// A timestamp expression (a bound parameter) in milliseconds since the epoch, as the
    /// activity table stores it.
    fn millis(&self, at: &str) -> String {
        match self.backend {
            // Rounded up: for a whole number of milliseconds `a`, `a >= x` is `a >= ceil(x)`,
            // and a bigint on both sides keeps the comparison cheap.
            Backend::Postgres => format!("CAST(CEIL(EXTRACT(EPOCH FROM {at}) * 1000) AS BIGINT)"),
            // Better Auth's ISO text; `julianday` is exact to well under a millisecond here.
            Backend::Sqlite => {
                format!("CAST(ROUND((julianday({at}) - 2440587.5) * 86400000.0) AS INTEGER)")
            }
        }
    }

    /// Whether session alias `a` has a stored activity at or after `cut`.
    fn stored_since(&self, a: &str, cut: &str) -> String {
        format!(
            "EXISTS (SELECT 1 FROM {TABLE} sk_act WHERE sk_act.\"sessionId\" = {a}.{id} \
             AND sk_act.\"lastActiveAt\" >= {ms})",
            id = self.id,
            ms = self.millis(cut)
        )
    }

    /// Session alias `a` was last active before `cut`.
    pub fn before(&self, a: &str, cut: &str) -> String {
        let upd = format!("{a}.{} < {cut}", self.upd);
        if !self.on {
            return upd;
        }
        format!(
            "({upd} AND (NOT {ANY} OR NOT {}))",
            self.stored_since(a, cut)
        )
    }

    /// [`Self::before`] for a condition ANDed at the top of a `WHERE`. PostgreSQL plans a
    /// top-level `NOT EXISTS` as an anti-join, costed as one pass over the activity table;
    /// behind the `EXISTS` guard of [`Self::before`] it stays a subplan priced per session,
    /// which made the planner turn on JIT compilation (hundreds of milliseconds) for the
    /// cleanup's statements. SQLite has no anti-join: there the guard saves the probes.
    pub fn before_where(&self, a: &str, cut: &str) -> String {
        if !self.on || self.backend == Backend::Sqlite {
            return self.before(a, cut);
        }
        format!(
            "({a}.{} < {cut} AND NOT {})",
            self.upd,
            self.stored_since(a, cut)
        )
    }

    /// A `LEFT JOIN` of the activity table to session alias `a`, for [`Self::before_joined`]:
    /// on PostgreSQL a whole-table count then hashes the activity table once instead of
    /// probing it per session (and stays parallel). Empty where it is not used.
    pub fn join(&self, a: &str) -> String {
        if !self.on || self.backend == Backend::Sqlite {
            return String::new();
        }
        format!(
            " LEFT JOIN {TABLE} {JOINED} ON {JOINED}.\"sessionId\" = {a}.{}",
            self.id
        )
    }

    /// [`Self::before`] in a statement that has [`Self::join`] in its `FROM`.
    pub fn before_joined(&self, a: &str, cut: &str) -> String {
        if !self.on || self.backend == Backend::Sqlite {
            return self.before(a, cut);
        }
        format!(
            "({a}.{upd} < {cut} AND ({JOINED}.\"lastActiveAt\" IS NULL \
             OR {JOINED}.\"lastActiveAt\" < {ms}))",
            upd = self.upd,
            ms = self.millis(cut)
        )
    }

    /// Session alias `a` was last active at or after `cut` (the negation of [`Self::before`]).
    pub fn since(&self, a: &str, cut: &str) -> String {
        let upd = format!("{a}.{} >= {cut}", self.upd);
        if !self.on {
            return upd;
        }
        format!("({upd} OR ({ANY} AND {}))", self.stored_since(a, cut))
    }

    /// Session alias `a`'s last activity, as a timestamp read like `updatedAt`.
    pub fn value(&self, a: &str) -> String {
        let upd = format!("{a}.{}", self.upd);
        if !self.on {
            return upd;
        }
        let stored = |expr: &str| {
            format!(
                "CASE WHEN {ANY} THEN (SELECT {expr} FROM {TABLE} sk_act WHERE sk_act.\"sessionId\" = {a}.{id}) END",
                id = self.id
            )
        };
        match self.backend {
            // GREATEST skips a NULL (no stored activity).
            Backend::Postgres => format!(
                "GREATEST({upd}, {})",
                stored("to_timestamp(sk_act.\"lastActiveAt\" / 1000.0)")
            ),
            // Both sides in Better Auth's ISO form, so text order is time order; the
            // multi-argument MAX is NULL when one side is, hence the COALESCE.
            Backend::Sqlite => format!(
                "MAX({upd}, COALESCE({}, ''))",
                stored(
                    "strftime('%Y-%m-%dT%H:%M:%fZ', sk_act.\"lastActiveAt\" / 1000.0, 'unixepoch')"
                )
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_off_is_updated_at_alone() {
        let schema = Schema {
            activity: false,
            ..Default::default()
        };
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let l = LastActive::new(&schema, backend);
            assert_eq!(l.before("s", "$2"), "s.\"updatedAt\" < $2");
            assert_eq!(l.since("s", "$2"), "s.\"updatedAt\" >= $2");
            assert_eq!(l.value("s"), "s.\"updatedAt\"");
            assert_eq!(l.before_where("s", "$2"), l.before("s", "$2"));
            assert_eq!(l.before_joined("s", "$2"), l.before("s", "$2"));
            assert_eq!(l.join("s"), "");
        }
    }

    #[test]
    fn postgres_where_forms_let_the_planner_join() {
        let l = LastActive::new(&Schema::default(), Backend::Postgres);
        // No guard: a top-level NOT EXISTS becomes an anti-join.
        let w = l.before_where("s", "$2");
        assert!(w.starts_with("(s.\"updatedAt\" < $2 AND NOT EXISTS (SELECT 1"));
        assert!(!w.contains(ANY));
        assert!(
            l.join("s")
                .contains("LEFT JOIN \"sessionkeeper_activity\" sk_j")
        );
        assert!(
            l.before_joined("s", "$2")
                .contains("sk_j.\"lastActiveAt\" IS NULL")
        );
        // SQLite keeps the guarded form everywhere.
        let lite = LastActive::new(&Schema::default(), Backend::Sqlite);
        assert_eq!(lite.before_where("s", "$2"), lite.before("s", "$2"));
        assert_eq!(lite.join("s"), "");
    }

    #[test]
    fn tracking_on_reads_the_activity_table_by_its_key() {
        let l = LastActive::new(&Schema::default(), Backend::Postgres);
        let before = l.before("s", "$2");
        assert!(before.starts_with("(s.\"updatedAt\" < $2 AND (NOT EXISTS"));
        assert!(before.contains("sk_act.\"sessionId\" = s.\"id\""));
        assert!(l.value("r").contains("GREATEST(r.\"updatedAt\""));
    }
}
