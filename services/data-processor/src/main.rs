//! `data-processor`: the binary; everything lives in the library.
//! `data-processor openapi` prints the OpenAPI document; `db-init` prepares
//! the database; anything else is the server.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = <data_processor::Cli as clap::Parser>::parse();
    match cli.command {
        Some(data_processor::Command::DbInit(s)) => data_processor::db_init::run(*s).await,
        Some(data_processor::Command::Openapi) => {
            println!("{}", serde_json::to_string_pretty(&data_processor::openapi())?);
            Ok(())
        }
        None => data_processor::run(cli.serve).await,
    }
}
