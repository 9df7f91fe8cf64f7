//! Better Auth's cookie cache (`session.cookieCache`): a `session_data` cookie that carries the
//! session and its user, so that a check within its `maxAge` needs no database read
//! (docs: COMPAT.md §2.4; source: better-auth 1.7.25 `cookies/index.mjs`, `crypto/jwt.mjs`).
//!
//! Three strategies, as Better Auth writes them:
//! - `compact`: `base64url(JSON {session, expiresAt, signature})`, where `signature` is
//!   base64url (no padding) HMAC-SHA256 over `JSON.stringify({...session, expiresAt})`;
//! - `jwt`: an HS256 JWT signed with the secret, the session data as its claims;
//! - `jwe`: `dir` + `A256CBC-HS512`, keyed by HKDF-SHA256 of the secret (`cookie_cache_jwe.rs`).
//!
//! This module only decodes and authenticates; whether a decoded cache may answer (same
//! token, same version, neither expired) is [`CachedSession::answers`].

use super::model::{Session, SessionWithUser, User};
use super::timefmt::{iso, iso_opt};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

/// How the Better Auth app writes its `session_data` cookie (`cookieCache.strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CookieCacheStrategy {
    /// The cookie is not read: every check goes to the database.
    #[default]
    Off,
    Compact,
    Jwt,
    Jwe,
}

impl CookieCacheStrategy {
    pub fn parse(v: &str) -> Option<Self> {
        match v.to_ascii_lowercase().as_str() {
            "off" | "false" | "no" | "0" | "" => Some(Self::Off),
            "compact" => Some(Self::Compact),
            "jwt" => Some(Self::Jwt),
            "jwe" => Some(Self::Jwe),
            _ => None,
        }
    }
}

/// A `session_data` cookie whose signature (or encryption) checked out.
#[derive(Debug, Clone)]
pub struct CachedSession {
    pub data: SessionWithUser,
    /// `cookieCache.version` when it was written (Better Auth's default is `"1"`).
    pub version: String,
    /// When the cache itself lapses (`maxAge` after it was written).
    pub expires_at: OffsetDateTime,
}

impl CachedSession {
    /// Better Auth's rule: the cache answers for the presented token only, with the expected
    /// version, while neither the cache nor the session in it has expired.
    pub fn answers(&self, raw_token: &str, version: &str, now: OffsetDateTime) -> bool {
        let same_token: bool = self
            .data
            .session
            .token
            .as_bytes()
            .ct_eq(raw_token.as_bytes())
            .into();
        same_token
            && self.version == version
            && self.expires_at >= now
            && !self.data.session.is_expired(now)
    }
}

/// The session data Better Auth caches: `{session, user, updatedAt, version}`.
#[derive(Deserialize)]
struct Payload {
    session: CachedRow,
    user: CachedUser,
    #[serde(default)]
    version: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CachedRow {
    id: String,
    token: String,
    #[serde(with = "iso")]
    expires_at: OffsetDateTime,
    #[serde(with = "iso")]
    created_at: OffsetDateTime,
    #[serde(with = "iso")]
    updated_at: OffsetDateTime,
    #[serde(default)]
    ip_address: Option<String>,
    #[serde(default)]
    user_agent: Option<String>,
    user_id: String,
    #[serde(default)]
    impersonated_by: Option<String>,
    #[serde(default)]
    active_organization_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CachedUser {
    id: String,
    name: String,
    email: String,
    #[serde(default)]
    email_verified: bool,
    #[serde(default)]
    image: Option<String>,
    #[serde(with = "iso")]
    created_at: OffsetDateTime,
    #[serde(with = "iso")]
    updated_at: OffsetDateTime,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    banned: Option<bool>,
    #[serde(default)]
    ban_reason: Option<String>,
    #[serde(default, with = "iso_opt")]
    ban_expires: Option<OffsetDateTime>,
}

impl Payload {
    fn into_cached(self, expires_at: OffsetDateTime) -> CachedSession {
        let (s, u) = (self.session, self.user);
        CachedSession {
            data: SessionWithUser {
                session: Session {
                    id: s.id,
                    token: s.token,
                    expires_at: s.expires_at,
                    created_at: s.created_at,
                    updated_at: s.updated_at,
                    ip_address: s.ip_address,
                    user_agent: s.user_agent,
                    user_id: s.user_id,
                    impersonated_by: s.impersonated_by,
                    active_organization_id: s.active_organization_id,
                },
                user: User {
                    name: u.name,
                    email: u.email,
                    email_verified: u.email_verified,
                    image: u.image,
                    created_at: u.created_at,
                    updated_at: u.updated_at,
                    role: u.role,
                    banned: u.banned,
                    ban_reason: u.ban_reason,
                    ban_expires: u.ban_expires,
                    id: u.id,
                    tenant_id: None,
                },
            },
            version: self.version.unwrap_or_else(|| "1".into()),
            expires_at,
        }
    }
}

/// Decodes and authenticates a `session_data` value (already joined from its chunks and
/// URL-decoded). `None` for anything forged, malformed or written with another secret.
pub fn decode(
    strategy: CookieCacheStrategy,
    keys: &CookieCacheKeys,
    value: &str,
) -> Option<CachedSession> {
    match strategy {
        CookieCacheStrategy::Off => None,
        CookieCacheStrategy::Compact => decode_compact(&keys.secret, value),
        CookieCacheStrategy::Jwt => decode_jwt(&keys.secret, value),
        CookieCacheStrategy::Jwe => super::cookie_cache_jwe::decode(&keys.jwe, value),
    }
}

/// The keys the strategies need, derived once from the secret.
#[derive(Clone)]
pub struct CookieCacheKeys {
    secret: Vec<u8>,
    jwe: super::cookie_cache_jwe::JweKey,
}

impl CookieCacheKeys {
    pub fn new(secret: &str) -> Self {
        Self {
            secret: secret.as_bytes().to_vec(),
            jwe: super::cookie_cache_jwe::JweKey::derive(secret),
        }
    }
}

impl std::fmt::Debug for CookieCacheKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CookieCacheKeys(..)")
    }
}

