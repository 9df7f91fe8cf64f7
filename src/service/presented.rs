//! What a request presents: the session token (bearer or signed cookie), the `dont_remember`
//! flag and raw cookie values. Framework-neutral (`http::HeaderMap`), so the server's routes
//! and the library's [`Validator`](super::Validator) read requests the same way.

use super::Core;
use http::{HeaderMap, header};

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

/// The presented session token: a valid `Authorization: Bearer` first (the bearer plugin's
/// rule: a raw token, or a signed `token.sig`, URL-encoded or not), else the signed cookie.
/// An invalid bearer is ignored, as Better Auth does.
pub fn session_token(core: &Core, headers: &HeaderMap) -> Option<String> {
    if let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        && auth.len() > 7
        && auth[..7].eq_ignore_ascii_case("bearer ")
    {
        let value = auth[7..].trim();
        if !value.contains('.') {
            if !value.is_empty() && value.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Some(value.to_owned());
            }
        } else if let Some(token) = core.signer().verify(value) {
            return Some(token);
        }
    }
    let raw = cookie(headers, &core.cookies().session_token)?;
    core.signer().verify(raw)
}

/// Whether the request carries a valid `dont_remember` cookie (rememberMe=false sessions are
/// never slid).
pub fn dont_remember(core: &Core, headers: &HeaderMap) -> bool {
    cookie(headers, &core.cookies().dont_remember)
        .and_then(|v| core.signer().verify(v))
        .is_some_and(|v| v == "true")
}

/// Better Auth's cookie cache, whole or split into `name.0`, `name.1`, … chunks (at most 100),
/// as its session store writes values over 4,050 bytes.
pub fn chunked_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    if let Some(v) = cookie(headers, name) {
        return Some(v.to_owned());
    }
    let prefix = format!("{name}.");
    let mut chunks: Vec<(u32, &str)> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            let index = k.strip_prefix(&prefix)?.parse().ok()?;
            Some((index, v))
        })
        .take(100)
        .collect();
    if chunks.is_empty() {
        return None;
    }
    chunks.sort_by_key(|(i, _)| *i);
    Some(chunks.into_iter().map(|(_, v)| v).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cookies: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for c in cookies {
            h.append(header::COOKIE, c.parse().unwrap());
        }
        h
    }

    #[test]
    fn chunked_cookie_joins_chunks_in_index_order() {
        let name = "better-auth.session_data";
        let h = headers(&[
            "a=1; better-auth.session_data.1=def",
            "better-auth.session_data.0=abc",
        ]);
        assert_eq!(chunked_cookie(&h, name).as_deref(), Some("abcdef"));
        let whole = headers(&["better-auth.session_data=xyz; better-auth.session_data.0=abc"]);
        assert_eq!(chunked_cookie(&whole, name).as_deref(), Some("xyz"));
        assert_eq!(chunked_cookie(&headers(&["other=1"]), name), None);
    }
}
