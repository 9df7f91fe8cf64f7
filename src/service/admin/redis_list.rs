//! `GET /api/admin/sessions` over an app's Redis-only sessions (`SESSION_STORAGE=secondary`).
//!
//! Redis has no index but the user's list, so the listing cannot be newest-first across the
//! keyspace. With `userId` it reads that user's list and pages newest first, as the database
//! listing does. Without it, it follows the `SCAN` walk over the `active-sessions-*` lists:
//! users in `SCAN` order, each user's sessions newest first, the filters applied in memory.
//! Its cursor is the `SCAN` cursor of a walk page plus how many of that page's sessions were
//! already given, and one request makes at most [`SCANS_PER_PAGE`] `SCAN` calls, so a
//! selective filter over a large keyspace answers a short (even empty) page with a cursor
//! rather than reading all of Redis. Sessions created or removed between two pages may be
//! given twice or not at all, as `SCAN` itself guarantees no more.

use super::sessions::view;
use super::types::SessionList;
use super::{AdminService, invalid_cursor};
use crate::domain::cursor::{Cursor, keyset_page};
use crate::domain::session_status::StatusCutoffs;
use crate::secondary::SecondaryStorage;
use crate::secondary::sessions::{ListWalk, RedisSession};
use crate::service::{Error, Result};
use crate::store::admin::{AdminSession, SessionFilter};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// `SCAN` calls one listing request may make (each looks at 250 keys).
const SCANS_PER_PAGE: usize = 40;
const VERSION: &str = "r1";

/// Where a walk listing resumes: a `SCAN` cursor and the sessions of that walk page already
/// given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct WalkCursor {
    scan: u64,
    skip: usize,
}

impl WalkCursor {
    fn encode(self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{VERSION}|{}|{}", self.scan, self.skip))
    }

    fn decode(s: &str) -> Option<Self> {
        if s.is_empty() || s.len() > 128 {
            return None;
        }
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(s).ok()?).ok()?;
        let mut parts = text.split('|');
        if parts.next()? != VERSION {
            return None;
        }
        let scan = parts.next()?.parse().ok()?;
        let skip = parts.next()?.parse().ok()?;
        parts.next().is_none().then_some(Self { scan, skip })
    }
}

/// The database listing's filters, applied to one session.
fn matches(f: &SessionFilter, c: &StatusCutoffs, s: &RedisSession) -> bool {
    let s = &s.session;
    f.user_id.as_ref().is_none_or(|u| *u == s.user_id)
        && f.status
            .is_none_or(|want| c.status(s.expires_at, s.updated_at) == want)
        && f.ip
            .as_ref()
            .is_none_or(|ip| s.ip_address.as_deref() == Some(ip.as_str()))
        && f.user_agent.as_ref().is_none_or(|ua| {
            s.user_agent
                .as_deref()
                .is_some_and(|have| have.to_lowercase().contains(&ua.to_lowercase()))
        })
        && f.created_from.is_none_or(|t| s.created_at >= t)
        && f.created_to.is_none_or(|t| s.created_at < t)
        && f.last_used_from.is_none_or(|t| s.updated_at >= t)
        && f.last_used_to.is_none_or(|t| s.updated_at < t)
}

fn admin_session(r: RedisSession, tenant_by_org: bool) -> AdminSession {
    let s = r.session;
    AdminSession {
        tenant_id: if tenant_by_org {
            s.active_organization_id
        } else {
            None
        },
        id: s.id,
        user_id: s.user_id,
        email: Some(r.email),
        name: Some(r.name),
        ip_address: s.ip_address,
        user_agent: s.user_agent,
        created_at: s.created_at,
        updated_at: s.updated_at,
        last_active_at: s.updated_at,
        expires_at: s.expires_at,
        impersonated_by: s.impersonated_by,
    }
}

fn newest_first(v: &mut [RedisSession]) {
    v.sort_by(|a, b| {
        (b.session.created_at, &b.session.id).cmp(&(a.session.created_at, &a.session.id))
    });
}

