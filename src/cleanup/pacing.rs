//! How big the next batch is and how long to pause after one: pure arithmetic on measured
//! batch durations, so it is unit-tested without a database.

use std::time::Duration;

/// The first block range of a physical-order walk. Small, so that a cold or busy table does not
/// make the first statement long; it grows to the target within a few batches.
const FIRST_BLOCKS: u64 = 64;
/// A range never grows or shrinks by more than this factor at once, so that one odd batch
/// (a checkpoint, a cold page) does not throw the size far off.
const MAX_STEP: f64 = 4.0;
/// 2^32 blocks of 8 KiB is PostgreSQL's maximum table size.
const MAX_BLOCKS: u64 = 1 << 32;

/// A range is planned to hold at most this share of the row cap, judged by the densest
/// range so far, so that the cheap uncapped statement rarely overflows.
const CAP_SHARE: f64 = 0.8;

/// Sizes block ranges so that each delete statement takes about `target` and holds fewer
/// rows than the cap.
#[derive(Debug, Clone)]
pub struct RangeSizer {
    target: Duration,
    blocks: u64,
    /// The most matching rows per block seen in a whole range.
    densest: f64,
}

impl RangeSizer {
    pub fn new(target: Duration) -> Self {
        Self {
            target,
            blocks: FIRST_BLOCKS,
            densest: 0.0,
        }
    }

    /// Starts another layer: its rows are spread differently, so the density learnt so far
    /// does not apply; the time per block does.
    pub fn next_layer(&mut self) {
        self.densest = 0.0;
    }

    /// Blocks for the next statement, which may delete at most `cap` rows.
    pub fn blocks(&self, cap: u32) -> u64 {
        if self.densest <= 0.0 {
            return self.blocks;
        }
        let fits = (f64::from(cap) * CAP_SHARE / self.densest).floor() as u64;
        self.blocks.min(fits.max(1))
    }

    /// Feeds back one statement over `blocks` blocks that took `took` and, when it walked the
    /// whole range, deleted `rows`. A statement cut short by the row cap counts only the
    /// blocks it walked, and says nothing about density beyond "dense".
    pub fn observe(&mut self, blocks: u64, took: Duration, rows: Option<u64>) {
        if blocks == 0 {
            return;
        }
        if let Some(rows) = rows {
            self.densest = self.densest.max(rows as f64 / blocks as f64);
        }
        let took = took.as_secs_f64().max(1e-4);
        let wanted = blocks as f64 * self.target.as_secs_f64() / took;
        let current = self.blocks as f64;
        let next = wanted.clamp(current / MAX_STEP, current * MAX_STEP);
        self.blocks = (next.round() as u64).clamp(1, MAX_BLOCKS);
    }
}

/// The pause after a batch that took `took`: a fixed part plus a share of the batch's own
/// duration, so the cleanup uses at most `100 / (100 + percent)` of the time whatever the
/// batch size or the machine.
pub fn pause_after(took: Duration, fixed_ms: u64, percent: u32) -> Duration {
    let proportional = took.mul_f64(f64::from(percent) / 100.0);
    Duration::from_millis(fixed_ms).saturating_add(proportional)
}

/// Under a rows-per-second cap (`per_second` > 0), a batch holds at most a tenth of a
/// second's rows, so that the cap is met by many short statements rather than one long
/// statement and a long pause: a long statement is what slows the queries beside it.
pub fn capped_batch(batch: u32, per_second: u32) -> u32 {
    if per_second == 0 {
        return batch;
    }
    batch.min((per_second / 10).max(1))
}

