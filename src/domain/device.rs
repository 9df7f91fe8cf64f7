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
