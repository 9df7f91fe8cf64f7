//! Better Auth's rate-limit rules (its `api/rate-limiter/index.ts`, 1.7.25), pure: which rule a
//! path gets, the key a request counts under, and the step that decides a request.
//!
//! The counter is not a fixed window nor a token bucket: each allowed request moves
//! `lastRequest` to now, the count resets once `window` seconds pass with no allowed request, and
//! a refused request changes nothing. A client that keeps knocking while refused is let back in
//! `window` seconds after its last allowed request. (`governor`'s GCRA cannot express this, nor
//! the `X-Retry-After` it gives, so the counter is written here.)

/// At most `max` requests per `window` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub window: u32,
    pub max: u32,
}

/// A stored counter: Better Auth's `rateLimit` row without its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    pub count: u32,
    /// Milliseconds since the Unix epoch of the last allowed request.
    pub last_request: i64,
}

/// What one request does to a counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Allowed; the counter becomes this.
    Allow(Counter),
    /// Refused; the counter is left as it was. Seconds until a request is allowed again.
    Refuse { retry_after: u64 },
}

/// Better Auth's `decideConsume`.
pub fn decide(current: Option<Counter>, rule: Rule, now_ms: i64) -> Step {
    let window_ms = i64::from(rule.window) * 1000;
    match current {
        None => Step::Allow(Counter {
            count: 1,
            last_request: now_ms,
        }),
        Some(c) if now_ms - c.last_request >= window_ms => Step::Allow(Counter {
            count: 1,
            last_request: now_ms,
        }),
        Some(c) if c.count >= rule.max => Step::Refuse {
            retry_after: retry_after(c.last_request, rule.window, now_ms),
        },
        Some(c) => Step::Allow(Counter {
            count: c.count + 1,
            last_request: now_ms,
        }),
    }
}

/// `Math.ceil((lastRequest + window*1000 - now) / 1000)`.
pub fn retry_after(last_request: i64, window: u32, now_ms: i64) -> u64 {
    let left = last_request + i64::from(window) * 1000 - now_ms;
    u64::try_from((left + 999).div_euclid(1000)).unwrap_or(0)
}

/// The global default rule: Better Auth's `window: 10, max: 100`.
pub const DEFAULT_RULE: Rule = Rule {
    window: 10,
    max: 100,
};

/// Better Auth's built-in special rules (`getDefaultSpecialRules`).
pub fn special_rule(path: &str) -> Option<Rule> {
    let credentials = ["/sign-in", "/sign-up", "/change-password", "/change-email"];
    if credentials.iter().any(|p| path.starts_with(p)) {
        return Some(Rule { window: 10, max: 3 });
    }
    let mail = [
        "/request-password-reset",
        "/send-verification-email",
        "/email-otp/send-verification-otp",
        "/email-otp/request-password-reset",
    ];
    if mail.contains(&path) || path.starts_with("/forget-password") {
        return Some(Rule { window: 60, max: 3 });
    }
    None
}

/// A configured rule for a path pattern (`[[rate_limit.rules]]`, Better Auth's `customRules`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathRule {
    pub pattern: String,
    pub rule: Rule,
}

/// The rule for `path` (relative to `/api/auth`): a custom rule first (the first whose
/// pattern matches; a pattern without `*` must equal the path), else a special rule, else
/// `default`. The order is Better Auth's: custom rules override special ones.
pub fn rule_for(path: &str, default: Rule, custom: &[PathRule]) -> Rule {
    custom
        .iter()
        .find(|r| {
            if r.pattern.contains('*') {
                glob_match(r.pattern.as_bytes(), path.as_bytes())
            } else {
                r.pattern == path
            }
        })
        .map(|r| r.rule)
        .or_else(|| special_rule(path))
        .unwrap_or(default)
}

