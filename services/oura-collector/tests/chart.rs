//! The collector's exit codes against the chart that runs it: the committed
//! `generated/` values must end the Job at once on either partial run — exit
//! 3, "will be retried next run", and exit 4, "needs the user" — so a retry
//! does not hammer the collections that failed (nor burn a refresh to prove a
//! withheld scope again), and retry anything else.
//! `myhealthctl render` writes those values; the drift gate keeps them fresh.

use oura_collector::Outcome;

#[test]
fn the_chart_fails_the_job_on_exactly_the_partial_exit_codes() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = std::fs::read_to_string(root.join("generated/helm/myhealth/values.yaml"))
        .expect("generated/helm/myhealth/values.yaml (run `myhealthctl render`)");
    let values: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let cron = &values["services"]["oura-collector"]["cronJob"];
    assert!(cron.is_mapping(), "the collector runs as a CronJob: {cron:?}");
    let codes: Vec<u64> = cron["failJobOnExitCodes"]
        .as_sequence()
        .expect("failJobOnExitCodes")
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let partial = [Outcome::Partial, Outcome::NeedsUser].map(|o| u64::from(o.exit_code()));
    assert_eq!(codes, partial, "failJobOnExitCodes (cli/src/render: policy::COLLECTOR_PARTIAL_EXIT…)");
    // A total failure is retried (backoffLimit), so it must not be listed.
    assert!(!codes.contains(&u64::from(Outcome::Failed.exit_code())));
    assert!(cron["backoffLimit"].as_u64().unwrap() >= 1);
}
