//! How a session token is kept in the `session.token` column.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Owned mode stores a SHA-256 of the token, so a leaked database yields no usable session;
/// shared mode stores the token itself, because the Node app looks rows up by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenStorage {
    Hashed,
    Plain,
}

impl TokenStorage {
    /// The value stored in (and looked up by) `session.token`.
    pub fn key(self, token: &str) -> String {
        match self {
            TokenStorage::Plain => token.to_owned(),
            TokenStorage::Hashed => hex::encode(Sha256::digest(token.as_bytes())),
        }
    }
}

/// `list-sessions` cannot reveal other sessions' tokens when only hashes are stored: it shows
/// this handle instead, and `revoke-session` accepts it. The `_` keeps it from ever equalling a
/// real token, which is purely alphanumeric.
const REF_PREFIX: &str = "ref_";

pub fn session_ref(session_id: &str) -> String {
    format!("{REF_PREFIX}{session_id}")
}

pub fn parse_session_ref(value: &str) -> Option<&str> {
    value.strip_prefix(REF_PREFIX).filter(|id| !id.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_key_is_sha256_hex_and_plain_is_identity() {
        let k = TokenStorage::Hashed.key("abc");
        assert_eq!(
            k,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(TokenStorage::Plain.key("abc"), "abc");
    }

    #[test]
    fn refs_round_trip_and_never_look_like_tokens() {
        let r = session_ref("Abc123");
        assert_eq!(parse_session_ref(&r), Some("Abc123"));
        assert_eq!(parse_session_ref("Abc123"), None);
        assert_eq!(parse_session_ref("ref_"), None);
    }
}
