//! `sessionkeeper migrate [--indexes [--dry-run]]`.

use super::CliError;
use crate::app::open_store_with;
use crate::config::{Config, Mode};
use crate::store::Store;
use crate::store::catalog::IndexState;
use crate::store::indexes::session_management_indexes;
use clap::Args;
use std::time::Instant;

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Also create the indexes that make cleanup and statistics fast (CONCURRENTLY on
    /// PostgreSQL). In shared mode they are never created unless asked for.
    #[arg(long)]
    indexes: bool,
    /// With --indexes: print the statements and which indexes exist, change nothing.
    #[arg(long, requires = "indexes")]
    dry_run: bool,
}

pub async fn run(config: Config, args: MigrateArgs) -> Result<(), CliError> {
    let store = open_store_with(&config, !args.dry_run).await?;
    let backend = store.backend().as_str();
    if !args.indexes {
        match config.mode {
            Mode::Owned => println!("database is up to date ({backend})"),
            Mode::Shared => println!(
                "sessionkeeper's own tables are up to date ({backend}, shared mode: Better Auth's tables were checked, not changed)"
            ),
        }
        return Ok(());
    }
    indexes(&*store, args.dry_run).await
}

async fn indexes(store: &dyn Store, dry_run: bool) -> Result<(), CliError> {
    let backend = store.backend();
    let defs = session_management_indexes(store.schema());
    let mut states = Vec::with_capacity(defs.len());
    for def in &defs {
        states.push(store.index_state(&def.name).await?);
    }
    let todo = states.iter().filter(|s| **s != IndexState::Valid).count();
    println!(
        "-- {} indexes for cleanup and statistics on {}, {todo} to create",
        defs.len(),
        backend.as_str()
    );
    if let Some(note) = backend.dialect().index_build_note
        && todo > 0
    {
        println!("-- {note}");
    }
    for (def, state) in defs.iter().zip(states) {
        let create = def.create_sql(backend);
        match state {
            IndexState::Valid => {
                println!("-- exists: {} ({})", def.name, def.purpose);
                continue;
            }
            IndexState::Missing => println!("-- missing: {} ({})", def.name, def.purpose),
            IndexState::Invalid => {
                println!(
                    "-- invalid (left by an interrupted concurrent build): {}; dropped and rebuilt",
                    def.name
                );
                println!("{};", def.drop_sql(backend));
                if !dry_run {
                    store.run_index_ddl(def.drop_sql(backend)).await?;
                }
            }
        }
        println!("{create};");
        if dry_run {
            continue;
        }
        let started = Instant::now();
        store
            .run_index_ddl(create)
            .await
            .map_err(|source| CliError::CreateIndex {
                name: def.name.clone(),
                source,
            })?;
        if store.index_state(&def.name).await? != IndexState::Valid {
            return Err(CliError::IndexNotBuilt(def.name.clone()));
        }
        println!(
            "-- created {} in {:.1} s",
            def.name,
            started.elapsed().as_secs_f64()
        );
    }
    if dry_run {
        println!("-- dry run: nothing was changed");
    }
    Ok(())
}
