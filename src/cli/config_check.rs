//! `sessionkeeper config check`: the effective settings (secrets hidden) and the layer each
//! came from; exit 2 on any problem, so a deploy pipeline can stop before a bad start.

use crate::config::{Config, Layer, SETTINGS, Sources, shown_value};
use clap::Subcommand;
use std::io::Write;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print every setting's effective value and where it came from (default, file, env,
    /// flag); exit 2 when the configuration would not start a production server.
    Check,
}

const EXIT_PROBLEM: u8 = 2;

pub fn run(sources: &Sources, ConfigCommand::Check: ConfigCommand) -> ExitCode {
    let (config, layers) = match Config::load_traced(sources) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(EXIT_PROBLEM);
        }
    };
    let rows: Vec<[String; 3]> = SETTINGS
        .iter()
        .map(|s| {
            let env = s.env.first().copied().unwrap_or("-");
            let from = layers.get(s.key).cloned().unwrap_or(Layer::Default);
            [
                format!("{} ({env})", s.key),
                shown_value(&config, s),
                from.to_string(),
            ]
        })
        .collect();
    let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
    let (w0, w1) = (width(0), width(1).min(60));
    // A closed pipe (`| head`) is not a configuration problem: write errors are ignored.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{:w0$}  {:w1$}  from",
        "setting (environment)", "value"
    );
    for [name, value, from] in &rows {
        let value = if value.is_empty() { "(none)" } else { value };
        let _ = writeln!(out, "{name:w0$}  {value:w1$}  {from}");
    }
    let problems = problems(&config);
    for p in &problems {
        eprintln!("problem: {p}");
    }
    if problems.is_empty() {
        let _ = writeln!(out, "configuration ok");
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_PROBLEM)
    }
}

/// What loads but should not go to production.
fn problems(config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    if config.secret.is_none() {
        out.push(
            "BETTER_AUTH_SECRET is not set: every restart would sign out everyone (a random secret per run)"
                .to_owned(),
        );
    }
    if config.ops.metrics_listen == Some(config.listen) {
        out.push(format!(
            "METRICS_LISTEN_ADDR ({}) is the same address as LISTEN_ADDR",
            config.listen
        ));
    }
    if config.ops.otlp_endpoint.is_some() && !cfg!(feature = "otel") {
        out.push(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set but this build has no `otel` feature: no traces would be exported"
                .to_owned(),
        );
    }
    out
}
