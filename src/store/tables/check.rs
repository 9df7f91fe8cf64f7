//! The start-up schema check: do the tables and columns sessionkeeper needs exist under the
//! configured names? Missing core names stop start-up with a message naming each one; absent
//! plugin columns are dropped from the [`Schema`] with a warning.

use super::catalog::ColumnInfo;
use super::mapping::{Field, Origin};
use super::schema::{Schema, TenantColumn};
use crate::store::{Result, Store, StoreError};
use std::collections::{BTreeMap, BTreeSet};

/// The outcome of a check that passed.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// The requested schema with absent optional columns set to `None`.
    pub schema: Schema,
    pub warnings: Vec<String>,
}

/// What the check needs besides the catalog.
#[derive(Debug, Clone, Default)]
pub struct Expectations {
    /// `[schema]` keys the configuration set explicitly (`session.user_id`): those must exist
    /// even when optional.
    pub explicit: BTreeSet<String>,
    /// Optional columns the configuration relies on (the tenant column of TENANT_SOURCE).
    pub required_optional: BTreeSet<&'static str>,
    /// The app keeps its sessions in Redis only (`SESSION_STORAGE=secondary`): Better Auth
    /// then creates no session table, and one that is absent is not an error.
    pub sessions_in_redis: bool,
}

/// Reads the catalog of the three tables and checks it.
pub async fn verify(store: &dyn Store, expect: &Expectations) -> Result<Checked> {
    let schema = store.schema().clone();
    let mut catalog = BTreeMap::new();
    for table in [
        &schema.user.table,
        &schema.session.table,
        &schema.account.table,
    ] {
        catalog.insert(table.clone(), store.table_columns(table).await?);
    }
    if expect.sessions_in_redis && catalog.get(&schema.session.table) == Some(&None) {
        catalog.insert(
            schema.session.table.clone(),
            Some(redis_session_columns(&schema)),
        );
    }
    let case_insensitive = store.backend().dialect().names_ignore_case;
    check(&schema, expect, &catalog, case_insensitive).map_err(StoreError::Schema)
}

/// The columns of the sessions Better Auth keeps in Redis (every field of its session model,
/// under the configured names), standing in for the absent table.
fn redis_session_columns(schema: &Schema) -> Vec<ColumnInfo> {
    let c = &schema.session;
    [
        Some(&c.id),
        Some(&c.token),
        Some(&c.expires_at),
        Some(&c.created_at),
        Some(&c.updated_at),
        Some(&c.ip_address),
        Some(&c.user_agent),
        Some(&c.user_id),
        c.impersonated_by.as_ref(),
        c.active_organization_id.as_ref(),
    ]
    .into_iter()
    .flatten()
    .map(|name| ColumnInfo {
        name: name.clone(),
        not_null: false,
        has_default: true,
    })
    .collect()
}

/// The pure check. `catalog` maps each table name to its columns (`None`: no such table).
pub fn check(
    schema: &Schema,
    expect: &Expectations,
    catalog: &BTreeMap<String, Option<Vec<ColumnInfo>>>,
    case_insensitive: bool,
) -> std::result::Result<Checked, String> {
    let names = Names {
        catalog,
        case_insensitive,
    };
    let same = |a: &str, b: &str| names.same(a, b);
    let find = |table: &str| names.find(table);
    let named = |f: &Field, name: &str| {
        if expect.explicit.contains(f.key) {
            format!("schema.{} = \"{name}\"", f.key)
        } else {
            format!(
                "Better Auth's default name; set schema.{} if the app renamed it",
                f.key
            )
        }
    };

    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let mut resolved = schema.clone();
    let mut shown_columns = BTreeSet::new();
    let fields = schema.fields();
    for f in &fields {
        let Some(columns) = find(&f.table) else {
            if f.column.is_none() && f.key.ends_with(".table") {
                problems.push(format!(
                    "table \"{}\" does not exist ({})",
                    f.table,
                    named(f, &f.table)
                ));
            }
            continue;
        };
        if f.key.ends_with(".table") {
            continue;
        }
        let Some(column) = &f.column else { continue };
        if columns.iter().any(|c| same(&c.name, column)) {
            continue;
        }
        let needed = f.origin == Origin::Core
            || expect.explicit.contains(f.key)
            || expect.required_optional.contains(f.key);
        if needed {
            let mut line = format!(
                "column \"{column}\" of table \"{}\" does not exist ({})",
                f.table,
                named(f, column)
            );
            if f.origin != Origin::Core && !expect.explicit.contains(f.key) {
                line.push_str(&format!("; needed by {}", why_needed(f.key)));
            }
            if shown_columns.insert(f.table.clone()) {
                let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
                line.push_str(&format!(
                    "\n      table \"{}\" has: {}",
                    f.table,
                    names.join(", ")
                ));
            }
            problems.push(line);
        } else {
            if f.origin != Origin::Tenant {
                warnings.push(format!(
                    "column \"{column}\" of table \"{}\" not found ({} plugin): {}; set schema.{} if it has another name",
                    f.table,
                    plugin_name(f.origin),
                    without(f.key),
                    f.key
                ));
            }
            resolved.set_absent(f.key);
        }
    }
    if !problems.is_empty() {
        return Err(format!(
            "the database does not have the Better Auth schema sessionkeeper needs:\n  - {}\nIf the app renamed tables or columns (modelName, fields, usePlural), map them in the [schema] section of the configuration; see \"Use with an existing Better Auth app\" in the README.",
            problems.join("\n  - ")
        ));
    }
    warnings.extend(unwritten_required(&resolved, &names));
    resolved.tenant = tenant_after_check(&resolved);
    Ok(Checked {
        schema: resolved,
        warnings,
    })
}

