//! Browser, OS and device type derived from a user agent (woothee's maintained rule set).

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceInfo {
    pub browser: String,
    pub os: String,
    /// `desktop`, `mobile`, `bot`, `other` or `unknown`.
    pub device_type: String,
}

pub fn parse(user_agent: Option<&str>) -> DeviceInfo {
    let ua = user_agent.unwrap_or_default();
    let unknown = || DeviceInfo {
        browser: "unknown".into(),
        os: "unknown".into(),
        device_type: "unknown".into(),
    };
    if ua.is_empty() {
        return unknown();
    }
    let Some(r) = woothee::parser::Parser::new().parse(ua) else {
        return unknown();
    };
    let clean = |s: &str| {
        if s.is_empty() || s == "UNKNOWN" {
            "unknown".to_owned()
        } else {
            s.to_owned()
        }
    };
    let device_type = match r.category {
        "pc" => "desktop",
        "smartphone" | "mobilephone" => "mobile",
        "crawler" => "bot",
        "appliance" | "misc" => "other",
        _ => "unknown",
    };
    DeviceInfo {
        browser: clean(r.name),
        os: clean(r.os),
        device_type: device_type.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_common_agents() {
        let iphone = parse(Some(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        ));
        assert_eq!(iphone.device_type, "mobile");
        assert_eq!(iphone.os, "iPhone");
        let firefox = parse(Some(
            "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        ));
        assert_eq!(firefox.browser, "Firefox");
        assert_eq!(firefox.device_type, "desktop");
        assert_eq!(parse(Some("")).device_type, "unknown");
        assert_eq!(parse(None).browser, "unknown");
    }
}

/// Whether a sign-in from `user_agent` is from a new device: its browser, OS and device type
/// match none of `seen` (the user agents of the user's other sessions), and there was one.
pub fn is_new_device(user_agent: Option<&str>, seen: &[Option<String>]) -> bool {
    if seen.is_empty() {
        return false;
    }
    let key = |d: DeviceInfo| (d.browser, d.os, d.device_type);
    let this = key(parse(user_agent));
    !seen.iter().any(|s| key(parse(s.as_deref())) == this)
}

#[cfg(test)]
mod new_device_tests {
    use super::is_new_device;

    const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
    const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

    #[test]
    fn a_device_is_new_only_against_other_sessions() {
        assert!(
            !is_new_device(Some(FIREFOX), &[]),
            "a first session is no alert"
        );
        assert!(!is_new_device(
            Some(FIREFOX),
            &[Some(FIREFOX.replace("133", "134"))]
        ));
        assert!(is_new_device(Some(IPHONE), &[Some(FIREFOX.into())]));
    }
}
