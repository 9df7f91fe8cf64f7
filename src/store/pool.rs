//! Pool settings both backends share.

use sqlx::pool::PoolOptions;
use sqlx::{Connection, Database};
use std::time::Duration;

/// sqlx pings every connection when it goes back to the pool, and by default pings it again
/// when it is taken out (`test_before_acquire`): with the query itself that is three round
/// trips to the database for a one-query session check. The ping on release has just proved
/// the connection good, so one taken out within this long skips the second ping; one idle
/// longer is pinged first (the database may have restarted meanwhile).
pub(crate) const TRUSTED_IDLE: Duration = Duration::from_secs(10);

/// Pool options with the ping-on-acquire limited to connections idle longer than
/// [`TRUSTED_IDLE`].
pub(crate) fn options<DB: Database>() -> PoolOptions<DB> {
    PoolOptions::new()
        .test_before_acquire(false)
        .before_acquire(|conn: &mut DB::Connection, meta| {
            Box::pin(async move {
                if meta.idle_for > TRUSTED_IDLE {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
}

/// `DATABASE_MAX_CONNECTIONS` is split between the session checks' connections (up to
/// [`LANES`](super::lookup_batch::LANES), leaving at least one) and sqlx's pool for everything
/// else (the rest, at least one).
pub(crate) fn lookup_size(max_connections: u32) -> u32 {
    super::lookup_batch::LANES
        .min(max_connections.saturating_sub(1))
        .max(1)
}

pub(crate) fn general_size(max_connections: u32) -> u32 {
    max_connections
        .saturating_sub(lookup_size(max_connections))
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::{general_size, lookup_size};

    #[test]
    fn max_connections_is_split_with_at_least_one_each() {
        let split = |n| (lookup_size(n), general_size(n));
        assert_eq!(split(10), (4, 6));
        assert_eq!(split(5), (4, 1));
        assert_eq!(split(3), (2, 1));
        assert_eq!(split(2), (1, 1));
        assert_eq!(split(1), (1, 1));
    }
}
