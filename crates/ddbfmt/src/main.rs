//! `ddbfmt`: a thin shell over [`ddbfmt::run`].

use std::process::ExitCode;

/// mimalloc: see the workspace Cargo.toml for why the binaries choose it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
