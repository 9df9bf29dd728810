//! `cargo run -p example-axum-demo -- --help`

use std::process::ExitCode;

use example_axum_demo::config::{Config, ConfigError, USAGE};

#[tokio::main]
async fn main() -> ExitCode {
    // The store's slow and failed statements and the cleanup's retries;
    // `RUST_LOG=session_runtime=debug` shows every statement.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("session_runtime=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(ConfigError::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("error: {error}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match example_axum_demo::run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
