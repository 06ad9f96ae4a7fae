//! `navigator-apiserver`: parse the options, validate them, run the server.

use clap::Parser;
use navigator_apiserver::options::Options;

fn main() {
    let options = Options::parse();
    match options.into_config() {
        Ok(config) => {
            eprintln!("navigator-apiserver: serving is not wired yet (config: {config:?})");
            std::process::exit(2);
        }
        Err(problems) => {
            eprintln!("navigator-apiserver: {problems}");
            std::process::exit(2);
        }
    }
}
