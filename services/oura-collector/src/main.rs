//! `oura-collector`: run once (the CronJob). Exit 0 when every collection
//! was stored, 3 when some failed in a way the next run retries ("partial:
//! will be retried next run"), 4 when some need the user — a scope not
//! granted, the subscription lapsed ("partial: needs the user") —, 1 when
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
            let collections = summary.join(" ");
            let (needs_user, retried) = (report.failed(true), report.failed(false));
            let outcome = report.outcome;
            match outcome {
                oura_collector::Outcome::Ok => tracing::info!(collections, "collection complete"),
                oura_collector::Outcome::Partial => {
                    tracing::warn!(collections, retried, "collection partial: will be retried next run")
                }
                oura_collector::Outcome::NeedsUser => tracing::error!(
                    collections,
                    needs_user,
                    retried,
                    "collection partial: needs the user (a scope not granted in Oura, or the Oura subscription lapsed)"
                ),
                oura_collector::Outcome::Failed => tracing::error!(collections, "collection failed"),
            }
            std::process::ExitCode::from(outcome.exit_code())
        }
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "collection failed");
            std::process::ExitCode::FAILURE
        }
    }
}