fn hmac_sha256(key: &[u8]) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key"))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Compact<'a> {
    #[serde(borrow)]
    session: &'a RawValue,
    #[serde(borrow)]
    expires_at: &'a RawValue,
    signature: String,
}

fn decode_compact(secret: &[u8], value: &str) -> Option<CachedSession> {
    let json = URL_SAFE_NO_PAD.decode(value.trim_end_matches('=')).ok()?;
    let outer: Compact = serde_json::from_slice(&json).ok()?;
    // The signed text is `JSON.stringify({...session, expiresAt})`: the session object as
    // Better Auth serialised it (which is the raw text in the cookie, byte for byte) with
    // `expiresAt` appended as its last key. Signing the raw text needs no re-serialisation
    // that would have to match JavaScript's key order and number format.
    let session = outer.session.get();
    let body = session.strip_suffix('}')?;
    let sep = if body.trim_end().ends_with('{') {
        ""
    } else {
        ","
    };
    let signed = format!("{body}{sep}\"expiresAt\":{}}}", outer.expires_at.get());
    let sig = URL_SAFE_NO_PAD.decode(&outer.signature).ok()?;
    let mut mac = hmac_sha256(secret);
    mac.update(signed.as_bytes());
    mac.verify_slice(&sig).ok()?;
    let expires_ms: i64 = serde_json::from_str(outer.expires_at.get()).ok()?;
    let payload: Payload = serde_json::from_str(session).ok()?;
    Some(payload.into_cached(from_millis(expires_ms)?))
}

#[derive(Deserialize)]
struct JwtHeader {
    alg: String,
}

/// The JWT claims Better Auth adds to the session data (`iat`, `exp`) around it.
#[derive(Deserialize)]
pub(super) struct Claims {
    #[serde(flatten)]
    payload: Payload,
    exp: i64,
}

impl Claims {
    pub(super) fn into_cached(self) -> Option<CachedSession> {
        Some(
            self.payload
                .into_cached(from_millis(self.exp.checked_mul(1000)?)?),
        )
    }
}

/// HS256 only: it is what Better Auth signs with (`signJWT`), and accepting the algorithm a
/// token names is the classic JWT downgrade. Hand-written on the HMAC we already use: a JWT
/// crate would add a second crypto stack for one algorithm.
fn decode_jwt(secret: &[u8], value: &str) -> Option<CachedSession> {
    let (signed, sig) = value.rsplit_once('.')?;
    let (header, claims) = signed.split_once('.')?;
    let header: JwtHeader = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    if header.alg != "HS256" {
        return None;
    }
    let mut mac = hmac_sha256(secret);
    mac.update(signed.as_bytes());
    mac.verify_slice(&URL_SAFE_NO_PAD.decode(sig).ok()?).ok()?;
    let claims: Claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).ok()?).ok()?;
    claims.into_cached()
}

