//! The `ddbfmt` command line as a library: [`run`] takes the arguments and the two output
//! streams, so every command is testable without a process.
//!
//! Architecture invariant: the CLI holds no storage logic of its own; each command parses its
//! arguments, calls the library crates and prints their results.

mod audit;
pub mod aws;
mod backup_files;
mod database_files;
mod demo;
mod export_files;
mod files;
mod snapshot_files;
mod time;

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
    /// The database directory [default: ./ddb-data; for `demo`: a fresh temporary directory].
    #[arg(long, global = true, env = "DDBFMT_DATA_DIR")]
    data_dir: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole story on generated data and report throughput. Today: the data-model
    /// stage (table definition, item validation, canonical JSON, key encoding).
    Demo(demo::DemoArgs),
    /// Describe a file or directory the toolkit wrote (kind detected from its magic).
    Inspect(PathArgs),
    /// Print every record of a log segment or log directory, or every row of a snapshot file,
    /// manifest or directory, as JSON lines.
    Dump(DumpArgs),
    /// Check every byte of a file or directory; exit 0 if sound, 1 if damaged, 2 if unusable.
    /// A lone snapshot file (no manifest, so no whole-file hash) needs `--deep` for its blocks.
    Verify(VerifyArgs),
    #[command(flatten)]
    Aws(aws::AwsCommand),
    /// Write items from DynamoDB JSON lines (a bare item or {"Item":...} per line) or a
    /// BatchWriteItem document, in file order, in large atomic batches; prints a JSON summary.
    Load(aws::LoadArgs),
    /// Checkpoint a table now: merge its logged changes into a new snapshot.
    Checkpoint(aws::CheckpointArgs),
    /// List the audit log of control-plane actions (`<data-dir>/AUDIT`), or with --verify check
    /// its hash chain: exit 0 if sound, 1 if damaged, 2 if unusable. Reads only; takes no lock.
    Audit(audit::AuditArgs),
}

#[derive(Debug, clap::Args)]
struct PathArgs {
    path: std::path::PathBuf,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct DumpArgs {
    path: std::path::PathBuf,
}

#[derive(Debug, clap::Args)]
struct VerifyArgs {
    path: std::path::PathBuf,
    /// Also decode every key and item and check their canonical forms (snapshots: decompress
    /// every block, check key order and every chunk checksum). Same as `--level deep`.
    #[arg(long)]
    deep: bool,
    /// How much of a backup to check: `structure` (manifest, sizes, footers, schema),
    /// `bytes` (the default: + every whole-file and row-group hash) or `deep` (+ every row
    /// decoded and checked). Other kinds: `deep` is `--deep`, the others the plain check.
    #[arg(long, value_enum)]
    level: Option<Level>,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

/// `verify --level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Level {
    Structure,
    Bytes,
    Deep,
}

/// Exit code of a format tool that could not do its job (unreadable path, unknown kind).
const EXIT_TOOL_ERROR: u8 = 2;

/// Where the AWS-shaped commands find the database when neither `--data-dir` nor
/// `DDBFMT_DATA_DIR` names one.
const DEFAULT_DATA_DIR: &str = "./ddb-data";

/// Runs `ddbfmt` with `args` (the first is the program name), writing results to `stdout` and
/// diagnostics to `stderr`.
pub fn run(
    args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> ExitCode {
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(err) => {
            // The AWS-shaped commands exit as the AWS CLI does on a usage error.
            let code = match (err.use_stderr(), names_aws_command(&args)) {
                (false, _) => 0,
                (true, true) => aws::EXIT_PARAM_ERROR,
                (true, false) => 2,
            };
            let text = err.render().to_string();
            let _ = if err.use_stderr() {
                stderr.write_all(text.as_bytes())
            } else {
                stdout.write_all(text.as_bytes())
            };
            return ExitCode::from(code);
        }
    };
    let data_dir = cli
        .data_dir
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from(DEFAULT_DATA_DIR));
    match cli.command {
        Command::Demo(args) => match demo::run(&args, cli.data_dir.as_deref(), stdout) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                let _ = writeln!(stderr, "ddbfmt: {err}");
                ExitCode::from(1)
            }
        },
        Command::Inspect(args) => {
            let result =
                io_for_tools().and_then(|io| files::inspect(&io, &args.path, args.json, stdout));
            tool_exit(result, stderr)
        }
        Command::Dump(args) => {
            let result = io_for_tools().and_then(|io| files::dump(&io, &args.path, stdout, stderr));
            tool_exit(result, stderr)
        }
        Command::Verify(args) => {
            let level = match (args.deep, args.level) {
                (true, _) | (false, Some(Level::Deep)) => ddb_backup::VerifyLevel::Deep,
                (false, Some(Level::Structure)) => ddb_backup::VerifyLevel::Structure,
                (false, Some(Level::Bytes) | None) => ddb_backup::VerifyLevel::Bytes,
            };
            let result = io_for_tools()
                .and_then(|io| files::verify(&io, &args.path, level, args.json, stdout));
            tool_exit(result, stderr)
        }
        Command::Aws(command) => ExitCode::from(aws::run(&data_dir, &command, stdout, stderr)),
        Command::Load(args) => ExitCode::from(aws::run_load(&data_dir, &args, stdout, stderr)),
        Command::Checkpoint(args) => {
            ExitCode::from(aws::run_checkpoint(&data_dir, &args, stdout, stderr))
        }
        Command::Audit(args) => {
            let result =
                io_for_tools().and_then(|io| audit::run(&io, &data_dir, &args, stdout, stderr));
            tool_exit(result, stderr)
        }
    }
}

