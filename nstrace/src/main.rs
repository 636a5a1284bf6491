//! nstrace: traces Linux namespace creation and entry with eBPF.

use std::process::ExitCode;

use clap::Parser;
use nstrace::{cli, collector};

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_target(false)
        .init();

    let config = match cli::Args::parse().resolve() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("nstrace: {error:#}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("nstrace: starting the async runtime failed: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(collector::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("nstrace: {error:#}");
            ExitCode::FAILURE
        }
    }
}
