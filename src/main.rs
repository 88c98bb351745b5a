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
        Some(command) => match run(&cli, command) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(e) => {
                eprintln!("tether: {}", e.0);
                ExitCode::FAILURE
            }
        },
    }
}
