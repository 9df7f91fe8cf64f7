//! A Rust API behind a Better Auth app: it trusts the app's sessions in place.
//!
//! ```sh
//! DATABASE_URL=postgres://... BETTER_AUTH_SECRET=... SESSIONKEEPER_MODE=shared \
//!   PORT=3002 cargo run --example axum_service
//! ```
//!
//! - `GET /me`: 200 `{"id", "email", "role"}` for a valid session (cookie or bearer), else 401;
//! - `GET /admin`: the same for a user whose role includes `admin`, else 403 (401 signed out).
//!
//! Settings come from the environment exactly as for `sessionkeeper serve` (README,
//! "Configuration"); `PORT` is this example's own (default 3002; 0 picks a free port). It
//! prints `listening <port>` once it accepts connections.

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use sessionkeeper::Validator;
use sessionkeeper::guard::{Admin, Role, Session};
use std::process::ExitCode;

/// The routes; the validator is the router's state.
pub fn app(validator: Validator) -> Router {
    Router::new()
        .route("/me", get(me))
        .route("/admin", get(admin))
        .with_state(validator)
}

async fn me(Session(s): Session) -> Json<Value> {
    Json(json!({ "id": s.user.id, "email": s.user.email, "role": s.user.role }))
}

async fn admin(Role(s, ..): Role<Admin>) -> Json<Value> {
    Json(json!({ "id": s.user.id, "email": s.user.email, "role": s.user.role }))
}

#[tokio::main]
async fn main() -> ExitCode {
    let port = std::env::var("PORT").unwrap_or_else(|_| "3002".into());
    let Ok(port) = port.parse::<u16>() else {
        eprintln!(
            "invalid environment variable PORT: got {port:?}; expected a port number from 0 to 65535"
        );
        return ExitCode::from(2);
    };
    let validator = match Validator::from_env().await {
        Ok(v) => v,
        Err(
            e
            @ (sessionkeeper::ValidatorError::Config(_) | sessionkeeper::ValidatorError::NoSecret),
        ) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on 127.0.0.1:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(port);
    println!("listening {port}");
    match axum::serve(listener, app(validator)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server error: {e}");
            ExitCode::FAILURE
        }
    }
}