fn from_millis(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "test-secret-0123456789abcdef0123456789abcdef";

    fn session_json(token: &str) -> String {
        format!(
            r#"{{"session":{{"expiresAt":"2030-01-08T00:00:00.000Z","token":"{token}","createdAt":"2030-01-01T00:00:00.000Z","updatedAt":"2030-01-01T00:00:00.000Z","ipAddress":"","userAgent":"ua","userId":"u1","impersonatedBy":null,"id":"s1"}},"user":{{"name":"N","email":"n@example.com","emailVerified":false,"image":null,"createdAt":"2030-01-01T00:00:00.000Z","updatedAt":"2030-01-01T00:00:00.000Z","role":"admin,user","banned":false,"banReason":null,"banExpires":null,"id":"u1"}},"updatedAt":1893456000000,"version":"1"}}"#
        )
    }

    /// Writes a compact cookie the way `setCookieCache` does.
    fn compact(secret: &str, session: &str, expires_ms: i64) -> String {
        let signed = format!(
            "{},\"expiresAt\":{expires_ms}}}",
            session.strip_suffix('}').unwrap()
        );
        let mut mac = hmac_sha256(secret.as_bytes());
        mac.update(signed.as_bytes());
        let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        URL_SAFE_NO_PAD.encode(format!(
            r#"{{"session":{session},"expiresAt":{expires_ms},"signature":"{sig}"}}"#
        ))
    }

    fn at(s: &str) -> OffsetDateTime {
        super::super::timefmt::parse(s).unwrap()
    }

    #[test]
    fn compact_cookie_decodes_and_answers_for_its_token_until_it_lapses() {
        let keys = CookieCacheKeys::new(SECRET);
        let cookie = compact(SECRET, &session_json("tok"), 1_893_456_300_000);
        let cached = decode(CookieCacheStrategy::Compact, &keys, &cookie).expect("valid");
        assert_eq!(cached.data.user.email, "n@example.com");
        assert!(cached.data.user.has_role("admin"));
        let now = at("2030-01-01T00:04:00Z");
        assert!(cached.answers("tok", "1", now));
        assert!(!cached.answers("other", "1", now));
        assert!(!cached.answers("tok", "2", now));
        assert!(!cached.answers("tok", "1", at("2030-01-01T00:05:01Z")));
    }

    #[test]
    fn compact_cookie_with_another_secret_or_edited_payload_is_refused() {
        let keys = CookieCacheKeys::new(SECRET);
        let foreign = compact("another-secret", &session_json("tok"), 1_893_456_300_000);
        assert!(decode(CookieCacheStrategy::Compact, &keys, &foreign).is_none());
        let good = compact(SECRET, &session_json("tok"), 1_893_456_300_000);
        let json = String::from_utf8(URL_SAFE_NO_PAD.decode(&good).unwrap()).unwrap();
        let edited =
            URL_SAFE_NO_PAD.encode(json.replace("\"role\":\"admin,user\"", "\"role\":\"admin\""));
        assert!(decode(CookieCacheStrategy::Compact, &keys, &edited).is_none());
        let later = URL_SAFE_NO_PAD.encode(json.replace("1893456300000,", "1993456300000,"));
        assert!(decode(CookieCacheStrategy::Compact, &keys, &later).is_none());
        assert!(decode(CookieCacheStrategy::Compact, &keys, "garbage").is_none());
        assert!(decode(CookieCacheStrategy::Off, &keys, &good).is_none());
    }

    fn jwt(secret: &str, alg: &str, claims: &str) -> String {
        let h = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}"}}"#));
        let c = URL_SAFE_NO_PAD.encode(claims);
        let mut mac = hmac_sha256(secret.as_bytes());
        mac.update(format!("{h}.{c}").as_bytes());
        format!(
            "{h}.{c}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }

    #[test]
    fn jwt_cookie_is_hs256_with_the_secret_only() {
        let keys = CookieCacheKeys::new(SECRET);
        let claims = session_json("tok").replace(
            r#""version":"1"}"#,
            r#""version":"1","iat":1893456000,"exp":1893456300}"#,
        );
        let cached = decode(
            CookieCacheStrategy::Jwt,
            &keys,
            &jwt(SECRET, "HS256", &claims),
        )
        .expect("valid");
        assert_eq!(cached.expires_at, at("2030-01-01T00:05:00Z"));
        assert!(decode(CookieCacheStrategy::Jwt, &keys, &jwt("x", "HS256", &claims)).is_none());
        assert!(
            decode(
                CookieCacheStrategy::Jwt,
                &keys,
                &jwt(SECRET, "HS512", &claims)
            )
            .is_none()
        );
        let good = jwt(SECRET, "HS256", &claims);
        let none = format!("{}.", good.rsplit_once('.').unwrap().0);
        assert!(decode(CookieCacheStrategy::Jwt, &keys, &none).is_none());
    }
}
