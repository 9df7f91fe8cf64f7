//! Dates as Better Auth writes them: ISO-8601 UTC with milliseconds and `Z`
//! (`2026-11-28T06:29:23.262Z`), in JSON and in SQLite's text columns.

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset, macros::format_description};

const ISO_MS: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

pub fn format(t: OffsetDateTime) -> String {
    t.checked_to_offset(UtcOffset::UTC)
        .and_then(|t| t.format(ISO_MS).ok())
        .unwrap_or_else(|| String::from("1970-01-01T00:00:00.000Z"))
}

/// Accepts any RFC 3339 timestamp (Better Auth's own form included) whose UTC form stays
/// within years 0001 to 9999: `9999-12-31T23:59:59-01:00` is year 10000 in UTC, which `time`
/// cannot hold (`to_offset` would panic) and no database column needs.
pub fn parse(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()?
        .checked_to_offset(UtcOffset::UTC)
        .filter(|t| (1..=9999).contains(&t.year()))
}

/// `#[serde(with = "timefmt::iso")]` for `OffsetDateTime` fields.
pub mod iso {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};
    use time::OffsetDateTime;

    pub fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let s = String::deserialize(d)?;
        super::parse(&s).ok_or_else(|| D::Error::custom(format!("invalid timestamp {s:?}")))
    }
}

/// `#[serde(with = "timefmt::iso_opt")]` for `Option<OffsetDateTime>` fields.
pub mod iso_opt {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};
    use time::OffsetDateTime;

    pub fn serialize<S: Serializer>(t: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&super::format(*t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<OffsetDateTime>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(s) => super::parse(&s)
                .map(Some)
                .ok_or_else(|| D::Error::custom(format!("invalid timestamp {s:?}"))),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn formats_like_javascript_to_iso_string() {
        let t = datetime!(2026-11-28 06:29:23.262 UTC);
        assert_eq!(format(t), "2026-11-28T06:29:23.262Z");
        assert_eq!(
            format(datetime!(2026-01-02 03:04:05 UTC)),
            "2026-01-02T03:04:05.000Z"
        );
        assert_eq!(parse("2026-11-28T06:29:23.262Z"), Some(t));
    }

    #[test]
    fn timestamps_beyond_year_9999_in_utc_are_refused_not_a_panic() {
        assert_eq!(parse("9999-12-31T23:59:59-01:00"), None);
        assert_eq!(parse("0000-01-01T00:30:00+01:00"), None);
        assert!(parse("9999-12-31T22:59:59-01:00").is_some());
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any RFC 3339 text, whatever its year and offset: parsing never panics, and what it
        /// accepts formats and parses back to the same instant.
        #[test]
        fn parse_never_panics_and_round_trips(
            year in 0i32..=9999, month in 1u8..=12, day in 1u8..=28,
            hour in 0u8..24, minute in 0u8..60, second in 0u8..60,
            sign in prop::bool::ANY, oh in 0u8..24, om in 0u8..60,
        ) {
            let text = format!(
                "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{}{oh:02}:{om:02}",
                if sign { '+' } else { '-' }
            );
            if let Some(t) = parse(&text) {
                prop_assert_eq!(parse(&format(t)), Some(t));
            }
        }
    }
}
