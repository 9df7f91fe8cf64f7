//! A timestamp column: `timestamptz` on PostgreSQL, Better Auth's ISO-8601 text on SQLite.

use crate::domain::timefmt;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Decode, Encode, Postgres, Sqlite, Type};
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ts(pub OffsetDateTime);

impl Type<Sqlite> for Ts {
    fn type_info() -> <Sqlite as sqlx::Database>::TypeInfo {
        <String as Type<Sqlite>>::type_info()
    }
    fn compatible(ty: &<Sqlite as sqlx::Database>::TypeInfo) -> bool {
        <String as Type<Sqlite>>::compatible(ty)
    }
}

impl<'q> Encode<'q, Sqlite> for Ts {
    fn encode_by_ref(
        &self,
        buf: &mut <Sqlite as sqlx::Database>::ArgumentBuffer,
    ) -> Result<IsNull, BoxDynError> {
        <String as Encode<'q, Sqlite>>::encode(timefmt::format(self.0), buf)
    }
}

impl<'r> Decode<'r, Sqlite> for Ts {
    fn decode(value: <Sqlite as sqlx::Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<Sqlite>>::decode(value)?;
        parse_sqlite(text)
            .map(Ts)
            .ok_or_else(|| format!("unreadable timestamp {text:?}").into())
    }
}

/// Better Auth writes `toISOString()`; rows written by hand (`datetime('now')`) have a space
/// and no zone, and are read as UTC.
fn parse_sqlite(text: &str) -> Option<OffsetDateTime> {
    timefmt::parse(text).or_else(|| {
        let fixed = format!("{}Z", text.replacen(' ', "T", 1));
        timefmt::parse(&fixed)
    })
}

impl Type<Postgres> for Ts {
    fn type_info() -> <Postgres as sqlx::Database>::TypeInfo {
        <OffsetDateTime as Type<Postgres>>::type_info()
    }
    /// `timestamptz` as Better Auth creates it, or `timestamp` from a Prisma or Drizzle schema.
    fn compatible(ty: &<Postgres as sqlx::Database>::TypeInfo) -> bool {
        <OffsetDateTime as Type<Postgres>>::compatible(ty)
            || <time::PrimitiveDateTime as Type<Postgres>>::compatible(ty)
    }
}

impl<'q> Encode<'q, Postgres> for Ts {
    fn encode_by_ref(
        &self,
        buf: &mut <Postgres as sqlx::Database>::ArgumentBuffer,
    ) -> Result<IsNull, BoxDynError> {
        <OffsetDateTime as Encode<'q, Postgres>>::encode_by_ref(&self.0, buf)
    }
}

impl<'r> Decode<'r, Postgres> for Ts {
    fn decode(value: <Postgres as sqlx::Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        use sqlx::ValueRef;
        if <time::PrimitiveDateTime as Type<Postgres>>::compatible(&value.type_info()) {
            // The connection's time zone is UTC, so a zone-less value is UTC.
            return <time::PrimitiveDateTime as Decode<Postgres>>::decode(value)
                .map(|t| Ts(t.assume_utc()));
        }
        <OffsetDateTime as Decode<Postgres>>::decode(value).map(Ts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_better_auth_and_sqlite_datetime_forms() {
        assert!(parse_sqlite("2026-11-28T06:29:23.262Z").is_some());
        assert!(parse_sqlite("2026-11-28 06:29:23").is_some());
        assert!(parse_sqlite("yesterday").is_none());
    }
}
