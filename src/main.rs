//! `clientele`: the one binary. Each subcommand lives in its own file under `cmd/`.

mod cli;
mod cmd;
mod config;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = match config::parse() {
        Ok(cli) => cli,
        Err(e) => {
            eprintln!("error: {}", clientele_store::redact(&format!("{e:#}")));
            return std::process::ExitCode::from(2);
        }
    };
    match cmd::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", clientele_store::redact(&format!("{e:#}")));
            std::process::ExitCode::FAILURE
        }
    }
}
