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

/// A phase whose load sender ran this late (ms, p99) measured a stalled machine, not the
/// cleanup: undisturbed phases here stay within 1.6-4.3 ms, stalled ones reached 8-13 ms.
const SENDER_LATE_MS: f64 = 5.0;

fn verdict(met: bool) -> String {
    if met { "met" } else { "not met" }.into()
}

/// A latency verdict, withheld when any phase it compares was measured on a stalled machine
/// (a closed loop has no schedule, so no lateness, and is always judged).
fn latency_verdict(met: bool, phases: &[&Row]) -> String {
    let late = phases
        .iter()
        .map(|r| r.load.late_pct(0.99))
        .filter(|l| !l.is_nan())
        .fold(0.0, f64::max);
    if late > SENDER_LATE_MS {
        return format!("not judged: the load's sender was {late:.1} ms late (p99)");
    }
    verdict(met)
}

fn line(target: &str, ours: &str, beside: &str, verdict: &str) {
    println!("| {target} | {ours} | {beside} | {verdict} |");
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
    line("target", "ours", "plain DELETE beside it", "verdict");
    println!("|---|---:|---:|---|");
    for (what, name) in [
        ("defaults (records on)", EXPIRED_DEFAULTS),
        ("records+events off", EXPIRED_OFF),
    ] {
        let Some(ours) = find(rows, name) else {
            continue;
        };
        let share = ours.rate() / plain.rate();
        line(
            &format!("expired layer, {what}: rows/s >= {RATE_SHARE}x the plain DELETE"),
            &format!("{:.0} ({share:.2}x)", ours.rate()),
            &format!("{:.0}", plain.rate()),
            &verdict(share >= RATE_SHARE),
        );
        let p99 = ours.load.pct(0.99);
        line(
            &format!("expired layer, {what}: get-session p99 <= the plain DELETE's"),
            &format!("{p99:.2} ms"),
            &format!("{plain_p99:.2} ms"),
            &latency_verdict(p99 <= plain_p99, &[ours, plain]),
        );
    }
    if let (Some(ours), Some(with)) = (find(rows, EXPIRED_DEFAULTS), find(rows, PLAIN_RECORDS)) {
        line(
            "(reading aid) expired layer at the defaults against a plain DELETE writing the same records",
            &format!("{:.0} ({:.2}x)", ours.rate(), ours.rate() / with.rate()),
            &format!("{:.0}", with.rate()),
            "-",
        );
    }
    for r in rows.iter().filter(|r| r.name.starts_with(GENTLE)) {
        let ratio = r.load.pct(0.99) / idle_p99;
        line(
            &format!("{}: p99 <= {GENTLE_P99}x idle ({idle_p99:.2} ms)", r.name),
            &format!(
                "{:.2} ms ({ratio:.2}x), {:.0} rows/s",
                r.load.pct(0.99),
                r.rate()
            ),
            &format!("{plain_p99:.2} ms ({:.2}x)", plain_p99 / idle_p99),
            &latency_verdict(ratio <= GENTLE_P99, &[r, idle]),
        );
    }
    for (what, excess, expired) in [
        ("defaults", EXCESS_DEFAULTS, EXPIRED_DEFAULTS),
        ("records+events off", EXCESS_OFF, EXPIRED_OFF),
    ] {
        let (Some(excess), Some(expired)) = (find(rows, excess), find(rows, expired)) else {
            continue;
        };
        let target = format!(
            "excess layer, {what}: rows/s >= {EXCESS_SHARE}x the expired layer's ({:.0})",
            expired.rate()
        );
        if excess.rows == 0 {
            line(&target, "no user over the limit at this size", "-", "-");
            continue;
        }
        let share = excess.rate() / expired.rate();
        line(
            &target,
            &format!("{:.0} ({share:.2}x)", excess.rate()),
            &format!("{:.0}", plain.rate()),
            &verdict(share >= EXCESS_SHARE),
        );
    }
}
