//! `data-processor`: the binary; everything lives in the library.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = <data_processor::Cli as clap::Parser>::parse();
    match cli.command {
        Some(data_processor::Command::DbInit(s)) => data_processor::db_init::run(s).await,
        None => data_processor::run(cli.serve).await,
    }
}
