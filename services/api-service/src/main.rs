//! `api-service`: the binary; everything lives in the library.
//! `api-service openapi` prints the OpenAPI document (no secrets needed);
//! `api-service hash-password` reads a password on stdin and prints its
//! argon2 PHC string (what `API_PASSWORD_HASH` holds); anything else is the
//! server, configured by flags or the environment.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match std::env::args_os().nth(1) {
        Some(a) if a == "openapi" => {
            println!("{}", serde_json::to_string_pretty(&api_service::openapi())?);
            Ok(())
        }
        Some(a) if a == "hash-password" => {
            let mut password = String::new();
            std::io::stdin().read_line(&mut password)?;
            println!("{}", api_service::auth::hash_password(password.trim_end_matches(['\r', '\n']))?);
            Ok(())
        }
        _ => api_service::run(api_service::Settings::parse()).await,
    }
}
