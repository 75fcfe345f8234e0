//! The `ddbfmt` command line as a library: [`run`] takes the arguments and the two output
//! streams, so every command is testable without a process.
//!
//! Architecture invariant: the CLI holds no storage logic of its own; each command parses its
//! arguments, calls the library crates and prints their results.

mod demo;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(
    name = "ddbfmt",
    version,
    about = "DynamoDB-style tables with instant backups and verifiable restores"
)]
struct Cli {
    /// The database directory.
    #[arg(
        long,
        global = true,
        env = "DDBFMT_DATA_DIR",
        default_value = "./ddb-data"
    )]
    data_dir: std::path::PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole story on generated data and report throughput. Today: the data-model
    /// stage (table definition, item validation, canonical JSON, key encoding).
    Demo(demo::DemoArgs),
}

/// Runs `ddbfmt` with `args` (the first is the program name), writing results to `stdout` and
/// diagnostics to `stderr`.
pub fn run(
    args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.use_stderr() { 2 } else { 0 };
            let text = err.render().to_string();
            let _ = if err.use_stderr() {
                stderr.write_all(text.as_bytes())
            } else {
                stdout.write_all(text.as_bytes())
            };
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        Command::Demo(args) => demo::run(&args, stdout),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let _ = writeln!(stderr, "ddbfmt: {err}");
            ExitCode::from(1)
        }
    }
}
