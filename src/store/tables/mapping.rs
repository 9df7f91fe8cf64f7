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

/// Every `[schema]` key with Better Auth's name and who adds it, in a fixed order (the table
/// first within each table group).
const FIELDS: [(&str, &str, Origin); 32] = [
    ("user.table", "user", Origin::Core),
    ("user.id", "id", Origin::Core),
    ("user.name", "name", Origin::Core),
    ("user.email", "email", Origin::Core),
    ("user.email_verified", "emailVerified", Origin::Core),
    ("user.image", "image", Origin::Core),
    ("user.created_at", "createdAt", Origin::Core),
    ("user.updated_at", "updatedAt", Origin::Core),
    ("user.role", "role", Origin::Admin),
    ("user.banned", "banned", Origin::Admin),
    ("user.ban_reason", "banReason", Origin::Admin),
    ("user.ban_expires", "banExpires", Origin::Admin),
    ("user.tenant_id", "tenantId", Origin::Tenant),
    ("session.table", "session", Origin::Core),
    ("session.id", "id", Origin::Core),
    ("session.token", "token", Origin::Core),
    ("session.expires_at", "expiresAt", Origin::Core),
    ("session.created_at", "createdAt", Origin::Core),
    ("session.updated_at", "updatedAt", Origin::Core),
    ("session.ip_address", "ipAddress", Origin::Core),
    ("session.user_agent", "userAgent", Origin::Core),
    ("session.user_id", "userId", Origin::Core),
    ("session.impersonated_by", "impersonatedBy", Origin::Admin),
    (
        "session.active_organization_id",
        "activeOrganizationId",
        Origin::Organization,
    ),
    ("account.table", "account", Origin::Core),
    ("account.id", "id", Origin::Core),
    ("account.account_id", "accountId", Origin::Core),
    ("account.provider_id", "providerId", Origin::Core),
    ("account.user_id", "userId", Origin::Core),
    ("account.password", "password", Origin::Core),
    ("account.created_at", "createdAt", Origin::Core),
    ("account.updated_at", "updatedAt", Origin::Core),
];

/// Where a `[schema]` key's name is kept.
pub(crate) enum Slot<'a> {
    Required(&'a mut String),
    Optional(&'a mut Option<String>),
}

impl Schema {
    /// Every table and column name, in a fixed order (tables first within each table group).
    pub fn fields(&self) -> Vec<Field> {
        let mut names = self.clone();
        FIELDS
            .iter()
            .map(|&(key, better_auth, origin)| {
                let table = names.table_of(key).to_owned();
                let column = match names.slot(key) {
                    _ if key.ends_with(".table") => None,
                    Some(Slot::Required(c)) => Some(c.clone()),
                    Some(Slot::Optional(c)) => c.clone(),
                    None => None,
                };
                Field {
                    key,
                    better_auth,
                    table,
                    column,
                    origin,
                }
            })
            .collect()
    }

    /// Sets the name under a `[schema]` key (`session.user_id`); false for an unknown key.
    pub fn set(&mut self, key: &str, name: String) -> bool {
        match self.slot(key) {
            Some(Slot::Required(c)) => *c = name,
            Some(Slot::Optional(c)) => *c = Some(name),
            None => return false,
        }
        true
    }

    /// Marks an optional column as absent; required names are never absent.
    pub(crate) fn set_absent(&mut self, key: &str) {
        if let Some(Slot::Optional(c)) = self.slot(key) {
            *c = None;
        }
    }

    fn table_of(&self, key: &str) -> &str {
        match key.split('.').next() {
            Some("user") => &self.user.table,
            Some("session") => &self.session.table,
            _ => &self.account.table,
        }
    }

    /// The name kept under a `[schema]` key.
    pub(crate) fn slot(&mut self, key: &str) -> Option<Slot<'_>> {
        use Slot::{Optional as O, Required as R};
        let (u, s, a) = (&mut self.user, &mut self.session, &mut self.account);
        Some(match key {
            "user.table" => R(&mut u.table),
            "user.id" => R(&mut u.id),
            "user.name" => R(&mut u.name),
            "user.email" => R(&mut u.email),
            "user.email_verified" => R(&mut u.email_verified),
            "user.image" => R(&mut u.image),
            "user.created_at" => R(&mut u.created_at),
            "user.updated_at" => R(&mut u.updated_at),
            "user.role" => O(&mut u.role),
            "user.banned" => O(&mut u.banned),
            "user.ban_reason" => O(&mut u.ban_reason),
            "user.ban_expires" => O(&mut u.ban_expires),
            "user.tenant_id" => O(&mut u.tenant_id),
            "session.table" => R(&mut s.table),
            "session.id" => R(&mut s.id),
            "session.token" => R(&mut s.token),
            "session.expires_at" => R(&mut s.expires_at),
            "session.created_at" => R(&mut s.created_at),
            "session.updated_at" => R(&mut s.updated_at),
            "session.ip_address" => R(&mut s.ip_address),
            "session.user_agent" => R(&mut s.user_agent),
            "session.user_id" => R(&mut s.user_id),
            "session.impersonated_by" => O(&mut s.impersonated_by),
            "session.active_organization_id" => O(&mut s.active_organization_id),
            "account.table" => R(&mut a.table),
            "account.id" => R(&mut a.id),
            "account.account_id" => R(&mut a.account_id),
            "account.provider_id" => R(&mut a.provider_id),
            "account.user_id" => R(&mut a.user_id),
            "account.password" => R(&mut a.password),
            "account.created_at" => R(&mut a.created_at),
            "account.updated_at" => R(&mut a.updated_at),
            _ => return None,
        })
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
        schema.activity = config.session.activity_tracking;
        schema
    }
}

fn apply_mapping(schema: &mut Schema, mapping: &SchemaMapping) {
    if mapping.use_plural {
        schema.user.table = "users".into();
        schema.session.table = "sessions".into();
        schema.account.table = "accounts".into();
        schema.verification = "verifications".into();
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
