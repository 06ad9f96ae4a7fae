//! Prints the generated OpenAPI documents: `cargo run -p navigator-api --example openapi -- v3 v1beta1`
//! or `… -- v2`.

use navigator_api::openapi;
use navigator_api::scheme::ApiVersion;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let doc = match args.first().map(String::as_str) {
        Some("v2") => openapi::v2_document(),
        Some("v3") => {
            let version = args
                .get(1)
                .and_then(|v| ApiVersion::parse(v))
                .ok_or("usage: openapi v3 <version>")?;
            openapi::v3_document(version)
        }
        _ => return Err("usage: openapi v2 | openapi v3 <version>".into()),
    };
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(())
}
