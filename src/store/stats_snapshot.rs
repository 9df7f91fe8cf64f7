//! The admin statistics' snapshot (`sessionkeeper_stats_snapshot`): what the service counted,
//! per scope, shared by every instance on the database. The store keeps the text; what it
//! holds is the service's business.

use super::Result;
use super::engine::{Args, Engine, Read};
use super::sql_store::SqlStore;
use async_trait::async_trait;
use time::OffsetDateTime;

/// One scope's stored counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredStats {
    /// When the count began.
    pub as_of: OffsetDateTime,
    pub body: String,
}

const READ: &str = "SELECT s.\"asOf\", s.\"body\" FROM \"sessionkeeper_stats_snapshot\" s \
     WHERE s.\"scope\" = $1 AND s.\"asOf\" IS NOT NULL AND s.\"epoch\" = \
     (SELECT e.\"epoch\" FROM \"sessionkeeper_stats_snapshot\" e WHERE e.\"scope\" = '#epoch')";

const EPOCH: &str =
    "SELECT \"epoch\" FROM \"sessionkeeper_stats_snapshot\" WHERE \"scope\" = '#epoch'";

/// Stored only while `$2` is still the current epoch (no deletion since the count began), and
/// never over a newer count of the same epoch.
const WRITE: &str = "INSERT INTO \"sessionkeeper_stats_snapshot\" (\"scope\", \"epoch\", \"asOf\", \"body\") \
     SELECT $1, $2, $3, $4 WHERE $2 = \
     (SELECT e.\"epoch\" FROM \"sessionkeeper_stats_snapshot\" e WHERE e.\"scope\" = '#epoch') \
     ON CONFLICT (\"scope\") DO UPDATE SET \"epoch\" = excluded.\"epoch\", \
     \"asOf\" = excluded.\"asOf\", \"body\" = excluded.\"body\" \
     WHERE \"sessionkeeper_stats_snapshot\".\"epoch\" < excluded.\"epoch\" \
     OR \"sessionkeeper_stats_snapshot\".\"asOf\" IS NULL \
     OR \"sessionkeeper_stats_snapshot\".\"asOf\" <= excluded.\"asOf\"";

const INVALIDATE: &str = "UPDATE \"sessionkeeper_stats_snapshot\" SET \"epoch\" = \"epoch\" + 1 \
     WHERE \"scope\" = '#epoch'";

#[async_trait]
pub trait StatsSnapshotStore: Send + Sync {
    /// The current epoch, read before a count so that its result can be stored only when no
    /// deletion happened meanwhile.
    async fn stats_epoch(&self) -> Result<i64>;
    /// `scope`'s counts when they were taken in the current epoch.
    async fn read_stats(&self, scope: &str) -> Result<Option<StoredStats>>;
    /// Stores `scope`'s counts taken in `epoch`; false when a deletion has since raised it.
    async fn write_stats(&self, scope: &str, epoch: i64, stats: &StoredStats) -> Result<bool>;
    /// Raises the epoch: every stored count is stale from now on.
    async fn invalidate_stats(&self) -> Result<()>;
}

#[async_trait]
impl<DB: Engine> StatsSnapshotStore for SqlStore<DB> {
    async fn stats_epoch(&self) -> Result<i64> {
        let row = self.fetch_optional(EPOCH, Args::new()).await?;
        Ok(match row {
            Some(r) => r.int("epoch")?,
            None => 0,
        })
    }

    async fn read_stats(&self, scope: &str) -> Result<Option<StoredStats>> {
        let row = self.fetch_optional(READ, Args::new().text(scope)).await?;
        Ok(match row {
            Some(r) => Some(StoredStats {
                as_of: r.time("asOf")?,
                body: r.text("body")?,
            }),
            None => None,
        })
    }

    async fn write_stats(&self, scope: &str, epoch: i64, stats: &StoredStats) -> Result<bool> {
        let args = Args::new()
            .text(scope)
            .int(epoch)
            .time(stats.as_of)
            .text(&stats.body);
        Ok(self.execute(WRITE, args).await? > 0)
    }

    async fn invalidate_stats(&self) -> Result<()> {
        self.execute(INVALIDATE, Args::new()).await?;
        Ok(())
    }
}
