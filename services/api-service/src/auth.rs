//! Login and the JWT extractor.

use argon2::{Argon2, PasswordHash, PasswordVerifier};
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::routing::post;
use axum::{Json, Router};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::ApiError;

/// Tokens live 24 hours.
pub const TOKEN_SECONDS: i64 = 24 * 3600;

pub struct Keys {
    username: String,
    password_hash: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl Keys {
    pub fn new(username: &str, password_hash: &str, signing_key: &str) -> anyhow::Result<Keys> {
        PasswordHash::new(password_hash)
            .map_err(|e| anyhow::anyhow!("API_PASSWORD_HASH is not an argon2 PHC string: {e}"))?;
        anyhow::ensure!(signing_key.len() >= 32, "JWT_SIGNING_KEY must be at least 32 bytes");
        Ok(Keys {
            username: username.into(),
            password_hash: password_hash.into(),
            encoding: EncodingKey::from_secret(signing_key.as_bytes()),
            decoding: DecodingKey::from_secret(signing_key.as_bytes()),
        })
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Deserialize)]
struct Login {
    username: String,
    password: String,
}

pub fn router() -> Router<AppState> {
    Router::new().route("/auth/login", post(login))
}

async fn login(State(s): State<AppState>, Json(l): Json<Login>) -> Result<Json<serde_json::Value>, ApiError> {
    let keys = s.auth.clone();
    // argon2 is deliberately slow: keep it off the async workers.
    let ok = tokio::task::spawn_blocking(move || {
        let hash = PasswordHash::new(&keys.password_hash).ok()?;
        Some(l.username == keys.username && Argon2::default().verify_password(l.password.as_bytes(), &hash).is_ok())
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?
    .unwrap_or(false);
    if !ok {
        tracing::warn!("failed login");
        return Err(ApiError::Unauthorized);
    }
    let now = chrono::Utc::now().timestamp();
    let claims = Claims { sub: s.auth.username.clone(), iat: now, exp: now + TOKEN_SECONDS };
    let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &s.auth.encoding)
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(Json(serde_json::json!({ "token": token, "token_type": "Bearer", "expires_in": TOKEN_SECONDS })))
}

/// A request carrying a valid token.
pub struct User(pub Claims);

impl FromRequestParts<AppState> for User {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(ApiError::Unauthorized)?;
        let token = header.strip_prefix("Bearer ").ok_or(ApiError::Unauthorized)?;
        let mut v = Validation::new(Algorithm::HS256);
        v.leeway = 0;
        let data = jsonwebtoken::decode::<Claims>(token, &s.auth.decoding, &v).map_err(|_| ApiError::Unauthorized)?;
        Ok(User(data.claims))
    }
}
