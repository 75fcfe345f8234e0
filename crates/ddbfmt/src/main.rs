//! `ddbfmt`: a thin shell over [`ddbfmt::run`].

use std::process::ExitCode;

fn main() -> ExitCode {
    // stderr is not locked for the whole run: the database's background threads report on it
    // too (a failed restore, say), and a database closing joins them, so holding its lock
    // here would deadlock the exit.
    ddbfmt::run(
        std::env::args_os(),
        &mut std::io::stdout().lock(),
        &mut std::io::stderr(),
    )
}
