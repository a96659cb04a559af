//! api-service against a real PostgreSQL filled through the real
//! data-processor: login, tokens (none, forged, expired, or signed with the
//! right key but for another subject, not valid yet, or too long-lived →
//! 401), the login pool's 503, client addresses behind a proxy, the data
//! routes with cursor paging (days and timed documents: sleep periods with
//! their series, workouts, sessions), the new daily series, the dashboard,
//! trends, rate limits (429),
//! CORS, request ids and compression; the OpenAPI document against the
//! routes, and schemathesis against the running service.
//!
//! One test binary in rooms: `world` (the database, the processor and the
//! API started together, and the requests every test makes), `data` (the
//! data routes, trends, the OpenAPI document), `access` (tokens, client
//! addresses, rate limits, the login pool, CORS and compression).

mod access;
mod data;
mod world;
