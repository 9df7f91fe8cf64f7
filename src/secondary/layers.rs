//! The cleanup's layers over the sessions of a Redis-only app (`SESSION_STORAGE=secondary`),
//! decided a page of users at a time by the same rules as the database's layers
//! ([`plan`](crate::domain::cleanup_plan::plan)). Expired sessions whose TTL Better Auth
//! floored to "no expiry" (#10992) fall in the expired layer like any other expired session.

use super::SessionRef;
use super::sessions::{RedisSession, UserSessions};
use crate::domain::CleanupPolicy;
use crate::domain::cleanup_plan::{Layer, plan};
use crate::domain::model::Session;
use crate::domain::run::{LayerCounts, SampleEntry};
use crate::store::Schema;
use crate::store::cleanup::SessionGauges;
use crate::store::tables::schema::TenantColumn;
use std::collections::HashMap;
use time::OffsetDateTime;

/// What a page's layers remove.
#[derive(Debug, Default)]
pub struct PagePlan {
    pub counts: LayerCounts,
    /// Every removal for Redis: the sessions the layers remove and the list entries that name
    /// no session (uncounted).
    pub removals: Vec<SessionRef>,
    /// The removed sessions with their layer, earlier layers first.
    pub removed: Vec<(RedisSession, Layer)>,
}

impl PagePlan {
    /// Up to `limit` entries of a dry run's sample.
    pub fn sample(&self, limit: usize) -> Vec<SampleEntry> {
        self.removed
            .iter()
            .take(limit)
            .map(|(s, layer)| SampleEntry {
                session_id: s.meta.id.clone(),
                user_id: s.meta.user_id.clone(),
                layer: *layer,
                expires_at: s.meta.expires_at,
                updated_at: s.meta.updated_at,
                // Redis holds no stored activity: updatedAt is all there is.
                last_active_at: s.meta.updated_at,
            })
            .collect()
    }
}

/// The page's removals under `policy` at `now`.
pub fn plan_page(page: &[UserSessions], policy: &CleanupPolicy, now: OffsetDateTime) -> PagePlan {
    let metas: Vec<_> = page
        .iter()
        .flat_map(|u| u.sessions.iter().map(|s| s.meta.clone()))
        .collect();
    let decided: HashMap<String, Layer> = plan(&metas, policy, now).into_iter().collect();
    let mut out = PagePlan::default();
    for user in page {
        let mut tokens: Vec<&str> = user.dangling.iter().map(String::as_str).collect();
        for s in &user.sessions {
            if let Some(layer) = decided.get(&s.meta.id) {
                tokens.push(&s.token);
                out.removed.push((s.clone(), *layer));
                *count_of(&mut out.counts, *layer) += 1;
            }
        }
        out.removals.extend(user.refs(tokens));
    }
    out.removed
        .sort_by_key(|(_, layer)| Layer::ALL.iter().position(|l| l == layer));
    out
}

fn count_of(c: &mut LayerCounts, layer: Layer) -> &mut u64 {
    match layer {
        Layer::Expired => &mut c.expired,
        Layer::Absolute => &mut c.absolute,
        Layer::Inactive => &mut c.inactive,
        Layer::Excess => &mut c.excess,
    }
}

/// Adds a page's sessions to the gauges, by the database gauges' definitions: expired when
/// `expiresAt < now`, else inactive when `updatedAt` is before `inactive_before`, else active.
pub fn count_page(
    g: &mut SessionGauges,
    page: &[UserSessions],
    now: OffsetDateTime,
    inactive_before: OffsetDateTime,
) {
    for s in page.iter().flat_map(|u| &u.sessions) {
        if s.meta.expires_at < now {
            g.expired += 1;
        } else if s.meta.updated_at < inactive_before {
            g.inactive += 1;
        } else {
            g.active += 1;
        }
    }
}

/// A Redis session's tenant where the session itself carries it (`activeOrganizationId`);
/// `None` leaves it to the record's statement (the user's tenant column, or none).
pub fn tenant_of<'a>(schema: &Schema, s: &'a Session) -> Option<&'a str> {
    match schema.tenant {
        TenantColumn::Session(_) => s.active_organization_id.as_deref(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::cleanup_plan::SessionMeta;
    use crate::domain::model::Session;
    use time::Duration;
    use time::macros::datetime;

    fn session(id: &str, expires: OffsetDateTime, updated: OffsetDateTime) -> RedisSession {
        RedisSession {
            token: format!("tok-{id}"),
            email: "u@example.com".into(),
            name: "U".into(),
            meta: SessionMeta {
                id: id.into(),
                user_id: "u".into(),
                expires_at: expires,
                created_at: updated,
                updated_at: updated,
            },
            session: Session {
                id: id.into(),
                token: format!("tok-{id}"),
                expires_at: expires,
                created_at: updated,
                updated_at: updated,
                ip_address: None,
                user_agent: None,
                user_id: "u".into(),
                impersonated_by: None,
                active_organization_id: None,
            },
            pttl: -1,
        }
    }

    #[test]
    fn a_page_is_planned_per_layer_and_dangling_entries_go_uncounted() {
        let now = datetime!(2026-06-01 00:00 UTC);
        let day = Duration::days(1);
        let user = UserSessions {
            user_id: "u".into(),
            sessions: vec![
                session("expired", now - day, now - day * 8),
                session("idle", now + day, now - day * 31),
                session("old", now + day, now - day * 3),
                session("mid", now + day, now - day * 2),
                session("new", now + day, now - day),
            ],
            dangling: vec!["gone".into()],
        };
        let policy = CleanupPolicy {
            max_sessions_per_user: 2,
            ..Default::default()
        };
        let p = plan_page(&[user], &policy, now);
        assert_eq!(
            (p.counts.expired, p.counts.inactive, p.counts.excess),
            (1, 1, 1)
        );
        let mut tokens: Vec<&str> = p.removals.iter().map(|r| r.token.as_str()).collect();
        tokens.sort_unstable();
        assert_eq!(tokens, ["gone", "tok-expired", "tok-idle", "tok-old"]);
        let layers: Vec<Layer> = p.sample(10).iter().map(|e| e.layer).collect();
        assert_eq!(layers, [Layer::Expired, Layer::Inactive, Layer::Excess]);

        let mut g = SessionGauges::default();
        let page = [UserSessions {
            user_id: "u".into(),
            sessions: p.removed.iter().map(|(s, _)| s.clone()).collect(),
            dangling: Vec::new(),
        }];
        count_page(&mut g, &page, now, now - day * 30);
        assert_eq!((g.expired, g.inactive, g.active), (1, 1, 1));
    }
}