/// Whether the command `args` name (the first argument that is not an option of `ddbfmt`
/// itself) is one of the AWS-shaped ones.
fn names_aws_command(args: &[OsString]) -> bool {
    let mut rest = args.iter().skip(1);
    while let Some(arg) = rest.next() {
        let Some(arg) = arg.to_str() else {
            return false;
        };
        if arg == "--data-dir" {
            rest.next();
        } else if !arg.starts_with('-') {
            return aws::is_aws_command(arg);
        }
    }
    false
}

/// The I/O backend for the format tools (`DDB_IO_BACKEND` may force one).
fn io_for_tools() -> Result<std::sync::Arc<dyn ddb_io::Io>, String> {
    ddb_io::BackendChoice::from_env()
        .and_then(ddb_io::select_backend)
        .map_err(|e| e.to_string())
}

/// 0 sound, 1 damaged, 2 the tool could not do its job (the reason on stderr).
fn tool_exit(result: Result<files::Outcome, String>, stderr: &mut dyn Write) -> ExitCode {
    match result {
        Ok(files::Outcome::Sound) => ExitCode::SUCCESS,
        Ok(files::Outcome::Damaged) => ExitCode::from(1),
        Err(why) => {
            let _ = writeln!(stderr, "ddbfmt: {why}");
            ExitCode::from(EXIT_TOOL_ERROR)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_args(args: &[&str]) -> (ExitCode, String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut argv = vec!["ddbfmt"];
        argv.extend_from_slice(args);
        let code = run(argv, &mut out, &mut err);
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn usage_errors_exit_252_for_the_aws_commands_only() {
        assert_eq!(run_args(&["put-item", "--bogus"]).0, ExitCode::from(252));
        assert_eq!(
            run_args(&["--data-dir", "x", "scan", "--limit", "x"]).0,
            ExitCode::from(252)
        );
        let (code, _, err) = run_args(&["--data-dir", "x", "put-item", "--table-name", "T"]);
        assert_eq!(code, ExitCode::from(252));
        assert!(
            err.ends_with("ddbfmt: error: the following arguments are required: --item\n"),
            "{err}"
        );
        assert_eq!(run_args(&["inspect"]).0, ExitCode::from(2));
        assert_eq!(run_args(&["nonsense"]).0, ExitCode::from(2));
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.jsonl");
        let (code, _, err) = run_args(&["load", "--table-name", "T", missing.to_str().unwrap()]);
        assert_eq!(code, ExitCode::from(252));
        assert!(err.contains("ddbfmt load: cannot read "), "{err}");
    }

    #[test]
    fn help_describes_the_parameter_syntax() {
        let (code, out, _) = run_args(&["scan", "--help"]);
        assert_eq!(code, ExitCode::SUCCESS);
        assert!(out.contains("Parameter syntax"), "{out}");
        assert!(out.contains("Pagination:"), "{out}");
        assert!(out.contains("--no-consistent-read"), "{out}");
        let (code, out, _) = run_args(&["--help"]);
        assert_eq!(code, ExitCode::SUCCESS);
        for command in [
            "create-table",
            "wait",
            "load",
            "checkpoint",
            "verify",
            "create-backup",
            "list-backups",
            "update-continuous-backups",
            "backup-schedule",
        ] {
            assert!(out.contains(command), "{command}: {out}");
        }
        let (code, out, _) = run_args(&["create-backup", "--help"]);
        assert_eq!(code, ExitCode::SUCCESS);
        assert!(out.contains("--no-wait"), "{out}");
        assert!(
            out.contains("runs in the next process that runs the backup worker"),
            "{out}"
        );
        let (code, out, _) = run_args(&["backup-schedule", "put", "--help"]);
        assert_eq!(code, ExitCode::SUCCESS);
        assert!(out.contains("--daily-at <HH:MM>"), "{out}");
    }
}
