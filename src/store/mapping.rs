//! From the `[schema]` mapping to a [`Schema`], and the list of every name in it (for the
//! start-up check and its messages).

use super::schema::{Schema, TenantColumn};
use crate::config::{Config, Mode, SchemaMapping, TenantSource};

/// Who adds a column, for messages about absent ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Better Auth's core schema: sessionkeeper cannot work without it.
    Core,
    /// The admin plugin (roles, bans, impersonation).
    Admin,
    /// The organization plugin (`activeOrganizationId`).
    Organization,
    /// sessionkeeper's owned-mode `tenantId`.
    Tenant,
}

/// One table or column of the [`Schema`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The `[schema]` key without its prefix: `session.user_id`, `session.table`.
    pub key: &'static str,
    /// Better Auth's own name, for messages: `userId`, `session`.
    pub better_auth: &'static str,
    pub table: String,
    /// `None` for a table entry, or for an optional column that is not there.
    pub column: Option<String>,
    pub origin: Origin,
}

macro_rules! with_fields {
    ($schema:expr, $m:ident) => {{
        #[allow(unused_variables)]
        let s = $schema;
        vec![
            $m!(s, user, "user", table, "user", Core, table),
            $m!(s, user, "user", id, "id", Core),
            $m!(s, user, "user", name, "name", Core),
            $m!(s, user, "user", email, "email", Core),
            $m!(s, user, "user", email_verified, "emailVerified", Core),
            $m!(s, user, "user", image, "image", Core),
            $m!(s, user, "user", created_at, "createdAt", Core),
            $m!(s, user, "user", updated_at, "updatedAt", Core),
            $m!(s, user, "user", role, "role", Admin, opt),
            $m!(s, user, "user", banned, "banned", Admin, opt),
            $m!(s, user, "user", ban_reason, "banReason", Admin, opt),
            $m!(s, user, "user", ban_expires, "banExpires", Admin, opt),
            $m!(s, user, "user", tenant_id, "tenantId", Tenant, opt),
            $m!(s, session, "session", table, "session", Core, table),
            $m!(s, session, "session", id, "id", Core),
            $m!(s, session, "session", token, "token", Core),
            $m!(s, session, "session", expires_at, "expiresAt", Core),
            $m!(s, session, "session", created_at, "createdAt", Core),
            $m!(s, session, "session", updated_at, "updatedAt", Core),
            $m!(s, session, "session", ip_address, "ipAddress", Core),
            $m!(s, session, "session", user_agent, "userAgent", Core),
            $m!(s, session, "session", user_id, "userId", Core),
            $m!(
                s,
                session,
                "session",
                impersonated_by,
                "impersonatedBy",
                Admin,
                opt
            ),
            $m!(
                s,
                session,
                "session",
                active_organization_id,
                "activeOrganizationId",
                Organization,
                opt
            ),
            $m!(s, account, "account", table, "account", Core, table),
            $m!(s, account, "account", id, "id", Core),
            $m!(s, account, "account", account_id, "accountId", Core),
            $m!(s, account, "account", provider_id, "providerId", Core),
            $m!(s, account, "account", user_id, "userId", Core),
            $m!(s, account, "account", password, "password", Core),
            $m!(s, account, "account", created_at, "createdAt", Core),
            $m!(s, account, "account", updated_at, "updatedAt", Core),
        ]
    }};
}

macro_rules! field {
    ($s:ident, $t:ident, $tn:literal, $f:ident, $ba:literal, $o:ident, table) => {
        Field {
            key: concat!($tn, ".", stringify!($f)),
            better_auth: $ba,
            table: $s.$t.table.clone(),
            column: None,
            origin: Origin::$o,
        }
    };
    ($s:ident, $t:ident, $tn:literal, $f:ident, $ba:literal, $o:ident, opt) => {
        Field {
            key: concat!($tn, ".", stringify!($f)),
            better_auth: $ba,
            table: $s.$t.table.clone(),
            column: $s.$t.$f.clone(),
            origin: Origin::$o,
        }
    };
    ($s:ident, $t:ident, $tn:literal, $f:ident, $ba:literal, $o:ident) => {
        Field {
            key: concat!($tn, ".", stringify!($f)),
            better_auth: $ba,
            table: $s.$t.table.clone(),
            column: Some($s.$t.$f.clone()),
            origin: Origin::$o,
        }
    };
}

macro_rules! setter {
    ($s:ident, $t:ident, $tn:literal, $f:ident, $ba:literal, $o:ident, table) => {
        (
            concat!($tn, ".", stringify!($f)),
            (|s: &mut Schema, v: String| s.$t.table = v) as fn(&mut Schema, String),
        )
    };
    ($s:ident, $t:ident, $tn:literal, $f:ident, $ba:literal, $o:ident, opt) => {
        (
            concat!($tn, ".", stringify!($f)),
            (|s: &mut Schema, v: String| s.$t.$f = Some(v)) as fn(&mut Schema, String),
        )
    };
    ($s:ident, $t:ident, $tn:literal, $f:ident, $ba:literal, $o:ident) => {
        (
            concat!($tn, ".", stringify!($f)),
            (|s: &mut Schema, v: String| s.$t.$f = v) as fn(&mut Schema, String),
        )
    };
}

