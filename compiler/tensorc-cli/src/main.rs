//! The `tensorc` command line (SPEC §7). Exit status: 0 success, 1 compile error,
//! 2 usage error, 3 runtime error (bad input file, input not matching the signature).

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tensorc_cli::cli;

fn main() -> ExitCode {
    // Before any thread starts: it may set an environment variable.
    tc_wgpu::device::set_runtime_dir_if_unset();
    let parsed = match cli::Cli::try_parse() {
        Ok(parsed) => parsed,
        Err(e) => {
            // Help and version go to stdout with status 0; real usage errors exit 2.
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    ExitCode::from(cli::execute(parsed, color))
}
