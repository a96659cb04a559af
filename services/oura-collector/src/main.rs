//! `oura-collector`: run once (the CronJob). Exit 0 when every collection
//! was stored, 3 when some were and others failed ("partial"), 1 when
//! nothing could be collected (docs/services.md).

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let settings = <oura_collector::Settings as clap::Parser>::parse();
    myhealth_common::telemetry::init_logs("oura-collector");
    match oura_collector::run(&settings).await {
        Ok(report) => {
            let summary: Vec<String> = report
                .collections
                .iter()
                .map(|c| match c.failure {
                    None => format!("{}={}", c.name, c.documents),
                    Some(r) => format!("{}=failed({r})", c.name),
                })
                .collect();
            let outcome = report.outcome;
            match outcome {
                oura_collector::Outcome::Ok => tracing::info!(collections = %summary.join(" "), "collection complete"),
                oura_collector::Outcome::Partial => {
                    tracing::warn!(collections = %summary.join(" "), "collection partial: some collections failed")
                }
                oura_collector::Outcome::Failed => {
                    tracing::error!(collections = %summary.join(" "), "collection failed")
                }
            }
            std::process::ExitCode::from(outcome.exit_code())
        }
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "collection failed");
            std::process::ExitCode::FAILURE
        }
    }
}