/// The wait before the next batch so that the `rows` removed `elapsed` after the run began
/// stay within `per_second` on average (none without a cap). The run as a whole therefore
/// removes at most `per_second` rows a second plus one batch.
pub fn wait_for_cap(rows: u64, elapsed: Duration, per_second: u32) -> Duration {
    if per_second == 0 {
        return Duration::ZERO;
    }
    let due = Duration::from_secs_f64(rows as f64 / f64::from(per_second));
    due.saturating_sub(elapsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn ranges_move_toward_the_target_duration_in_bounded_steps() {
        let mut s = RangeSizer::new(50 * MS);
        assert_eq!(s.blocks(u32::MAX), 64);
        // 64 blocks in 5 ms: 640 would hit the target, but one step is at most 4x.
        s.observe(64, 5 * MS, None);
        assert_eq!(s.blocks(u32::MAX), 256);
        s.observe(256, 20 * MS, None);
        assert_eq!(s.blocks(u32::MAX), 640);
        s.observe(640, 50 * MS, None);
        assert_eq!(s.blocks(u32::MAX), 640);
        // Too slow: shrink, again by at most 4x.
        s.observe(640, 1000 * MS, None);
        assert_eq!(s.blocks(u32::MAX), 160);
        s.observe(160, 100 * MS, None);
        assert_eq!(s.blocks(u32::MAX), 80);
    }

    #[test]
    fn a_range_cut_short_by_the_row_limit_counts_only_what_it_walked() {
        let mut s = RangeSizer::new(50 * MS);
        s.observe(64, 10 * MS, None);
        assert_eq!(s.blocks(u32::MAX), 256);
        // Asked for 256 blocks, the row limit stopped it after 100 blocks in 25 ms: 200 blocks
        // take the target.
        s.observe(100, 25 * MS, None);
        assert_eq!(s.blocks(u32::MAX), 200);
    }

    #[test]
    fn ranges_hold_at_most_most_of_the_row_cap_at_the_densest_rate_seen() {
        let mut s = RangeSizer::new(50 * MS);
        assert_eq!(s.blocks(100), 64);
        // 64 blocks, 640 rows: 10 a block; 1000 rows * 0.8 fit in 80 blocks.
        s.observe(64, 5 * MS, Some(640));
        assert_eq!(s.blocks(u32::MAX), 256);
        assert_eq!(s.blocks(1000), 80);
        // A sparser range does not lower the estimate; a denser one does.
        s.observe(256, 20 * MS, Some(256));
        assert_eq!(s.blocks(1000), 80);
        s.observe(640, 50 * MS, Some(12_800));
        assert_eq!(s.blocks(1000), 40);
        // Never below one block.
        assert_eq!(s.blocks(1), 1);
        // Another layer starts with the time-based size only.
        s.next_layer();
        assert_eq!(s.blocks(1000), 640);
    }

    #[test]
    fn ranges_stay_within_one_block_and_the_largest_table() {
        let mut s = RangeSizer::new(50 * MS);
        for _ in 0..20 {
            s.observe(s.blocks(u32::MAX), 10_000 * MS, None);
        }
        assert_eq!(s.blocks(u32::MAX), 1);
        for _ in 0..40 {
            s.observe(s.blocks(u32::MAX), Duration::ZERO, None);
        }
        assert_eq!(s.blocks(u32::MAX), MAX_BLOCKS);
        // Nothing walked (an empty range at the end of the table) changes nothing.
        s.observe(0, 10_000 * MS, Some(5));
        assert_eq!(s.blocks(u32::MAX), MAX_BLOCKS);
    }

    #[test]
    fn the_pause_is_a_fixed_part_plus_a_share_of_the_batch() {
        assert_eq!(pause_after(40 * MS, 0, 0), Duration::ZERO);
        assert_eq!(pause_after(40 * MS, 0, 25), 10 * MS);
        assert_eq!(pause_after(40 * MS, 20, 0), 20 * MS);
        assert_eq!(pause_after(40 * MS, 5, 100), 45 * MS);
        assert_eq!(pause_after(Duration::ZERO, 0, 25), Duration::ZERO);
    }

    #[test]
    fn without_a_cap_batches_and_waits_are_unchanged() {
        assert_eq!(capped_batch(50_000, 0), 50_000);
        assert_eq!(wait_for_cap(1_000_000, Duration::ZERO, 0), Duration::ZERO);
    }

    #[test]
    fn a_cap_makes_batches_a_tenth_of_a_second_of_rows() {
        assert_eq!(capped_batch(50_000, 10_000), 1_000);
        assert_eq!(capped_batch(500, 10_000), 500);
        // Never an empty batch, however low the cap.
        assert_eq!(capped_batch(50_000, 5), 1);
    }

    #[test]
    fn a_cap_waits_until_the_rows_so_far_are_due() {
        // 1,000 rows at 10,000 a second are due after 100 ms.
        assert_eq!(wait_for_cap(1_000, 30 * MS, 10_000), 70 * MS);
        assert_eq!(wait_for_cap(1_000, 100 * MS, 10_000), Duration::ZERO);
        // Behind the cap already (a slow batch): no wait, and no credit carried as a burst
        // beyond what the average allows.
        assert_eq!(wait_for_cap(1_000, 500 * MS, 10_000), Duration::ZERO);
        assert_eq!(wait_for_cap(6_000, 500 * MS, 10_000), 100 * MS);
    }
}
