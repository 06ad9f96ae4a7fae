//! `navigator-apiserver`: parse the options, validate them, run the server.

use clap::Parser;
use navigator_apiserver::options::Options;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    let json = options.log_json;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    if json {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .json()
            .init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
    let config = options.into_config().map_err(anyhow::Error::msg)?;
    navigator_apiserver::run::run(config).await?;
    Ok(())
}
