//! Structured logs for pilot binaries: tracing to stderr, filtered by `RUST_LOG` (default
//! `info`), as JSON lines when `PILOT_LOG_FORMAT=json`.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Call once, first thing in `main`.
pub fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let json = std::env::var("PILOT_LOG_FORMAT").is_ok_and(|f| f == "json");
    let result = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    if let Err(e) = result {
        eprintln!("logging already set up: {e}");
    }
}
