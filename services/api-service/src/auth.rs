//! Login and the JWT extractor. Passwords are verified on the bounded pool
//! of [`crate::login`]. Tokens carry the configured user as `sub`, are issued
//! with `exp = iat + 24 h`, and a token is accepted only if its signature,
//! algorithm, subject and times say so (see [`Keys::check`]). Tokens already
//! verified are remembered (bounded, until they expire): a client polling
//! with the same token does not pay the signature check and the claims' JSON
//! on every request.

use std::sync::Arc;

use argon2::{Argon2, PasswordHash, PasswordVerifier};
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::{ApiError, ErrorBody, Json};
use crate::login::{LoginSettings, Pool, Sizing};

/// Tokens live 24 hours (not configurable: every replica must agree).
pub const TOKEN_SECONDS: i64 = 24 * 3600;

/// How far in the future a token's `iat` may be: another replica's clock
/// may run ahead of ours by this much.
pub const CLOCK_SKEW_SECONDS: i64 = 60;

pub struct Keys {
    username: String,
    password_hash: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// Where password verifications run.
    pub pool: Pool,
    /// Tokens whose signature was checked with `decoding`, and their claims.
    verified: std::sync::RwLock<std::collections::HashMap<String, Arc<Claims>>>,
}

/// Verified tokens remembered at once (the single user has a handful).
const VERIFIED_MAX: usize = 1024;

impl Keys {
    pub fn new(username: &str, password_hash: &str, signing_key: &str, login: &LoginSettings) -> anyhow::Result<Keys> {
        // Select the pure-Rust signer explicitly: cargo unifies features across
        // a workspace build, and a dependency enabling jsonwebtoken's other
        // backend too would otherwise make every signature panic. Idempotent.
        let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
        let hash = PasswordHash::new(password_hash)
            .map_err(|e| anyhow::anyhow!("API_PASSWORD_HASH is not an argon2 PHC string: {e}"))?;
        let params = argon2::Params::try_from(&hash)
            .map_err(|e| anyhow::anyhow!("API_PASSWORD_HASH has no valid argon2 parameters: {e}"))?;
        anyhow::ensure!(signing_key.len() >= 32, "JWT_SIGNING_KEY must be at least 32 bytes");
        let sizing = Sizing::new(params.m_cost(), login)?;
        tracing::info!(
            slots = sizing.slots,
            per_verification_mib = sizing.per_verification >> 20,
            memory_limit_mib = sizing.memory_limit >> 20,
            memory_limit_from = sizing.memory_limit_from,
            cpus = sizing.cpus,
            overridden = sizing.overridden,
            "login pool"
        );
        // The crate checks the signature, the algorithm, `sub`, `exp` and — if
        // present — `nbf` (both without leeway: a token is refused the second
        // it expires, as the remembered ones are; we never issue an `nbf`).
        // It does not look at `iat`: `check` does.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.sub = Some(username.to_string());
        Ok(Keys {
            username: username.into(),
            password_hash: password_hash.into(),
            encoding: EncodingKey::from_secret(signing_key.as_bytes()),
            decoding: DecodingKey::from_secret(signing_key.as_bytes()),
            validation,
            pool: Pool::new(sizing, login),
            verified: Default::default(),
        })
    }

    /// A token's claims, if it is one this service would have issued and it
    /// is valid now: the crate's validation, then what it does not check —
    /// an `iat` no further ahead than the clock skew, and a lifetime
    /// (`exp - iat`) no longer than ours. A token signed with the right key
    /// but for another subject, not valid yet, or valid until the year 3000
    /// is refused.
    pub fn check(&self, token: &str, now: i64) -> Option<Claims> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?.claims;
        let plausible = claims.iat <= now + CLOCK_SKEW_SECONDS && claims.exp - claims.iat <= TOKEN_SECONDS;
        plausible.then_some(claims)
    }
}

/// The PHC string of `password` with argon2's default parameters (19 MiB,
/// two passes, one lane) and a random salt: what `API_PASSWORD_HASH` holds.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
    anyhow::ensure!(!password.is_empty(), "the password is empty");
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("{e}"))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
}

/// The single user's credentials.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct Login {
    pub username: String,
    pub password: String,
}

/// A bearer token for the `/api/v1` routes.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct Token {
    /// HS256 JWT.
    pub token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the token expires (24 h).
    pub expires_in: i64,
}

pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(login))
}

