//! Better Auth's signed cookies (docs/better-auth-compat.md §2):
//! `encodeURIComponent(value + "." + base64(HMAC))`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::Sha256;

/// What `encodeURIComponent` leaves alone: alphanumerics and `-_.!~*'()`.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// Signs and verifies cookie values with the Better Auth secret. The keyed HMAC state is
/// built once; each use clones it, which skips re-deriving the key pads on the hot path.
#[derive(Clone)]
pub struct CookieSigner {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for CookieSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CookieSigner(..)")
    }
}

impl CookieSigner {
    pub fn new(secret: &str) -> Self {
        let mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        Self { mac }
    }

    fn signature(&self, value: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(value.as_bytes());
        STANDARD.encode(mac.finalize().into_bytes())
    }

    /// `value.signature`, not yet URL-encoded: the form of the `set-auth-token` header.
    pub fn sign(&self, value: &str) -> String {
        format!("{value}.{}", self.signature(value))
    }

    /// The value as it goes into a `Set-Cookie` header.
    pub fn sign_for_cookie(&self, value: &str) -> String {
        encode_uri_component(&self.sign(value))
    }

    /// Verifies a cookie (or bearer) value the way `getSignedCookie` does: URL-decode, split at
    /// the last `.`, require a 44-character padded signature, compare in constant time.
    pub fn verify(&self, raw: &str) -> Option<String> {
        // Borrows `raw` when there is nothing to decode.
        let decoded = percent_decode_str(raw).decode_utf8().ok()?;
        let (value, sig) = decoded.rsplit_once('.')?;
        if sig.len() != 44 || !sig.ends_with('=') {
            return None;
        }
        // 44 padded characters hold 32 bytes; the decoder wants room for its 33-byte estimate.
        let mut buf = [0u8; 33];
        let n = STANDARD.decode_slice(sig, &mut buf).ok()?;
        let mut mac = self.mac.clone();
        mac.update(value.as_bytes());
        mac.verify_slice(&buf[..n]).ok()?;
        Some(value.to_owned())
    }
}

pub fn encode_uri_component(s: &str) -> String {
    utf8_percent_encode(s, URI_COMPONENT).to_string()
}

/// The cookie names Better Auth uses for a prefix, with `__Secure-` when cookies are secure.
#[derive(Debug, Clone)]
pub struct CookieNames {
    pub session_token: String,
    pub session_data: String,
    pub dont_remember: String,
    pub secure: bool,
}

impl CookieNames {
    pub fn new(prefix: &str, secure: bool) -> Self {
        let p = if secure { "__Secure-" } else { "" };
        Self {
            session_token: format!("{p}{prefix}.session_token"),
            session_data: format!("{p}{prefix}.session_data"),
            dont_remember: format!("{p}{prefix}.dont_remember"),
            secure,
        }
    }

    /// `name=value; Max-Age=N; Path=/; HttpOnly; Secure; SameSite=Lax`, in better-call's order.
    pub fn set(&self, name: &str, value: &str, max_age: Option<i64>) -> String {
        let mut out = format!("{name}={value}");
        if let Some(age) = max_age {
            out.push_str(&format!("; Max-Age={age}"));
        }
        out.push_str("; Path=/; HttpOnly");
        if self.secure {
            out.push_str("; Secure");
        }
        out.push_str("; SameSite=Lax");
        out
    }

    pub fn expire(&self, name: &str) -> String {
        self.set(name, "", Some(0))
    }

    /// The three cookies Better Auth clears on sign-out or a dead session.
    pub fn expire_all(&self) -> [String; 3] {
        [
            self.expire(&self.session_token),
            self.expire(&self.session_data),
            self.expire(&self.dont_remember),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A Set-Cookie Better Auth sent (docs/better-auth-compat.md §2.2, §2.3); its signature was
    // made by better-call's signCookieValue with the test secret below (the compat suite
    // re-checks it against the real package).
    #[test]
    fn signature_is_padded_standard_base64_and_url_encoded() {
        let s = CookieSigner::new("test-secret-0123456789abcdef0123456789abcdef");
        let signed = s.sign("XtUcLCM4UdxeCSdmDWPDo4KpUXqKLiQT");
        let (_, sig) = signed.rsplit_once('.').unwrap();
        assert_eq!(sig.len(), 44);
        assert!(sig.ends_with('='));
        let cookie = s.sign_for_cookie("XtUcLCM4UdxeCSdmDWPDo4KpUXqKLiQT");
        assert!(!cookie.contains('+') && !cookie.contains('/') && !cookie.contains('='));
        assert_eq!(
            s.verify(&cookie).as_deref(),
            Some("XtUcLCM4UdxeCSdmDWPDo4KpUXqKLiQT")
        );
        assert_eq!(
            s.verify(&signed).as_deref(),
            Some("XtUcLCM4UdxeCSdmDWPDo4KpUXqKLiQT")
        );
    }

    #[test]
    fn tampered_or_malformed_values_fail() {
        let s = CookieSigner::new("k");
        let other = CookieSigner::new("other");
        let good = s.sign("tok");
        assert_eq!(other.verify(&good), None);
        assert_eq!(s.verify("tok"), None);
        assert_eq!(s.verify("tok.short="), None);
        assert_eq!(s.verify(&good.replace("tok", "tak")), None);
    }

    #[test]
    fn cookie_attributes_follow_better_call_order() {
        let n = CookieNames::new("better-auth", false);
        assert_eq!(
            n.set(&n.session_token, "v", Some(604800)),
            "better-auth.session_token=v; Max-Age=604800; Path=/; HttpOnly; SameSite=Lax"
        );
        let s = CookieNames::new("better-auth", true);
        assert_eq!(s.session_token, "__Secure-better-auth.session_token");
        assert!(
            s.expire(&s.session_token)
                .contains("Max-Age=0; Path=/; HttpOnly; Secure")
        );
    }
}