/// The tenant column, unless the check found it absent.
fn tenant_after_check(resolved: &Schema) -> TenantColumn {
    match &resolved.tenant {
        TenantColumn::User(_) => resolved
            .user
            .tenant_id
            .clone()
            .map_or(TenantColumn::Absent, TenantColumn::User),
        TenantColumn::Session(_) => resolved
            .session
            .active_organization_id
            .clone()
            .map_or(TenantColumn::Absent, TenantColumn::Session),
        TenantColumn::Absent => TenantColumn::Absent,
    }
}

fn plugin_name(origin: Origin) -> &'static str {
    match origin {
        Origin::Admin => "admin",
        Origin::Organization => "organization",
        Origin::Core | Origin::Tenant => "core",
    }
}

fn why_needed(key: &str) -> &'static str {
    match key {
        "session.active_organization_id" => "TENANT_SOURCE=organization",
        "user.tenant_id" => "TENANT_SOURCE=user",
        _ => "the configuration",
    }
}

/// Name comparison as the database does it: SQLite matches identifiers without case.
struct Names<'a> {
    catalog: &'a BTreeMap<String, Option<Vec<ColumnInfo>>>,
    case_insensitive: bool,
}

impl<'a> Names<'a> {
    fn same(&self, a: &str, b: &str) -> bool {
        if self.case_insensitive {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    }

    fn find(&self, table: &str) -> Option<&'a Vec<ColumnInfo>> {
        self.catalog
            .iter()
            .find(|(t, _)| self.same(t, table))
            .and_then(|(_, c)| c.as_ref())
    }
}

/// What is lost without an optional column.
fn without(key: &str) -> &'static str {
    match key {
        "user.role" => "nobody is an admin through a role, and new users get no role",
        "user.banned" | "user.ban_reason" | "user.ban_expires" => {
            "bans are not enforced at sign-in"
        }
        "session.impersonated_by" => "impersonation sessions are not told apart",
        "session.active_organization_id" => "sessions show no active organization",
        _ => "the column is left alone",
    }
}

