//! `data-processor`: the binary; everything lives in the library.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    data_processor::run(<data_processor::Settings as clap::Parser>::parse()).await
}
