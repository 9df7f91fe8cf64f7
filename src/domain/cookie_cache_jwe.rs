//! The `jwe` cookie-cache strategy: a compact JWE with `alg: "dir"` and `enc: "A256CBC-HS512"`
//! (RFC 7516, RFC 7518 §5.2.5), keyed by HKDF-SHA256(secret, salt `"better-auth-session"`,
//! info `"BetterAuth.js Generated Encryption Key"`, 64 bytes) as Better Auth's
//! `symmetricEncodeJWT` does. Hand-written on RustCrypto's AES, CBC and HMAC: the one JOSE
//! algorithm pair Better Auth writes, where a JOSE crate would bring its own crypto stack.

use super::cookie_cache::{CachedSession, Claims};
use aes::Aes256;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cbc::cipher::{BlockModeDecrypt, KeyIvInit, block_padding::Pkcs7};
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::{Sha256, Sha512};

const SALT: &[u8] = b"better-auth-session";
const INFO: &[u8] = b"BetterAuth.js Generated Encryption Key";

/// The 64-byte content key: the first half authenticates (HMAC-SHA512), the second decrypts.
#[derive(Clone)]
pub struct JweKey([u8; 64]);

impl JweKey {
    pub fn derive(secret: &str) -> Self {
        let mut okm = [0u8; 64];
        hkdf::Hkdf::<Sha256>::new(Some(SALT), secret.as_bytes())
            .expand(INFO, &mut okm)
            .unwrap_or_else(|_| unreachable!("64 bytes is within HKDF-SHA256's output limit"));
        Self(okm)
    }
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    enc: String,
    /// Compressed payloads (`zip: "DEF"`) are never written by Better Auth; refuse them.
    #[serde(default)]
    zip: Option<String>,
}

pub fn decode(key: &JweKey, value: &str) -> Option<CachedSession> {
    let mut parts = value.split('.');
    let (header_b64, cek, iv, ciphertext, tag) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if parts.next().is_some() || !cek.is_empty() {
        return None;
    }
    let header: Header = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header_b64).ok()?).ok()?;
    if header.alg != "dir" || header.enc != "A256CBC-HS512" || header.zip.is_some() {
        return None;
    }
    let iv = URL_SAFE_NO_PAD.decode(iv).ok()?;
    let ciphertext = URL_SAFE_NO_PAD.decode(ciphertext).ok()?;
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    let (mac_key, enc_key) = key.0.split_at(32);
    // RFC 7518 §5.2.2.2: the tag is the first half of HMAC-SHA512 over AAD || IV ||
    // ciphertext || AAD length in bits (64-bit big-endian); the AAD is the encoded header.
    let mut mac = Hmac::<Sha512>::new_from_slice(mac_key).ok()?;
    mac.update(header_b64.as_bytes());
    mac.update(&iv);
    mac.update(&ciphertext);
    mac.update(&((header_b64.len() as u64) * 8).to_be_bytes());
    mac.verify_truncated_left(&tag).ok()?;
    if tag.len() != 32 {
        return None;
    }
    let mut buf = ciphertext;
    let plain = cbc::Decryptor::<Aes256>::new_from_slices(enc_key, &iv)
        .ok()?
        .decrypt_padded::<Pkcs7>(&mut buf)
        .ok()?;
    let claims: Claims = serde_json::from_slice(plain).ok()?;
    claims.into_cached()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cbc::cipher::BlockModeEncrypt;

    /// Encrypts claims the way jose's `EncryptJWT` does for `dir` + `A256CBC-HS512`.
    fn encrypt(key: &JweKey, claims: &str) -> String {
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"dir","enc":"A256CBC-HS512","kid":"x"}"#);
        let iv = [7u8; 16];
        let (mac_key, enc_key) = key.0.split_at(32);
        let mut buf = claims.as_bytes().to_vec();
        let len = buf.len();
        buf.resize(len + 16, 0);
        let ct = cbc::Encryptor::<Aes256>::new_from_slices(enc_key, &iv)
            .unwrap()
            .encrypt_padded::<Pkcs7>(&mut buf, len)
            .unwrap()
            .to_vec();
        let mut mac = Hmac::<Sha512>::new_from_slice(mac_key).unwrap();
        mac.update(header.as_bytes());
        mac.update(&iv);
        mac.update(&ct);
        mac.update(&((header.len() as u64) * 8).to_be_bytes());
        let tag = &mac.finalize().into_bytes()[..32];
        format!(
            "{header}..{}.{}.{}",
            URL_SAFE_NO_PAD.encode(iv),
            URL_SAFE_NO_PAD.encode(&ct),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    const CLAIMS: &str = r#"{"session":{"expiresAt":"2030-01-08T00:00:00.000Z","token":"tok","createdAt":"2030-01-01T00:00:00.000Z","updatedAt":"2030-01-01T00:00:00.000Z","ipAddress":"","userAgent":"","userId":"u1","id":"s1"},"user":{"name":"N","email":"n@example.com","emailVerified":false,"image":null,"createdAt":"2030-01-01T00:00:00.000Z","updatedAt":"2030-01-01T00:00:00.000Z","id":"u1"},"updatedAt":1893456000000,"version":"1","iat":1893456000,"exp":1893456300,"jti":"j"}"#;

    #[test]
    fn decrypts_with_the_derived_key_and_refuses_other_keys_and_edits() {
        let key = JweKey::derive("s3cret");
        let token = encrypt(&key, CLAIMS);
        let cached = decode(&key, &token).expect("decrypts");
        assert_eq!(cached.data.session.token, "tok");
        assert!(decode(&JweKey::derive("other"), &token).is_none());
        let mut parts: Vec<String> = token.split('.').map(String::from).collect();
        let mut ct = URL_SAFE_NO_PAD.decode(&parts[3]).unwrap();
        ct[0] ^= 1;
        parts[3] = URL_SAFE_NO_PAD.encode(ct);
        assert!(decode(&key, &parts.join(".")).is_none());
    }
}
