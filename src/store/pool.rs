//! Pool settings both backends share.

use sqlx::pool::PoolOptions;
use sqlx::{Connection, Database};
use std::time::Duration;

/// sqlx pings every connection when it goes back to the pool, and by default pings it again
/// when it is taken out (`test_before_acquire`): with the query itself that is three round
/// trips to the database for a one-query session check. The ping on release has just proved
/// the connection good, so one taken out within this long skips the second ping; one idle
/// longer is pinged first (the database may have restarted meanwhile).
const TRUSTED_IDLE: Duration = Duration::from_secs(10);

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

/// `DATABASE_MAX_CONNECTIONS` covers the session checks' connections
/// ([`LANES`](super::lookup_batch::LANES)) and sqlx's pool for everything else (the rest, at
/// least one).
pub(crate) fn general_size(max_connections: u32) -> u32 {
    max_connections
        .saturating_sub(super::lookup_batch::LANES)
        .max(1)
}
