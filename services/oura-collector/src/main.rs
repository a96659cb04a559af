//! `oura-collector`: run once (the CronJob), exit non-zero on failure.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let settings = <oura_collector::Settings as clap::Parser>::parse();
    myhealth_common::telemetry::init_logs("oura-collector");
    match oura_collector::run(&settings).await {
        Ok(report) => {
            tracing::info!(?report, "collection complete");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "collection failed");
            std::process::ExitCode::FAILURE
        }
    }
}