/// Exchange the password for a token valid 24 hours.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = Login,
    responses(
        (status = 200, description = "Logged in", body = Token),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Wrong user name or password", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Missing or mistyped fields", body = ErrorBody),
        (status = 429, description = "Too many attempts from this client", body = ErrorBody,
            headers(("retry-after" = u64, description = "Seconds until the next attempt is allowed"))),
        (status = 503, description = "Every password verification slot stayed busy for the queue wait; retry", body = ErrorBody,
            headers(("retry-after" = u64, description = "Seconds to wait before retrying"))),
    ))]
pub async fn login(State(s): State<AppState>, Json(l): Json<Login>) -> Result<Json<Token>, ApiError> {
    let keys = s.auth.clone();
    // argon2 is deliberately slow and large: on the bounded pool, off the async workers.
    let ok = s
        .auth
        .pool
        .run(move || {
            let hash = PasswordHash::new(&keys.password_hash).ok()?;
            // Verify first, whatever the user name: a wrong name costs as long as a wrong password.
            let password_ok = Argon2::default().verify_password(l.password.as_bytes(), &hash).is_ok();
            Some(password_ok && l.username == keys.username)
        })
        .await
        .map_err(|_| ApiError::Busy)?
        .unwrap_or(false);
    if !ok {
        tracing::warn!("failed login");
        return Err(ApiError::Unauthorized);
    }
    let now = chrono::Utc::now().timestamp();
    let claims = Claims { sub: s.auth.username.clone(), iat: now, exp: now + TOKEN_SECONDS };
    let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &s.auth.encoding)
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(Json(Token { token, token_type: "Bearer".into(), expires_in: TOKEN_SECONDS }))
}

/// A request carrying a valid token.
pub struct User(pub Arc<Claims>);

impl FromRequestParts<AppState> for User {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(ApiError::Unauthorized)?;
        let token = header.strip_prefix("Bearer ").ok_or(ApiError::Unauthorized)?;
        let now = chrono::Utc::now().timestamp();
        let known = s.auth.verified.read().unwrap_or_else(|e| e.into_inner()).get(token).cloned();
        if let Some(claims) = known {
            // Expiry is checked on every use, exactly as the validation below does (no leeway).
            if claims.exp > now {
                return Ok(User(claims));
            }
            return Err(ApiError::Unauthorized);
        }
        let claims = Arc::new(s.auth.check(token, now).ok_or(ApiError::Unauthorized)?);
        let mut verified = s.auth.verified.write().unwrap_or_else(|e| e.into_inner());
        if verified.len() >= VERIFIED_MAX {
            verified.retain(|_, c| c.exp > now);
            if verified.len() >= VERIFIED_MAX {
                verified.clear();
            }
        }
        verified.insert(token.to_string(), claims.clone());
        Ok(User(claims))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, SaltString};

    const KEY: &str = "a-unit-test-signing-key-of-32-bytes-or-more";

    fn state() -> AppState {
        let salt = SaltString::from_b64("c29tZXNhbHRzb21lc2FsdA").unwrap();
        let hash = Argon2::default().hash_password(b"pw", &salt).unwrap().to_string();
        let pool = sqlx::postgres::PgPoolOptions::new().connect_lazy("postgres://nobody@127.0.0.1:9/none").unwrap();
        let keys = Keys::new("me", &hash, KEY, &LoginSettings::default()).unwrap();
        AppState::with_cache(pool, std::sync::Arc::new(keys), Default::default())
    }

    async fn user(s: &AppState, token: &str) -> Result<User, ApiError> {
        let req = axum::http::Request::builder().header("authorization", format!("Bearer {token}")).body(()).unwrap();
        let (mut parts, ()) = req.into_parts();
        User::from_request_parts(&mut parts, s).await
    }

    #[tokio::test]
    async fn a_remembered_token_is_refused_once_it_expires() {
        let s = state();
        let now = chrono::Utc::now().timestamp();
        let claims = Claims { sub: "me".into(), iat: now, exp: now + 3600 };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &s.auth.encoding).unwrap();
        assert!(user(&s, &token).await.is_ok());
        assert!(s.auth.verified.read().unwrap().contains_key(&token), "verified once, remembered");
        // The remembered claims say it has expired meanwhile: refused without asking the signature again.
        Arc::make_mut(s.auth.verified.write().unwrap().get_mut(&token).unwrap()).exp = now - 1;
        assert!(matches!(user(&s, &token).await, Err(ApiError::Unauthorized)));
        // A forged token is never remembered.
        let last = if token.ends_with('x') { "y" } else { "x" };
        let forged = format!("{}{last}", &token[..token.len() - 1]);
        assert!(user(&s, &forged).await.is_err());
        assert!(!s.auth.verified.read().unwrap().contains_key(&forged));
    }
}