type Setter = fn(&mut Schema, String);

impl Schema {
    /// Every table and column name, in a fixed order (tables first within each table group).
    pub fn fields(&self) -> Vec<Field> {
        with_fields!(self, field)
    }

    /// Sets the name under a `[schema]` key (`session.user_id`); false for an unknown key.
    pub fn set(&mut self, key: &str, name: String) -> bool {
        let unit = ();
        let setters: Vec<(&str, Setter)> = with_fields!(unit, setter);
        match setters.into_iter().find(|(k, _)| *k == key) {
            Some((_, set)) => {
                set(self, name);
                true
            }
            None => false,
        }
    }

    /// The names the configuration asks for, before the start-up check has looked at the
    /// database. Shared mode assumes no `tenantId` (our owned-mode column) unless mapped.
    pub fn from_config(config: &Config) -> Schema {
        let mut schema = Schema::default();
        if config.mode == Mode::Shared {
            schema.user.tenant_id = None;
        }
        apply_mapping(&mut schema, &config.schema);
        schema.tenant = match config.admin.tenant_source {
            TenantSource::UserColumn => schema
                .user
                .tenant_id
                .clone()
                .map_or(TenantColumn::Absent, TenantColumn::User),
            TenantSource::ActiveOrganization => schema
                .session
                .active_organization_id
                .clone()
                .map_or(TenantColumn::Absent, TenantColumn::Session),
        };
        schema
    }
}

fn apply_mapping(schema: &mut Schema, mapping: &SchemaMapping) {
    if mapping.use_plural {
        schema.user.table = "users".into();
        schema.session.table = "sessions".into();
        schema.account.table = "accounts".into();
    }
    for (key, name) in &mapping.names {
        // Every key the settings table accepts is a field (tested below).
        let known = schema.set(key, name.clone());
        debug_assert!(known, "unknown schema key {key}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Sources;

    #[test]
    fn every_schema_setting_is_a_field_and_every_field_a_setting() {
        let fields: Vec<&str> = Schema::default().fields().iter().map(|f| f.key).collect();
        let mut from_settings = Vec::new();
        for key in fields.iter() {
            let mut s = Schema::default();
            assert!(s.set(key, "x_renamed".into()), "{key}");
            let f = s.fields().into_iter().find(|f| f.key == *key).unwrap();
            let got = if key.ends_with(".table") {
                f.table
            } else {
                f.column.unwrap()
            };
            assert_eq!(got, "x_renamed", "{key}");
            let env = format!("SCHEMA_{}", key.replace('.', "_").to_uppercase());
            let sources = Sources {
                env: [
                    ("SESSIONKEEPER_MODE".into(), "shared".into()),
                    (env.clone(), "x_renamed".into()),
                ]
                .into(),
                ..Default::default()
            };
            let c = Config::load(&sources).unwrap_or_else(|e| panic!("{env}: {e}"));
            assert_eq!(
                c.schema.names.get(key).map(String::as_str),
                Some("x_renamed"),
                "{env}"
            );
            from_settings.push(*key);
        }
        assert_eq!(from_settings.len(), 32);
        assert!(!Schema::default().set("session.nope", "x".into()));
    }

    #[test]
    fn shared_mode_maps_names_and_assumes_no_tenant_column() {
        let load = |env: &[(&str, &str)]| {
            let env = env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Schema::from_config(
                &Config::load(&Sources {
                    env,
                    ..Default::default()
                })
                .unwrap(),
            )
        };
        let owned = load(&[]);
        assert_eq!(
            owned,
            Schema {
                tenant: TenantColumn::User("tenantId".into()),
                ..Default::default()
            }
        );
        let shared = load(&[
            ("SESSIONKEEPER_MODE", "shared"),
            ("SCHEMA_USE_PLURAL", "yes"),
            ("SCHEMA_SESSION_USER_ID", "user_id"),
        ]);
        assert_eq!(shared.user.table, "users");
        assert_eq!(shared.session.table, "sessions");
        assert_eq!(shared.account.table, "accounts");
        assert_eq!(shared.session.user_id, "user_id");
        assert_eq!(shared.account.user_id, "userId");
        assert_eq!(shared.user.tenant_id, None);
        assert_eq!(shared.tenant, TenantColumn::Absent);
        let org = load(&[
            ("SESSIONKEEPER_MODE", "shared"),
            ("TENANT_SOURCE", "organization"),
            (
                "SCHEMA_SESSION_ACTIVE_ORGANIZATION_ID",
                "active_organization_id",
            ),
        ]);
        assert_eq!(
            org.tenant,
            TenantColumn::Session("active_organization_id".into())
        );
        let mapped = load(&[
            ("SESSIONKEEPER_MODE", "shared"),
            ("SCHEMA_USER_TENANT_ID", "tenant_id"),
        ]);
        assert_eq!(mapped.tenant, TenantColumn::User("tenant_id".into()));
    }
}
