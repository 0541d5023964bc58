//! `GET /api/health`, the one route that needs no key.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::AppState;

/// Returns the collector version and whether a database query succeeds, with its latency.
///
/// Returns 503 with `status: "degraded"` when the database query fails. It does the same
/// when the last write failed on the database file or its disk (a full disk, a read-only
/// or corrupt file) and no write has succeeded since. `db.writeError` then names the
/// failure.
#[utoipa::path(
    get,
    path = "/api/health",
    operation_id = "getHealth",
    tag = "meta",
    security(()),
    responses(
        (
            status = 200,
            description = "The collector and its database work",
            body = crate::openapi::schemas::HealthBody,
        ),
        (
            status = 503,
            description = "The database query failed, or the last write failed on the \
                database file or its disk; `status` is `degraded`",
            body = crate::openapi::schemas::HealthBody,
        ),
    ),
)]
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let version = env!("CARGO_PKG_VERSION");
    match state.store.ping().await {
        Ok(latency) if state.store.last_write_fault().is_some() => {
            let latency_ms = latency.as_secs_f64() * 1000.0;
            let body = json!({
                "status": "degraded",
                "version": version,
                "db": {
                    "ok": false,
                    "latencyMs": latency_ms,
                    "writeError": state.store.last_write_fault(),
                },
            });
            (StatusCode::SERVICE_UNAVAILABLE, Json(body))
        }
        Ok(latency) => {
            let latency_ms = latency.as_secs_f64() * 1000.0;
            let body = json!({"status": "ok", "version": version, "db": {"ok": true, "latencyMs": latency_ms}});
            (StatusCode::OK, Json(body))
        }
        Err(error) => {
            tracing::error!(%error, "health check could not reach the database");
            let body = json!({"status": "degraded", "version": version, "db": {"ok": false}});
            (StatusCode::SERVICE_UNAVAILABLE, Json(body))
        }
    }
}