/// Better Auth's `wildcardMatch` with `/` separators: `*` matches within one path segment,
/// `**` across segments.
fn glob_match(pattern: &[u8], path: &[u8]) -> bool {
    match pattern {
        [] => path.is_empty(),
        [b'*', b'*', rest @ ..] => {
            let rest = rest.strip_prefix(b"/").unwrap_or(rest);
            (0..=path.len()).any(|i| glob_match(rest, &path[i..]))
        }
        [b'*', rest @ ..] => {
            let segment_end = path.iter().position(|&b| b == b'/').unwrap_or(path.len());
            (0..=segment_end).any(|i| glob_match(rest, &path[i..]))
        }
        [c, rest @ ..] => path.first() == Some(c) && glob_match(rest, &path[1..]),
    }
}

/// The client part of a key when no address is known: Better Auth's fail-closed shared bucket.
pub const NO_TRUSTED_IP: &str = "no-trusted-ip";

/// `"<ip>|<path>"`, Better Auth's `createRateLimitKey`; `ip` is already normalised (IPv4 as
/// is, IPv6 masked to /64 and expanded).
pub fn key(ip: &str, path: &str) -> String {
    let mut k = String::with_capacity(ip.len() + path.len() + 1);
    k.push_str(ip);
    k.push('|');
    k.push_str(path);
    k
}

/// Better Auth's `normalizePathname`: the path below the base path, trailing slashes removed.
pub fn relative_path<'a>(path: &'a str, base: &str) -> &'a str {
    let trimmed = path.trim_end_matches('/');
    match trimmed.strip_prefix(base) {
        Some("") => "/",
        Some(rest) if rest.starts_with('/') => rest,
        _ if trimmed.is_empty() => "/",
        _ => trimmed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: Rule = Rule { window: 10, max: 3 };

    #[test]
    fn counts_up_to_max_then_refuses_until_a_quiet_window_passes() {
        let mut c = None;
        for (i, t) in [0, 1000, 2000].into_iter().enumerate() {
            match decide(c, R, t) {
                Step::Allow(n) => {
                    assert_eq!(n.count as usize, i + 1);
                    c = Some(n);
                }
                other => panic!("{other:?}"),
            }
        }
        // Last allowed at 2000 ms: 10 s later is 12000 ms.
        assert_eq!(decide(c, R, 2500), Step::Refuse { retry_after: 10 });
        assert_eq!(decide(c, R, 11_001), Step::Refuse { retry_after: 1 });
        assert_eq!(
            decide(c, R, 12_000),
            Step::Allow(Counter {
                count: 1,
                last_request: 12_000
            })
        );
    }

    #[test]
    fn special_and_custom_rules_follow_better_auth() {
        let d = DEFAULT_RULE;
        assert_eq!(rule_for("/sign-in/email", d, &[]), R);
        assert_eq!(rule_for("/change-password", d, &[]), R);
        assert_eq!(rule_for("/get-session", d, &[]), d);
        assert_eq!(rule_for("/forget-password", d, &[]).window, 60);
        let custom = vec![
            PathRule {
                pattern: "/sign-in/*".into(),
                rule: Rule { window: 60, max: 5 },
            },
            PathRule {
                pattern: "/admin/**".into(),
                rule: Rule { window: 1, max: 1 },
            },
        ];
        assert_eq!(rule_for("/sign-in/email", d, &custom).max, 5);
        assert_eq!(rule_for("/sign-in/a/b", d, &custom), R);
        assert_eq!(rule_for("/admin/list-users", d, &custom).max, 1);
        assert_eq!(rule_for("/get-session", d, &custom), d);
    }

    #[test]
    fn paths_are_relative_to_the_base() {
        assert_eq!(
            relative_path("/api/auth/get-session/", "/api/auth"),
            "/get-session"
        );
        assert_eq!(relative_path("/api/auth", "/api/auth"), "/");
        assert_eq!(key("10.0.0.1", "/sign-in/email"), "10.0.0.1|/sign-in/email");
    }
}
