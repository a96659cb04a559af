//! The RDS IAM token is exactly what AWS's reference SDK makes: botocore's
//! `generate_db_auth_token` (from the suite's Python tools) for the same
//! credentials, region, endpoint, user and signing time.

use std::process::Command;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;

fn python() -> String {
    // tests/run puts the suite's venv first on PATH; beside the workspace otherwise.
    let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv/bin/python");
    if std::path::Path::new(venv).is_file() { venv.to_string() } else { "python3".to_string() }
}

const BOTOCORE: &str = r#"
import datetime, sys, unittest.mock
import botocore.auth, botocore.session
key, secret, region, host, port, user, epoch = sys.argv[1:]
fixed = datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc).replace(tzinfo=None)
class Fixed(datetime.datetime):
    # Older botocore asks utcnow(), newer now(timezone.utc).
    @classmethod
    def utcnow(cls):
        return fixed
    @classmethod
    def now(cls, tz=None):
        return fixed if tz is None else fixed.replace(tzinfo=datetime.timezone.utc).astimezone(tz)
with unittest.mock.patch.object(botocore.auth.datetime, "datetime", Fixed):
    s = botocore.session.get_session()
    c = s.create_client("rds", region_name=region, aws_access_key_id=key, aws_secret_access_key=secret)
    print(c.generate_db_auth_token(DBHostname=host, Port=int(port), DBUsername=user, Region=region))
"#;

fn sorted_query(token: &str) -> (String, Vec<String>) {
    let (base, query) = token.split_once('?').expect("a query string");
    let mut parts: Vec<String> = query.split('&').map(str::to_string).collect();
    parts.sort();
    (base.to_string(), parts)
}

#[test]
fn token_matches_botocore() {
    let (key, secret) = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    let epoch = 1_700_000_000u64;
    for (region, host, port, user) in [
        ("us-east-1", "myhealth-dev.abc123.us-east-1.rds.amazonaws.com", 5432u16, "data_processor"),
        ("eu-west-1", "db.internal", 6543, "api_service"),
    ] {
        let ours = myhealth_common::iam::auth_token(
            &Credentials::new(key, secret, None, None, "test"),
            region,
            host,
            port,
            user,
            SystemTime::UNIX_EPOCH + Duration::from_secs(epoch),
        )
        .unwrap();
        let out = Command::new(python())
            .args(["-c", BOTOCORE, key, secret, region, host, &port.to_string(), user, &epoch.to_string()])
            .output()
            .expect("run python (botocore)");
        assert!(out.status.success(), "botocore: {}", String::from_utf8_lossy(&out.stderr));
        let theirs = String::from_utf8(out.stdout).unwrap().trim().to_string();
        // Same request, same signature; the order of query parameters may differ.
        assert_eq!(sorted_query(&ours), sorted_query(&theirs), "\nours:   {ours}\ntheirs: {theirs}");
    }
}
