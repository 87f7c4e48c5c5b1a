//! `clientele`: the one binary. Each subcommand lives in its own file under `cmd/`.

use clap::Parser;

mod cli;
mod cmd;
mod config;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    match cmd::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
