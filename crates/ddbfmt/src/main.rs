//! `ddbfmt`: a thin shell over [`ddbfmt::run`].

use std::process::ExitCode;

fn main() -> ExitCode {
    ddbfmt::run(
        std::env::args_os(),
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    )
}
