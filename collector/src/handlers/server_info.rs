//! `GET /api/server-info`: the collector version, what it serves and its price table.

use axum::extract::State;
use axum::Json;
use serde::Serialize;

use crate::AppState;

/// Names of the API areas this collector serves. The upstream MCP server registers only
/// the tools whose feature is listed.
///
/// NOTE: upstream's own feature names are not documented. `sessions` and `alerts` match
/// its tool names, and the others name our routes.
pub const FEATURES: &[&str] = &[
    "events",
    "sessions",
    "timeline",
    "cost_analytics",
    "llm_analytics",
    "alerts",
    "api_keys",
];

/// The body of `GET /api/server-info`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ServerInfo {
    /// Collector version, the crate version that upstream clients read.
    pub version: &'static str,
    /// Short hash of the git commit that the collector was built from, or `null` for a
    /// build outside a git checkout, such as one from crates.io.
    pub commit: Option<&'static str>,
    /// API areas served, see [`FEATURES`].
    #[schema(value_type = Vec<String>)]
    pub features: &'static [&'static str],
    /// The price table that prices events sent without `costUsd`.
    pub pricing: PricingInfo,
}

/// Facts about the price table in use: the embedded table, with any `--prices` overrides.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PricingInfo {
    /// Package and version the prices come from.
    pub source: String,
    /// Day the table was generated, `YYYY-MM-DD`.
    pub as_of: String,
    /// Content hash of the table: `pv_` and 12 hex digits of its SHA-256.
    pub version: String,
    /// Number of models the table prices.
    pub model_count: usize,
}

/// Returns the version, the git commit, the served features and the price table's source
/// and version.
#[utoipa::path(
    get,
    path = "/api/server-info",
    operation_id = "getServerInfo",
    tag = "meta",
    responses(
        (status = 200, description = "Version, git commit, served features and price table", body = ServerInfo),
        (
            status = 401,
            description = "Missing, invalid or revoked API key",
            body = crate::openapi::schemas::ErrorBody,
        ),
        (
            status = 429,
            description = "Rate limit exceeded. `Retry-After` gives the seconds to wait",
            body = crate::openapi::schemas::ErrorBody,
        ),
    ),
)]
pub async fn server_info(State(state): State<AppState>) -> Json<ServerInfo> {
    let table = &state.prices;
    Json(ServerInfo {
        version: env!("CARGO_PKG_VERSION"),
        commit: option_env!("AGENTLENS_GIT_COMMIT"),
        features: FEATURES,
        pricing: PricingInfo {
            source: table.source().to_owned(),
            as_of: table.generated().to_string(),
            version: table.version().to_owned(),
            model_count: table.model_count(),
        },
    })
}
