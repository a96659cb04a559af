//! `api-service`: the binary; everything lives in the library.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    api_service::run(<api_service::Settings as clap::Parser>::parse()).await
}
