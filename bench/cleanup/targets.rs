//! Issue 18's restated cleanup targets, judged from one load's pooled phases, each with the
//! plain DELETE's figure beside it.

use crate::{
    EXCESS_DEFAULTS, EXCESS_OFF, EXPIRED_DEFAULTS, EXPIRED_OFF, GENTLE, IDLE, PLAIN, PLAIN_RECORDS,
    Row,
};

/// At the defaults: rows/s at least this share of the plain DELETE's.
const RATE_SHARE: f64 = 0.8;
/// The gentle setting: p99 at most this multiple of idle.
const GENTLE_P99: f64 = 1.5;
/// The excess layer: rows/s at least this share of the expired layer's ("within 2x").
const EXCESS_SHARE: f64 = 0.5;

fn find<'a>(rows: &'a [Row], name: &str) -> Option<&'a Row> {
    rows.iter().find(|r| r.name == name)
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "not met" }
}

pub fn print(rows: &[Row]) {
    let (Some(idle), Some(plain)) = (find(rows, IDLE), find(rows, PLAIN)) else {
        return;
    };
    let idle_p99 = idle.load.pct(0.99);
    let plain_p99 = plain.load.pct(0.99);
    println!();
    println!("Targets (issue 18, part 3):");
    println!();
    println!("| target | ours | plain DELETE beside it | verdict |");
    println!("|---|---:|---:|---|");
    for (what, name) in [
        ("defaults (records on)", EXPIRED_DEFAULTS),
        ("records+events off", EXPIRED_OFF),
    ] {
        let Some(ours) = find(rows, name) else {
            continue;
        };
        let share = ours.rate() / plain.rate();
        println!(
            "| expired layer, {what}: rows/s >= {RATE_SHARE}x the plain DELETE | {:.0} ({share:.2}x) | {:.0} | {} |",
            ours.rate(),
            plain.rate(),
            verdict(share >= RATE_SHARE)
        );
        let p99 = ours.load.pct(0.99);
        println!(
            "| expired layer, {what}: get-session p99 <= the plain DELETE's | {p99:.2} ms | {plain_p99:.2} ms | {} |",
            verdict(p99 <= plain_p99)
        );
    }
    if let (Some(ours), Some(with)) = (find(rows, EXPIRED_DEFAULTS), find(rows, PLAIN_RECORDS)) {
        println!(
            "| (reading aid) expired layer at the defaults against a plain DELETE writing the same records | {:.0} ({:.2}x) | {:.0} | - |",
            ours.rate(),
            ours.rate() / with.rate(),
            with.rate()
        );
    }
    for r in rows.iter().filter(|r| r.name.starts_with(GENTLE)) {
        let ratio = r.load.pct(0.99) / idle_p99;
        println!(
            "| {}: p99 <= {GENTLE_P99}x idle ({idle_p99:.2} ms) | {:.2} ms ({ratio:.2}x), {:.0} rows/s | {plain_p99:.2} ms ({:.2}x) | {} |",
            r.name,
            r.load.pct(0.99),
            r.rate(),
            plain_p99 / idle_p99,
            verdict(ratio <= GENTLE_P99)
        );
    }
    for (what, excess, expired) in [
        ("defaults", EXCESS_DEFAULTS, EXPIRED_DEFAULTS),
        ("records+events off", EXCESS_OFF, EXPIRED_OFF),
    ] {
        let (Some(excess), Some(expired)) = (find(rows, excess), find(rows, expired)) else {
            continue;
        };
        if excess.rows == 0 {
            println!("| excess layer, {what} | no user over the limit at this size | - | - |");
            continue;
        }
        let share = excess.rate() / expired.rate();
        println!(
            "| excess layer, {what}: rows/s >= {EXCESS_SHARE}x the expired layer's ({:.0}) | {:.0} ({share:.2}x) | {:.0} | {} |",
            expired.rate(),
            excess.rate(),
            plain.rate(),
            verdict(share >= EXCESS_SHARE)
        );
    }
}