fn redis_error(e: crate::secondary::SecondaryError) -> Error {
    Error::Secondary(e.to_string())
}

impl AdminService {
    pub(super) async fn list_in_redis(
        &self,
        redis: &SecondaryStorage,
        filter: &SessionFilter,
        cutoffs: &StatusCutoffs,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<SessionList> {
        if filter.tenant.is_some() {
            return Err(super::redis_admin::unavailable(
                "a tenant-scoped session listing",
            ));
        }
        let by_org = matches!(
            self.core.store().schema().tenant,
            crate::store::tables::schema::TenantColumn::Session(_)
        );
        let (found, next_cursor) = match &filter.user_id {
            Some(user) => {
                let after = match cursor {
                    None => None,
                    Some(c) => Some(Cursor::decode(c).ok_or_else(invalid_cursor)?),
                };
                let mut all = redis.sessions_of(user).await.map_err(redis_error)?.sessions;
                all.retain(|s| matches(filter, cutoffs, s));
                newest_first(&mut all);
                let rows: Vec<RedisSession> = all
                    .into_iter()
                    .filter(|s| {
                        after
                            .as_ref()
                            .is_none_or(|c| (s.session.created_at, &s.session.id) < (c.at, &c.id))
                    })
                    .take(limit as usize + 1)
                    .collect();
                keyset_page(rows, limit, |r| Cursor {
                    at: r.session.created_at,
                    id: r.session.id.clone(),
                })
            }
            None => {
                let from = match cursor {
                    None => WalkCursor { scan: 0, skip: 0 },
                    Some(c) => WalkCursor::decode(c).ok_or_else(invalid_cursor)?,
                };
                self.walk_page(redis, filter, cutoffs, limit as usize, from)
                    .await?
            }
        };
        let sessions = found
            .into_iter()
            .map(|r| view(admin_session(r, by_org), cutoffs))
            .collect();
        Ok(SessionList {
            sessions,
            next_cursor,
            limit,
        })
    }

    /// Up to `limit` matching sessions from `from` on, and the cursor after them (`None` at
    /// the end of the walk).
    async fn walk_page(
        &self,
        redis: &SecondaryStorage,
        filter: &SessionFilter,
        cutoffs: &StatusCutoffs,
        limit: usize,
        from: WalkCursor,
    ) -> Result<(Vec<RedisSession>, Option<String>)> {
        let mut walk = ListWalk::starting_at(redis, from.scan);
        let mut skip = from.skip;
        let mut out = Vec::new();
        for _ in 0..SCANS_PER_PAGE {
            let at = walk.cursor();
            let Some(page) = walk.next_page().await.map_err(redis_error)? else {
                return Ok((out, None));
            };
            // Every session of the page counts towards `skip`, matching or not, so a
            // session's status changing between two requests does not shift the others.
            let mut all: Vec<RedisSession> = Vec::new();
            for user in page {
                let mut mine = user.sessions;
                newest_first(&mut mine);
                all.extend(mine);
            }
            for (i, s) in all.into_iter().enumerate().skip(skip) {
                if !matches(filter, cutoffs, &s) {
                    continue;
                }
                if out.len() == limit {
                    let next = WalkCursor { scan: at, skip: i };
                    return Ok((out, Some(next.encode())));
                }
                out.push(s);
            }
            skip = 0;
            if walk.is_done() {
                return Ok((out, None));
            }
        }
        let next = WalkCursor {
            scan: walk.cursor(),
            skip: 0,
        };
        Ok((out, Some(next.encode())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_cursors_round_trip_and_foreign_ones_are_refused() {
        let c = WalkCursor {
            scan: 123_456,
            skip: 7,
        };
        assert_eq!(WalkCursor::decode(&c.encode()), Some(c));
        let db = Cursor {
            at: time::OffsetDateTime::UNIX_EPOCH,
            id: "x".into(),
        };
        for bad in ["", "!!!", "cjF8MQ", &db.encode(), &"A".repeat(200)] {
            assert_eq!(WalkCursor::decode(bad), None, "{bad}");
        }
    }
}
