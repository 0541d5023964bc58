//! `POST /api/pricing/quote`: prices one model call with the collector's price table.

use axum::extract::State;
use axum::Json;
use chrono::Utc;

use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::pricing::{quote as price_quote, QuoteReport};
use crate::AppState;

/// Prices `{provider, model, usage, at?, serviceTier?, batch?}` and returns the same JSON as
/// `agentlens prices quote`.
///
/// A call without a price is a 200 with `"status": "unpriced"` and the reason. An invalid
/// field is a 400 whose `details` name it, such as `usage.inputTokens`.
#[utoipa::path(
    post,
    path = "/api/pricing/quote",
    operation_id = "quotePrice",
    tag = "pricing",
    request_body = crate::openapi::schemas::QuoteRequest,
    responses(
        (
            status = 200,
            description = "The price with its breakdown, or `status: unpriced` with the reason",
            body = QuoteReport,
        ),
        (
            status = 400,
            description = "Invalid JSON, or invalid fields named in `details`",
            body = crate::openapi::schemas::ErrorBody,
        ),
        (
            status = 401,
            description = "Missing, invalid or revoked API key",
            body = crate::openapi::schemas::ErrorBody,
        ),
        (
            status = 413,
            description = "Body larger than 1 MiB",
            body = crate::openapi::schemas::ErrorBody,
        ),
        (
            status = 429,
            description = "Rate limit exceeded. `Retry-After` gives the seconds to wait",
            body = crate::openapi::schemas::ErrorBody,
        ),
    ),
)]
pub async fn quote(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<Json<QuoteReport>, ApiError> {
    let report = price_quote(&state.prices, &body, Utc::now()).map_err(ApiError::Validation)?;
    Ok(Json(report))
}
