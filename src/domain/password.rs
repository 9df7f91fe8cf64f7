//! Password hashes. Better Auth's scrypt format is `<saltHex32>:<keyHex128>`, scrypt
//! (N=16384, r=16, p=1, 64 bytes) over the NFKC-normalised password with the salt's *hex text*
//! as the salt (docs/better-auth-compat.md §5). Argon2id PHC strings are accepted too.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use unicode_normalization::UnicodeNormalization;

pub const MIN_LENGTH: usize = 8;
pub const MAX_LENGTH: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HashAlgorithm {
    Scrypt,
    Argon2id,
}

fn scrypt_key(password: &str, salt_hex: &str) -> Option<[u8; 64]> {
    let normalized: String = password.nfkc().collect();
    let params = scrypt::Params::new(14, 16, 1).ok()?;
    let mut out = [0u8; 64];
    scrypt::scrypt(
        normalized.as_bytes(),
        salt_hex.as_bytes(),
        &params,
        &mut out,
    )
    .ok()?;
    Some(out)
}

/// Hashes a password; CPU- and memory-heavy (about 32 MiB for scrypt), so callers run it on a
/// blocking thread.
pub fn hash(password: &str, algorithm: HashAlgorithm) -> String {
    match algorithm {
        HashAlgorithm::Scrypt => {
            let mut salt = [0u8; 16];
            rand::fill(&mut salt[..]);
            let salt_hex = hex::encode(salt);
            let key = scrypt_key(password, &salt_hex).unwrap_or([0u8; 64]);
            format!("{salt_hex}:{}", hex::encode(key))
        }
        HashAlgorithm::Argon2id => Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .unwrap_or_default(),
    }
}

/// True when `password` matches `stored`. Unknown formats never match.
pub fn verify(password: &str, stored: &str) -> bool {
    if stored.starts_with("$argon2") {
        return Argon2::default()
            .verify_password(password.as_bytes(), stored)
            .is_ok();
    }
    let Some((salt_hex, key_hex)) = stored.split_once(':') else {
        return false;
    };
    let Ok(expected) = hex::decode(key_hex) else {
        return false;
    };
    if expected.len() != 64 {
        return false;
    }
    match scrypt_key(password, salt_hex) {
        Some(key) => key.ct_eq(&expected[..]).into(),
        None => false,
    }
}

/// A well-formed hash in the configured algorithm, verified against when the e-mail is unknown
/// so that a miss costs as much as a wrong password. It must be the algorithm new passwords
/// are hashed with: an scrypt dummy next to argon2id users made an unknown e-mail measurably
/// slower than a known one.
pub fn dummy_hash(algorithm: HashAlgorithm) -> &'static str {
    match algorithm {
        HashAlgorithm::Scrypt => {
            "0123456789abcdef0123456789abcdef:\
             00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        }
        HashAlgorithm::Argon2id => {
            // Hashed once per process (with the parameters `hash` uses) from a random password.
            static ARGON2: std::sync::OnceLock<String> = std::sync::OnceLock::new();
            ARGON2.get_or_init(|| {
                hash(
                    &crate::domain::ids::generate_id(32),
                    HashAlgorithm::Argon2id,
                )
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vector from shared/STYLE.md: checks NFKC and the hex-text salt.
    #[test]
    fn verifies_better_auth_scrypt_vector() {
        let stored = "000102030405060708090a0b0c0d0e0f:a2f39a452646d239a2dcd72c0c72c61925977ef48c2c28eb9896c5d5fc413cf6d6d47715045774966b6d2ea9cb8c1fc58f725d2f560a9db03c398d8f6d8d98cd";
        assert!(verify("Pa\u{301}ssword-\u{FB01}", stored));
        assert!(!verify("Password-fi", stored));
    }

    #[test]
    fn the_dummy_hash_uses_the_configured_algorithm_and_parameters() {
        let real = hash("correct horse", HashAlgorithm::Argon2id);
        let dummy = dummy_hash(HashAlgorithm::Argon2id);
        // `$argon2id$v=19$m=..,t=..,p=..$`: same algorithm, version and cost.
        let params = |h: &str| h.split('$').take(4).collect::<Vec<_>>().join("$");
        assert_eq!(params(dummy), params(&real));
        let s = dummy_hash(HashAlgorithm::Scrypt);
        assert!(
            s.split_once(':')
                .is_some_and(|(a, b)| a.len() == 32 && b.len() == 128)
        );
    }

    #[test]
    fn hashes_round_trip_in_both_formats() {
        let s = hash("correct horse", HashAlgorithm::Scrypt);
        let (salt, key) = s.split_once(':').unwrap();
        assert_eq!((salt.len(), key.len()), (32, 128));
        assert!(verify("correct horse", &s));
        assert!(!verify("wrong horse", &s));
        let a = hash("correct horse", HashAlgorithm::Argon2id);
        assert!(a.starts_with("$argon2id$"));
        assert!(verify("correct horse", &a));
        assert!(!verify("wrong horse", &a));
        assert!(!verify("x", "garbage"));
        assert!(!verify("x", dummy_hash(HashAlgorithm::Scrypt)));
        assert!(!verify("x", dummy_hash(HashAlgorithm::Argon2id)));
    }
}
