//! `[[rate_limit.rules]]` (or `RATE_LIMIT_RULES`): Better Auth's `customRules`, one
//! `path=PATTERN;window=SECONDS;max=REQUESTS` entry per rule, entries separated by commas.

use crate::domain::rate_limit::{PathRule, Rule};

const FORM: &str = "expected rules as path=/sign-in/*;window=60;max=5 (comma-separated in RATE_LIMIT_RULES, or [[rate_limit.rules]] tables with path, window and max)";

pub fn parse(v: &str) -> Result<Vec<PathRule>, String> {
    v.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(entry)
        .collect()
}

fn entry(e: &str) -> Result<PathRule, String> {
    let (mut path, mut window, mut max) = (None, None, None);
    for part in e.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| format!("{FORM}; {part:?} is not key=value"))?;
        let number = |what: &str, min: u32, max: u32| {
            v.trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| {
                    format!("{FORM}; {what} must be a whole number from {min} to {max}, got {v:?}")
                })
        };
        match k.trim() {
            "path" if v.starts_with('/') => path = Some(v.trim().to_owned()),
            "path" => {
                return Err(format!(
                    "{FORM}; a path starts with / (relative to /api/auth), got {v:?}"
                ));
            }
            "window" => window = Some(number("window", 1, 86_400)?),
            "max" => max = Some(number("max", 1, 1_000_000_000)?),
            other => return Err(format!("{FORM}; unknown key {other:?}")),
        }
    }
    match (path, window, max) {
        (Some(pattern), Some(window), Some(max)) => Ok(PathRule {
            pattern,
            rule: Rule { window, max },
        }),
        _ => Err(format!("{FORM}; {e:?} lacks path, window or max")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_and_bad_ones_are_named() {
        let r =
            parse("path=/sign-in/*;window=60;max=5, path=/get-session;window=10;max=1000").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].rule, Rule { window: 60, max: 5 });
        assert!(
            parse("path=/x;window=0;max=1")
                .unwrap_err()
                .contains("window")
        );
        assert!(
            parse("path=x;window=1;max=1")
                .unwrap_err()
                .contains("starts with /")
        );
        assert!(parse("path=/x;max=1").unwrap_err().contains("lacks"));
        assert!(
            parse("path=/x;window=1;max=1;burst=2")
                .unwrap_err()
                .contains("burst")
        );
    }
}
