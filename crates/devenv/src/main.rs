//! `devenv`: start, stop and inspect a local Kubernetes control plane. See the library docs.

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = devenv::cli::Cli::parse();
    match devenv::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            // The whole chain of causes on one line, without a backtrace.
            eprintln!("devenv: {:#}", anyhow::Error::new(e));
            ExitCode::FAILURE
        }
    }
}