/// NOT NULL columns without a default that sessionkeeper's inserts leave out (an app's
/// required `additionalFields`): our own inserts into that table would fail.
fn unwritten_required(schema: &Schema, names: &Names<'_>) -> Vec<String> {
    let same = |a: &str, b: &str| names.same(a, b);
    let mut out = Vec::new();
    let fields = schema.fields();
    for (table, consequence) in [
        (
            &schema.user.table,
            "sign-up and `users create` through sessionkeeper will fail",
        ),
        (
            &schema.session.table,
            "sign-in through sessionkeeper will fail",
        ),
        (
            &schema.account.table,
            "sign-up and `users create` through sessionkeeper will fail",
        ),
    ] {
        let Some(columns) = names.find(table) else {
            continue;
        };
        let written: Vec<&str> = fields
            .iter()
            .filter(|f| same(&f.table, table))
            .filter_map(|f| f.column.as_deref())
            .collect();
        for c in columns {
            if c.not_null && !c.has_default && !written.iter().any(|w| same(w, &c.name)) {
                out.push(format!(
                    "column \"{}\" of table \"{table}\" is NOT NULL without a default and sessionkeeper does not write it: {consequence}",
                    c.name
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(names: &[&str]) -> Option<Vec<ColumnInfo>> {
        Some(
            names
                .iter()
                .map(|n| ColumnInfo {
                    name: n.to_string(),
                    not_null: false,
                    has_default: false,
                })
                .collect(),
        )
    }

    fn better_auth_core() -> BTreeMap<String, Option<Vec<ColumnInfo>>> {
        [
            (
                "user",
                cols(&[
                    "id",
                    "name",
                    "email",
                    "emailVerified",
                    "image",
                    "createdAt",
                    "updatedAt",
                ]),
            ),
            (
                "session",
                cols(&[
                    "id",
                    "expiresAt",
                    "token",
                    "createdAt",
                    "updatedAt",
                    "ipAddress",
                    "userAgent",
                    "userId",
                ]),
            ),
            (
                "account",
                cols(&[
                    "id",
                    "accountId",
                    "providerId",
                    "userId",
                    "password",
                    "createdAt",
                    "updatedAt",
                ]),
            ),
        ]
        .into_iter()
        .map(|(t, c)| (t.to_string(), c))
        .collect()
    }

    #[test]
    fn plugin_columns_that_are_absent_become_none_with_a_warning() {
        let got = check(
            &Schema::default(),
            &Expectations::default(),
            &better_auth_core(),
            false,
        )
        .unwrap();
        assert_eq!(got.schema.user.role, None);
        assert_eq!(got.schema.session.impersonated_by, None);
        assert_eq!(got.schema.session.active_organization_id, None);
        assert_eq!(got.schema.user.tenant_id, None);
        assert_eq!(got.schema.tenant, TenantColumn::Absent);
        assert!(
            got.warnings
                .iter()
                .any(|w| w.contains("\"impersonatedBy\"") && w.contains("admin plugin")),
            "{:?}",
            got.warnings
        );
        assert!(
            got.warnings.iter().any(
                |w| w.contains("\"activeOrganizationId\"") && w.contains("organization plugin")
            )
        );
        // tenantId is ours: its absence in a Better Auth database is normal, not a warning.
        assert!(!got.warnings.iter().any(|w| w.contains("tenantId")));
    }

    #[test]
    fn missing_core_names_are_each_named_with_their_setting() {
        let mut catalog = better_auth_core();
        catalog.remove("account");
        let mut schema = Schema::default();
        schema.session.user_id = "user_id".into();
        let expect = Expectations {
            explicit: ["session.user_id".to_string()].into(),
            ..Default::default()
        };
        let e = check(&schema, &expect, &catalog, false).unwrap_err();
        assert!(e.contains("table \"account\" does not exist (Better Auth's default name; set schema.account.table"), "{e}");
        assert!(e.contains("column \"user_id\" of table \"session\" does not exist (schema.session.user_id = \"user_id\")"), "{e}");
        assert!(e.contains("table \"session\" has: id, expiresAt"), "{e}");
        assert!(
            !e.contains("\"account\".") && !e.contains("of table \"account\""),
            "no column noise for a missing table: {e}"
        );
    }

    #[test]
    fn a_relied_on_optional_column_is_required() {
        let schema = Schema {
            tenant: TenantColumn::Session("activeOrganizationId".into()),
            ..Default::default()
        };
        let expect = Expectations {
            required_optional: ["session.active_organization_id"].into(),
            ..Default::default()
        };
        let e = check(&schema, &expect, &better_auth_core(), false).unwrap_err();
        assert!(
            e.contains("\"activeOrganizationId\"") && e.contains("TENANT_SOURCE=organization"),
            "{e}"
        );
    }

    #[test]
    fn sqlite_names_match_without_case_and_unwritten_not_null_columns_warn() {
        let mut catalog = better_auth_core();
        catalog.insert(
            "Session".into(),
            Some(
                [
                    "ID",
                    "expiresat",
                    "token",
                    "createdAt",
                    "updatedAt",
                    "ipAddress",
                    "userAgent",
                    "userId",
                ]
                .iter()
                .map(|n| ColumnInfo {
                    name: n.to_string(),
                    not_null: true,
                    has_default: false,
                })
                .chain([ColumnInfo {
                    name: "deviceId".into(),
                    not_null: true,
                    has_default: false,
                }])
                .collect(),
            ),
        );
        catalog.remove("session");
        assert!(
            check(
                &Schema::default(),
                &Expectations::default(),
                &catalog,
                false
            )
            .is_err()
        );
        let got = check(&Schema::default(), &Expectations::default(), &catalog, true).unwrap();
        let w: Vec<&String> = got
            .warnings
            .iter()
            .filter(|w| w.contains("NOT NULL"))
            .collect();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("\"deviceId\"") && w[0].contains("sign-in"),
            "{w:?}"
        );
    }
}
