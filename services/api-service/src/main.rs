//! `api-service`: the binary; everything lives in the library.
//! `api-service openapi` prints the OpenAPI document (no secrets needed);
//! anything else is the server, configured by flags or the environment.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::args_os().nth(1).is_some_and(|a| a == "openapi") {
        println!("{}", serde_json::to_string_pretty(&api_service::openapi())?);
        return Ok(());
    }
    api_service::run(api_service::Settings::parse()).await
}
