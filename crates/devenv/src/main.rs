//! `devenv`: start, stop and inspect a local Kubernetes control plane. See the library docs.

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> anyhow::Result<ExitCode> {
    let cli = devenv::cli::Cli::parse();
    Ok(devenv::cli::run(cli)?)
}
