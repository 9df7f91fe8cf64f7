//! The data both servers are measured on: users with a credential account (one valid scrypt
//! hash, computed once) and sessions with tokens we know, so that signed cookies can be made
//! for either server. Written with plain multi-row INSERTs, in the form Better Auth itself
//! writes (ISO text dates on SQLite, timestamptz on PostgreSQL).

use crate::engine::Db;
use sessionkeeper::domain::ids::generate_id;
use sessionkeeper::domain::password::{self, HashAlgorithm};
use sessionkeeper::domain::token::TokenStorage;
use time::{Duration, OffsetDateTime};

pub const PASSWORD: &str = "bench-password-correct-horse";
const ROWS_PER_INSERT: usize = 500;

pub struct SeedUser {
    pub id: String,
    pub email: String,
}

pub struct SeedSession {
    pub id: String,
    pub token: String,
    pub user: usize,
    pub created_at: OffsetDateTime,
}

pub struct Dataset {
    pub users: Vec<SeedUser>,
    pub sessions: Vec<SeedSession>,
    pub password_hash: String,
    pub now: OffsetDateTime,
}

impl Dataset {
    /// `sessions_per_user` sessions per user, all created in the last few hours, so that no
    /// get-session during the run is due for a refresh (updateAge is a day): both servers
    /// answer get-session read-only, as Better Auth does for most requests.
    pub fn generate(users: usize, sessions_per_user: usize) -> Self {
        let now = OffsetDateTime::now_utc();
        let password_hash = password::hash(PASSWORD, HashAlgorithm::Scrypt);
        let users: Vec<SeedUser> = (0..users)
            .map(|i| SeedUser {
                id: generate_id(32),
                email: format!("user{i}@bench.example"),
            })
            .collect();
        let mut sessions = Vec::with_capacity(users.len() * sessions_per_user);
        for (u, _) in users.iter().enumerate() {
            for k in 0..sessions_per_user {
                let age = Duration::seconds(((u * 7 + k * 13) % 7200) as i64 + 60);
                sessions.push(SeedSession {
                    id: generate_id(32),
                    token: generate_id(32),
                    user: u,
                    created_at: now - age,
                });
            }
        }
        Self {
            users,
            sessions,
            password_hash,
            now,
        }
    }

    /// Inserts everything; `storage` says how the server keeps `session.token`.
    pub async fn insert(&self, db: &Db, storage: TokenStorage) -> Result<(), String> {
        let created = iso(self.now - Duration::days(2));
        let mut rows = Vec::new();
        for (i, u) in self.users.iter().enumerate() {
            rows.push(format!(
                "('{}', 'Bench User {i}', '{}', false, null, '{created}', '{created}', 'user', false)",
                u.id, u.email
            ));
        }
        insert_rows(
            db,
            r#"INSERT INTO "user" ("id", "name", "email", "emailVerified", "image", "createdAt", "updatedAt", "role", "banned") VALUES "#,
            &rows,
        )
        .await?;

        rows.clear();
        for u in &self.users {
            rows.push(format!(
                "('{}', '{}', 'credential', '{}', '{}', '{created}', '{created}')",
                generate_id(32),
                u.id,
                u.id,
                self.password_hash
            ));
        }
        insert_rows(
            db,
            r#"INSERT INTO "account" ("id", "accountId", "providerId", "userId", "password", "createdAt", "updatedAt") VALUES "#,
            &rows,
        )
        .await?;

        rows.clear();
        for s in &self.sessions {
            let at = iso(s.created_at);
            let expires = iso(s.created_at + Duration::days(7));
            rows.push(format!(
                "('{}', '{expires}', '{}', '{at}', '{at}', '127.0.0.1', 'skbench/1.0', '{}')",
                s.id,
                storage.key(&s.token),
                self.users[s.user].id
            ));
        }
        insert_rows(
            db,
            r#"INSERT INTO "session" ("id", "expiresAt", "token", "createdAt", "updatedAt", "ipAddress", "userAgent", "userId") VALUES "#,
            &rows,
        )
        .await?;
        db.analyze().await
    }
}

/// Every value above is generated here (alphanumeric ids, fixed text, ISO dates), so the
/// literals need no escaping.
async fn insert_rows(db: &Db, head: &str, rows: &[String]) -> Result<(), String> {
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        db.execute(&format!("{head}{}", chunk.join(", "))).await?;
    }
    Ok(())
}

fn iso(t: OffsetDateTime) -> String {
    sessionkeeper::domain::timefmt::format(t)
}
