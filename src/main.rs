//! The `tether` binary: the GUI by default, or a command-line subcommand.

use clap::Parser;
use std::process::ExitCode;
use tether::cli::{Cli, run};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        None => match tether::ui::run(cli.db.clone(), cli.user.clone()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("tether: {e}");
                ExitCode::FAILURE
            }
        },
        Some(command) => match run_command(&cli, command) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(e) => {
                eprintln!("tether: {}", e.0);
                ExitCode::FAILURE
            }
        },
    }
}

fn run_command(cli: &Cli, command: &tether::cli::Command) -> Result<bool, tether::cli::CliError> {
    quiet_on_closed_pipe();
    run(cli, command)
}

/// `tether user list | head` ends quietly, as other command-line tools do,
/// instead of a panic when `head` closes the pipe: the default action for
/// SIGPIPE again (Rust ignores it, so printing to a closed pipe panics).
/// Only for subcommands; the window never depends on its stdout.
fn quiet_on_closed_pipe() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: called on the main thread before any other thread exists;
    // it only sets the disposition of one signal to the system default.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
