//! Operational policy the generated platform applies that `myhealth.toml`
//! does not (yet) expose: named here once, so a value that looks like config
//! is never a literal buried in a context builder or template.

/// api-service: requests per second and burst per client on the data routes.
pub const API_RATE_LIMIT_PER_SECOND: u32 = 20;
pub const API_RATE_LIMIT_BURST: u32 = 40;

/// oura-collector CronJob: retries of a failed run, its deadline, kept history.
pub const COLLECTOR_BACKOFF_LIMIT: u32 = 2;
pub const COLLECTOR_DEADLINE_SECONDS: u32 = 240;
pub const COLLECTOR_SUCCESSFUL_HISTORY: u32 = 3;
pub const COLLECTOR_FAILED_HISTORY: u32 = 5;
/// The collector's exit code for a partial run the next run retries (docs/services.md).
pub const COLLECTOR_PARTIAL_EXIT: u32 = 3;
/// The collector's exit code for a partial run that needs the user (a scope
/// not granted in Oura, or the subscription lapsed): a retry would fail the
/// same way and spend another token refresh.
pub const COLLECTOR_NEEDS_USER_EXIT: u32 = 4;
/// The schedule when a cronjob names none (validation requires one for `cronjob`).
pub const DEFAULT_SCHEDULE: &str = "*/5 * * * *";

/// How often External Secrets re-reads AWS.
pub const SECRETS_REFRESH: &str = "1h";
/// `sslmode` of every connection to RDS (the parameter group forces TLS).
pub const DB_SSLMODE: &str = "require";

/// Alert thresholds of the PrometheusRule.
pub const ALERT_ERROR_RATE_PERCENT: f64 = 5.0;
pub const ALERT_P95_LATENCY_SECONDS: f64 = 1.0;
pub const ALERT_COLLECTOR_STALE_MINUTES: u32 = 30;

/// The services close a connection whose next request's headers do not
/// arrive within this time (`HEADER_READ_TIMEOUT_SECONDS`), idle keep-alive
/// connections included.
pub const HEADER_READ_TIMEOUT_SECONDS: u32 = 10;
/// The mesh closes idle connections to a service sooner (DestinationRule
/// `idleTimeout`, which Istio applies on the server's sidecar too), so the
/// sidecar never sends a request on a connection the service is closing.
pub const MESH_IDLE_TIMEOUT_SECONDS: u32 = 5;
const _: () = assert!(MESH_IDLE_TIMEOUT_SECONDS < HEADER_READ_TIMEOUT_SECONDS);

/// Readiness: how long the database may not answer before a pod leaves its
/// Service (period × failures). A blip shorter than this takes no replica out;
/// a real outage takes them out together, which is then the truth.
pub const READINESS_PERIOD_SECONDS: u32 = 10;
pub const READINESS_FAILURES: u32 = 6;
/// The kubelet's wait for one probe answer; `/ready` bounds its own check below it.
pub const PROBE_TIMEOUT_SECONDS: u32 = 5;
