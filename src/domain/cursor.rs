//! Opaque keyset cursors: the sort key of the last row of a page, `(timestamp, id)`. The one
//! cursor format of every listing (admin sessions, audit log, cleanup runs).
//!
//! Clients must treat them as opaque; the encoding is versioned so it can change later.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::OffsetDateTime;

const VERSION: &str = "v1";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub at: OffsetDateTime,
    pub id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        let raw = format!("{VERSION}|{}|{}", super::timefmt::format(self.at), self.id);
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// `None` for anything this server did not produce.
    pub fn decode(s: &str) -> Option<Cursor> {
        if s.is_empty() || s.len() > 256 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(s).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let mut parts = text.splitn(3, '|');
        if parts.next()? != VERSION {
            return None;
        }
        let at = super::timefmt::parse(parts.next()?)?;
        let id = parts.next()?;
        let id_ok = !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic());
        id_ok.then(|| Cursor {
            at,
            id: id.to_owned(),
        })
    }
}

/// One page of a keyset listing read with `limit + 1` rows: the first `limit` rows, and when
/// there were more, the encoded cursor of the last row kept.
pub fn keyset_page<T>(
    mut rows: Vec<T>,
    limit: u32,
    key: impl Fn(&T) -> Cursor,
) -> (Vec<T>, Option<String>) {
    let limit = limit as usize;
    if rows.len() <= limit {
        return (rows, None);
    }
    rows.truncate(limit);
    let next = rows.last().map(|r| key(r).encode());
    (rows, next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn round_trips_and_rejects_foreign_input() {
        let c = Cursor {
            at: datetime!(2026-01-02 03:04:05.678 UTC),
            id: "abcDEF123".into(),
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        for bad in ["", "!!!", "djF8eHw", "not-a-cursor", &"A".repeat(400)] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
        let wrong_version = URL_SAFE_NO_PAD.encode("v9|2026-01-02T03:04:05.678Z|x");
        assert_eq!(Cursor::decode(&wrong_version), None);
    }

    #[test]
    fn keyset_pages_keep_the_limit_and_point_at_the_last_row_kept() {
        let at = datetime!(2026-05-01 10:00:00.123 UTC);
        let key = |id: &u32| Cursor {
            at,
            id: format!("id{id}"),
        };
        assert_eq!(keyset_page(vec![1, 2], 2, key), (vec![1, 2], None));
        let (rows, next) = keyset_page(vec![1, 2, 3], 2, key);
        assert_eq!(rows, vec![1, 2]);
        let next = Cursor::decode(&next.unwrap()).unwrap();
        assert_eq!((next.at, next.id.as_str()), (at, "id2"));
        assert_eq!(keyset_page(Vec::<u32>::new(), 0, key), (vec![], None));
    }
}
