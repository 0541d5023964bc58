//! `GET /api/analytics/costs` and `GET /api/analytics/llm`.

use agentlens_core::event::format_timestamp;
use axum::extract::State;
use axum::{Extension, Json};
use chrono::{Duration, Utc};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{check_order, QueryParams};
use crate::store::analytics::{CostQuery, CostReport, Granularity};
use crate::store::llm_analytics::{LlmQuery, LlmReport};
use crate::AppState;

/// Days covered by the cost report when `from` is absent.
const DEFAULT_RANGE_DAYS: i64 = 30;

/// Hours covered by the LLM report when `from` is absent, as in upstream.
const DEFAULT_LLM_RANGE_HOURS: i64 = 24;

/// Returns exact cost totals of `cost_tracked` and `llm_response` events, broken down by
/// agent, model, session and time bucket.
///
/// Parameters:
/// - `from`, `to`: inclusive bounds, RFC 3339 with any offset or a date `YYYY-MM-DD`
///   (a `to` date includes that whole day). Defaults: `to` = now, `from` = 30 days
///   before `to`.
/// - `granularity`: `hour`, `day` (default) or `week` (ISO weeks from Monday, labelled
///   `IYYY-Www`); anything else is a 400.
/// - `tz`: IANA zone whose clock defines hours, days, weeks and date bounds; default UTC.
/// - `agentId`: only this agent's events.
pub async fn costs(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: QueryParams,
) -> Result<Json<CostReport>, ApiError> {
    let time_zone = query.time_zone()?;
    let granularity = granularity(&query, Granularity::Day)?;
    let to = query
        .instant("to", true, time_zone)?
        .unwrap_or_else(Utc::now);
    let from = query
        .instant("from", false, time_zone)?
        .unwrap_or(to - Duration::days(DEFAULT_RANGE_DAYS));
    check_order(from, to)?;

    let cost_query = CostQuery {
        from: format_timestamp(&from),
        to: format_timestamp(&to),
        agent_id: query.text("agentId"),
        granularity,
        time_zone,
    };
    let report = state
        .store
        .cost_report(&caller.tenant_id, cost_query)
        .await?;
    Ok(Json(report))
}

/// Returns calls, exact costs, tokens and latency of `llm_response` events: a `summary`,
/// `byModel` (highest cost first) and `byTime` buckets.
///
/// Parameters:
/// - `from`, `to`: inclusive bounds as for the cost report. Defaults: `to` = now, `from`
///   = 24 hours before `to`.
/// - `granularity`: `hour` (default), `day` or `week`; anything else is a 400.
/// - `tz`: IANA zone whose clock defines the buckets and date bounds; default UTC.
/// - `agentId`, `model`, `provider`: exact matches.
pub async fn llm(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: QueryParams,
) -> Result<Json<LlmReport>, ApiError> {
    let time_zone = query.time_zone()?;
    let granularity = granularity(&query, Granularity::Hour)?;
    let to = query
        .instant("to", true, time_zone)?
        .unwrap_or_else(Utc::now);
    let from = query
        .instant("from", false, time_zone)?
        .unwrap_or(to - Duration::hours(DEFAULT_LLM_RANGE_HOURS));
    check_order(from, to)?;

    let llm_query = LlmQuery {
        from: format_timestamp(&from),
        to: format_timestamp(&to),
        agent_id: query.text("agentId"),
        model: query.text("model"),
        provider: query.text("provider"),
        granularity,
        time_zone,
    };
    let report = state.store.llm_report(&caller.tenant_id, llm_query).await?;
    Ok(Json(report))
}

/// Reads `granularity`, or returns `default` when it is absent.
fn granularity(query: &QueryParams, default: Granularity) -> Result<Granularity, ApiError> {
    match query.text("granularity").as_deref() {
        None => Ok(default),
        Some("hour") => Ok(Granularity::Hour),
        Some("day") => Ok(Granularity::Day),
        Some("week") => Ok(Granularity::Week),
        Some(_) => Err(ApiError::BadRequest(
            "Invalid granularity. Use: hour, day, week".to_owned(),
        )),
    }
}
