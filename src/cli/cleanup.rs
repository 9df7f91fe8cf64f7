//! `sessionkeeper cleanup`: one cleanup run now, with a progress bar on a terminal and a
//! summary table (or the run as JSON).

use super::CliError;
use crate::app::open_store;
use crate::config::Config;
use crate::domain::run::{CleanupRun, Outcome, Trigger};
use crate::domain::{Scope, SystemClock};
use crate::service::SessionKeeper;
use crate::store::cleanup::Criteria;
use clap::Args;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// Count and sample what would be deleted; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the run as JSON (the same shape as the admin API and the run history).
    #[arg(long)]
    pub json: bool,
    /// Skip the expired layer (same as --clean-expired-tokens false).
    #[arg(long, conflicts_with = "clean_expired_tokens")]
    pub no_expired: bool,
    /// Skip the inactive layer (same as --clean-inactive-sessions false).
    #[arg(long, conflicts_with = "clean_inactive_sessions")]
    pub no_inactive: bool,
    /// Skip the per-user limit (same as --enforce-session-limits false).
    #[arg(long, conflicts_with = "enforce_session_limits")]
    pub no_limits: bool,
    /// Overrides CLEAN_EXPIRED_TOKENS (true/false, 1/0, yes/no).
    #[arg(long, value_name = "BOOL")]
    pub clean_expired_tokens: Option<String>,
    /// Overrides CLEAN_INACTIVE_SESSIONS.
    #[arg(long, value_name = "BOOL")]
    pub clean_inactive_sessions: Option<String>,
    /// Overrides ENFORCE_SESSION_LIMITS.
    #[arg(long, value_name = "BOOL")]
    pub enforce_session_limits: Option<String>,
    /// Overrides SESSION_INACTIVITY_TIMEOUT_DAYS.
    #[arg(long, value_name = "DAYS")]
    pub inactivity_days: Option<String>,
    /// Overrides MAX_SESSIONS_PER_USER.
    #[arg(long, value_name = "N")]
    pub max_sessions_per_user: Option<String>,
}

impl CleanupArgs {
    /// The policy flags as configuration overrides, so they are checked (and their errors
    /// worded) exactly like the environment variables they stand for.
    pub fn overrides(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut set =
            |key: &str, v: &str| out.push((format!("session_management.{key}"), v.to_owned()));
        if self.no_expired {
            set("clean_expired_tokens", "false");
        }
        if self.no_inactive {
            set("clean_inactive_sessions", "false");
        }
        if self.no_limits {
            set("enforce_session_limits", "false");
        }
        for (key, value) in [
            ("clean_expired_tokens", &self.clean_expired_tokens),
            ("clean_inactive_sessions", &self.clean_inactive_sessions),
            ("enforce_session_limits", &self.enforce_session_limits),
            ("inactivity_timeout_days", &self.inactivity_days),
            ("max_sessions_per_user", &self.max_sessions_per_user),
        ] {
            if let Some(v) = value {
                set(key, v);
            }
        }
        out
    }
}

pub async fn run(config: Config, args: CleanupArgs) -> Result<(), CliError> {
    let store = open_store(&config).await?;
    let secondary = crate::app::open_secondary(&config).await?;
    let policy = config.cleanup.policy;
    let keeper = SessionKeeper::with_secondary(config, store, Arc::new(SystemClock), secondary);
    let (core, service) = (keeper.core(), keeper.admin().cleanup());

    let bar = if std::io::stderr().is_terminal() && !args.dry_run {
        let criteria = Criteria {
            policy: &policy,
            now: core.now(),
            scope: &Scope::All,
            actor: None,
            overrides: None,
        };
        let planned = core.store().cleanup_counts(&criteria).await?;
        Some(progress_bar(planned.total()))
    } else {
        None
    };

    let task = {
        let service = service.clone();
        let dry_run = args.dry_run;
        tokio::spawn(async move {
            service
                .run_once(Trigger::Cli, policy, dry_run, Scope::All)
                .await
        })
    };
    if let Some(bar) = &bar {
        while !task.is_finished() {
            if let Some(c) = service.status().running_counts {
                bar.set_position(c.total());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let run = task.await??;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }

    if args.json {
        let text = serde_json::to_string_pretty(&run)?;
        println!("{text}");
    } else {
        println!("{}", summary(&run));
    }
    match run.outcome {
        Outcome::Failed => Err(CliError::CleanupRunFailed(run.error.unwrap_or_default())),
        _ => Ok(()),
    }
}

fn progress_bar(total: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} deleting stale sessions [{bar:40}] {pos}/{len} ({per_sec}, {eta} left)",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn summary(run: &CleanupRun) -> String {
    let verb = if run.dry_run {
        "would delete"
    } else {
        "deleted"
    };
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED);
    table.set_header(vec!["layer", "enabled", verb]);
    let p = &run.policy;
    // The absolute layer's row only where it is configured: the table is unchanged elsewhere.
    let absolute = p.absolute_timeout_seconds.map(|s| {
        (
            "absolute",
            true,
            run.counts.absolute,
            format!(" (> {s} s since sign-in)"),
        )
    });
    let rows = [
        Some((
            "expired",
            p.clean_expired_tokens,
            run.counts.expired,
            String::new(),
        )),
        absolute,
        Some((
            "inactive",
            p.clean_inactive_sessions,
            run.counts.inactive,
            match p.inactivity_seconds {
                Some(secs) => format!(" (> {secs} s idle)"),
                None => format!(" (> {} days)", p.inactivity_days),
            },
        )),
        Some((
            "excess",
            p.enforce_session_limits,
            run.counts.excess,
            format!(" (> {} per user)", p.max_sessions_per_user),
        )),
    ];
    for (name, on, n, note) in rows.into_iter().flatten() {
        table.add_row(vec![
            format!("{name}{note}"),
            if on { "yes" } else { "no" }.to_string(),
            n.to_string(),
        ]);
    }
    table.add_row(vec![
        "total".to_string(),
        String::new(),
        run.total.to_string(),
    ]);
    let mut out = format!(
        "cleanup run {} ({}{}): {} in {} ms\n{table}",
        run.run_id,
        run.trigger.as_str(),
        if run.dry_run { ", dry run" } else { "" },
        run.outcome.as_str(),
        run.duration_ms.unwrap_or_default(),
    );
    if let Some(error) = &run.error {
        out.push_str(&format!("\nerror: {error}"));
    }
    if let Some(sample) = run.sample.as_ref().filter(|s| !s.is_empty()) {
        let mut t = Table::new();
        t.load_style(UTF8_FULL_CONDENSED);
        t.set_header(vec![
            "session id",
            "user id",
            "layer",
            "expires at",
            "last active",
        ]);
        for s in sample {
            t.add_row(vec![
                s.session_id.clone(),
                s.user_id.clone(),
                s.layer.as_str().to_string(),
                crate::domain::timefmt::format(s.expires_at),
                crate::domain::timefmt::format(s.updated_at),
            ]);
        }
        out.push_str(&format!("\nsample of what would go:\n{t}"));
    }
    out
}
