//! Shared building blocks of the bundled services (configuration, telemetry, database pool); filled in by the services issue.
