//! `ddb-crash-loop`: the whole-system crash loop (see the crate's README.md).
//!
//! `ddb-crash-loop run --dir D [--seed S] --kills K [--max-seconds T]` is the parent;
//! `ddb-crash-loop child --dir D --seed S --generation G` is what it spawns.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ddb_crash::child::{ChildOptions, run_child};
use ddb_crash::parent::{RunOptions, run};

#[derive(Parser)]
#[command(
    name = "ddb-crash-loop",
    about = "Kill a database under load with SIGKILL, again and again, and check every acknowledged effect"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The parent: K killed generations, then one that runs to a clean end; a check after each.
    Run {
        /// A new (or empty) directory for the database.
        #[arg(long)]
        dir: PathBuf,
        /// The seed (default: from the clock; printed first, so any failure replays).
        #[arg(long)]
        seed: Option<u64>,
        #[arg(long, default_value_t = 20)]
        kills: u64,
        /// Stop killing after this many seconds (the final generation still runs).
        #[arg(long)]
        max_seconds: Option<u64>,
        /// Ops of the final generation before it waits for all background work.
        #[arg(long, default_value_t = 150)]
        final_ops: u64,
    },
    /// One generation of the workload (spawned by `run`).
    Child {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        seed: u64,
        #[arg(long)]
        generation: u64,
        #[arg(long, default_value_t = 1_000_000)]
        ops: u64,
        /// Run to a clean end: after the ops, wait for every backup, restore and backfill.
        #[arg(long)]
        r#final: bool,
    },
}

fn time_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    u64::try_from(nanos % u128::from(u64::MAX)).unwrap_or(0) ^ u64::from(std::process::id())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run {
            dir,
            seed,
            kills,
            max_seconds,
            final_ops,
        } => std::env::current_exe()
            .map_err(|e| format!("current_exe: {e}"))
            .and_then(|exe| {
                let options = RunOptions {
                    exe,
                    dir,
                    seed: seed.unwrap_or_else(time_seed),
                    kills,
                    max_seconds,
                    final_ops,
                };
                run(&options, &mut std::io::stdout()).map(drop)
            }),
        Command::Child {
            dir,
            seed,
            generation,
            ops,
            r#final,
        } => {
            let options = ChildOptions {
                dir,
                seed,
                generation,
                ops,
                final_run: r#final,
            };
            run_child(&options, &mut std::io::stdout().lock())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ddb-crash-loop: {e}");
            ExitCode::from(2)
        }
    }
}
