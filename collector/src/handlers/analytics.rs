//! `GET /api/analytics` and its `costs`, `llm`, `agents` and `tools` breakdowns.

use agentlens_core::event::format_timestamp;
use axum::extract::State;
use axum::{Extension, Json};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{check_order, QueryParams};
use crate::store::agent_tool_analytics::{AgentStats, ToolStats};
use crate::store::analytics::{CostQuery, CostReport, Granularity};
use crate::store::llm_analytics::{LlmQuery, LlmReport};
use crate::store::overview::{Overview, OverviewQuery};
use crate::AppState;

/// Days covered by the cost report when `from` is absent.
const DEFAULT_RANGE_DAYS: i64 = 30;

/// Hours covered by the LLM report and the overview when `from` and `range` are absent,
/// as in upstream.
const DEFAULT_LLM_RANGE_HOURS: i64 = 24;

/// Values of `range` and the time they cover, in hours.
pub(crate) const RANGES: [(&str, i64); 6] = [
    ("1h", 1),
    ("6h", 6),
    ("24h", 24),
    ("3d", 72),
    ("7d", 168),
    ("30d", 720),
];

/// Returns event, tool-call and error counts, average latency, exact cost and distinct
/// sessions per time bucket, with totals that also count distinct agents.
///
/// Parameters:
/// - `from`, `to`: inclusive bounds as for the cost report. Defaults: `to` = now, `from`
///   = `to` minus `range`.
/// - `range`: `1h`, `6h`, `24h` (default), `3d`, `7d` or `30d`; used only when `from` is
///   absent. An unknown value is a 400, where upstream AgentLens falls back to 24 hours.
/// - `granularity`: `hour` (default), `day` or `week`; anything else is a 400.
/// - `tz`: IANA zone whose clock defines the buckets and date bounds; default UTC.
/// - `agentId`: only this agent's events.
///
/// `totalCostUsd` follows the cost rule (counted `cost_tracked` and `llm_response` costs),
/// and `avgLatencyMs` averages `tool_response.durationMs` and `llm_response.latencyMs`.
#[utoipa::path(
    get,
    path = "/api/analytics",
    operation_id = "getAnalytics",
    tag = "analytics",
    params(
        (
            "from" = Option<crate::openapi::params::TimeBound>,
            Query,
            description = "Inclusive start, RFC 3339 with any offset or a date `YYYY-MM-DD`. Default `to` minus `range`",
        ),
        (
            "to" = Option<crate::openapi::params::TimeBound>,
            Query,
            description = "Inclusive end, RFC 3339 with any offset or a date `YYYY-MM-DD` (the whole day). Default now",
        ),
        (
            "range" = Option<crate::openapi::params::Range>,
            Query,
            description = "`1h`, `6h`, `24h`, `3d`, `7d` or `30d`, used when `from` is absent. Default `24h`",
        ),
        (
            "granularity" = Option<crate::openapi::params::Granularity>,
            Query,
            description = "`hour`, `day` or `week`. Default `hour`",
        ),
        (
            "tz" = Option<crate::openapi::params::TimeZone>,
            Query,
            description = "IANA time zone of buckets and date bounds. Default UTC",
        ),
        ("agentId" = Option<String>, Query, min_length = 1, description = "Only this agent's events"),
    ),
    responses(
        (
            status = 200,
            description = "Counts, latency and cost per time bucket, with totals",
            body = Overview,
        ),
        (
            status = 400,
            description = "Invalid range, granularity, time zone or bounds",
            body = crate::openapi::schemas::ErrorBody,
        ),
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
pub async fn overview(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: QueryParams,
) -> Result<Json<Overview>, ApiError> {
    let time_zone = query.time_zone()?;
    let granularity = granularity(&query, Granularity::Hour)?;
    let (from, to) = bounds(&query, time_zone, Duration::hours(DEFAULT_LLM_RANGE_HOURS))?;

    let overview_query = OverviewQuery {
        from: format_timestamp(&from),
        to: format_timestamp(&to),
        agent_id: query.text("agentId")?,
        granularity,
        time_zone,
    };
    let overview = state
        .store
        .overview(&caller.tenant_id, overview_query)
        .await?;
    Ok(Json(overview))
}

/// The body of `GET /api/analytics/agents`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AgentsBody {
    /// One entry per agent, most sessions first.
    pub agents: Vec<AgentStats>,
}

/// The body of `GET /api/analytics/tools`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ToolsBody {
    /// One entry per tool name, most calls first.
    pub tools: Vec<ToolStats>,
}

/// Returns per-agent session counts, events, errors, exact cost with its unpriced event
/// count, and average session duration, over each agent's own events in the range.
///
/// Parameters: `from`, `to` (inclusive, as for the cost report; defaults: `to` = now,
/// `from` = `to` minus `range`, or 24 hours before `to`), `range`, `tz` for date bounds
/// and `agentId`.
#[utoipa::path(
    get,
    path = "/api/analytics/agents",
    operation_id = "getAgentAnalytics",
    tag = "analytics",
    params(
        ("agentId" = Option<String>, Query, min_length = 1, description = "Only this agent's figures"),
        (
            "from" = Option<crate::openapi::params::TimeBound>,
            Query,
            description = "Inclusive start, RFC 3339 with any offset or a date `YYYY-MM-DD`. Default `to` minus `range`, or 24 hours before `to`",
        ),
        (
            "to" = Option<crate::openapi::params::TimeBound>,
            Query,
            description = "Inclusive end, RFC 3339 with any offset or a date `YYYY-MM-DD` (the whole day). Default now",
        ),
        (
            "range" = Option<crate::openapi::params::Range>,
            Query,
            description = "`1h`, `6h`, `24h`, `3d`, `7d` or `30d`, used when `from` is absent. Default 24 hours",
        ),
        (
            "tz" = Option<crate::openapi::params::TimeZone>,
            Query,
            description = "IANA time zone of buckets and date bounds. Default UTC",
        ),
    ),
    responses(
        (
            status = 200,
            description = "Figures per agent over its events in the range",
            body = AgentsBody,
        ),
        (
            status = 400,
            description = "Invalid time zone or bounds",
            body = crate::openapi::schemas::ErrorBody,
        ),
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
pub async fn agents(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: QueryParams,
) -> Result<Json<AgentsBody>, ApiError> {
    let (from, to) = recent_range(&query)?;
    let agents = state
        .store
        .agent_stats(&caller.tenant_id, from, to, query.text("agentId")?)
        .await?;
    Ok(Json(AgentsBody { agents }))
}

/// Returns per-tool call and error counts, error rate and average duration.
///
/// `callCount` counts `tool_call` events and `errorCount` counts `tool_error` events.
/// `errorRate` divides `errorCount` by the larger of the two, so a tool that only failed
/// reads 1, and `avgDurationMs` averages `durationMs` of `tool_response` and `tool_error`
/// events.
/// Parameters: `from`, `to`, `range` and `tz` as for the agents, and `agentId`.
#[utoipa::path(
    get,
    path = "/api/analytics/tools",
    operation_id = "getToolAnalytics",
    tag = "analytics",
    params(
        (
            "from" = Option<crate::openapi::params::TimeBound>,
            Query,
            description = "Inclusive start, RFC 3339 with any offset or a date `YYYY-MM-DD`. Default `to` minus `range`, or 24 hours before `to`",
        ),
        (
            "to" = Option<crate::openapi::params::TimeBound>,
            Query,
            description = "Inclusive end, RFC 3339 with any offset or a date `YYYY-MM-DD` (the whole day). Default now",
        ),
        (
            "range" = Option<crate::openapi::params::Range>,
            Query,
            description = "`1h`, `6h`, `24h`, `3d`, `7d` or `30d`, used when `from` is absent. Default 24 hours",
        ),
        (
            "tz" = Option<crate::openapi::params::TimeZone>,
            Query,
            description = "IANA time zone of buckets and date bounds. Default UTC",
        ),
        ("agentId" = Option<String>, Query, min_length = 1, description = "Only this agent's events"),
    ),
    responses(
        (
            status = 200,
            description = "Call and error counts and durations per tool",
            body = ToolsBody,
        ),
        (
            status = 400,
            description = "Invalid time zone or bounds",
            body = crate::openapi::schemas::ErrorBody,
        ),
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
pub async fn tools(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: QueryParams,
) -> Result<Json<ToolsBody>, ApiError> {
    let (from, to) = recent_range(&query)?;
    let tools = state
        .store
        .tool_stats(&caller.tenant_id, from, to, query.text("agentId")?)
        .await?;
    Ok(Json(ToolsBody { tools }))
}

/// Reads `from` and `to` in the zone of `tz` as stored-format text. `to` defaults to now,
/// and `from` to `range` (or 24 hours) before `to`.
fn recent_range(query: &QueryParams) -> Result<(String, String), ApiError> {
    let time_zone = query.time_zone()?;
    let (from, to) = bounds(query, time_zone, Duration::hours(DEFAULT_LLM_RANGE_HOURS))?;
    Ok((format_timestamp(&from), format_timestamp(&to)))
}

/// Reads the bounds of a report in the zone of `time_zone`. `to` defaults to now, and
/// `from` to `to` minus `range`, or minus `default` when `range` is absent too.
///
/// # Errors
///
/// Returns [`ApiError`] for a bound or `range` that does not parse, or bounds out of order.
fn bounds(
    query: &QueryParams,
    time_zone: Tz,
    default: Duration,
) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    let length = range(query)?.unwrap_or(default);
    let to = query
        .instant("to", true, time_zone)?
        .unwrap_or_else(Utc::now);
    let from = query
        .instant("from", false, time_zone)?
        .unwrap_or(to - length);
    check_order(from, to)?;
    Ok((from, to))
}

/// Reads `range`, `None` when it is absent.
fn range(query: &QueryParams) -> Result<Option<Duration>, ApiError> {
    let Some(text) = query.text("range")? else {
        return Ok(None);
    };
    RANGES
        .iter()
        .find(|(name, _)| *name == text)
        .map(|(_, hours)| Some(Duration::hours(*hours)))
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "Invalid range {text:?}. Use: 1h, 6h, 24h, 3d, 7d, 30d"
            ))
        })
}

/// Returns exact cost totals of `cost_tracked` and `llm_response` events, broken down by
/// agent, model, session and time bucket.
///
/// Parameters:
/// - `from`, `to`: inclusive bounds, RFC 3339 with any offset or a date `YYYY-MM-DD`
///   (a `to` date includes that whole day). Defaults: `to` = now, `from` = `to` minus
///   `range`, or 30 days before `to`.
/// - `range`: as for the overview, used only when `from` is absent. Upstream's cost
///   report has no `range`.
/// - `granularity`: `hour`, `day` (default) or `week` (ISO weeks from Monday, labelled
///   `IYYY-Www`); anything else is a 400.
/// - `tz`: IANA zone whose clock defines hours, days, weeks and date bounds; default UTC.
///   A bucket covers the time in which that clock shows one local hour, date or week, so
///   `/api/analytics`, `/costs` and `/llm` share boundaries across clock changes.
/// - `agentId`: only this agent's events.
#[utoipa::path(
    get,
    path = "/api/analytics/costs",
    operation_id = "getCostAnalytics",
    tag = "analytics",
    params(
        (
            "from" = Option<crate::openapi::params::TimeBound>,
            Query,
            description = "Inclusive start, RFC 3339 with any offset or a date `YYYY-MM-DD`. Default `to` minus `range`, or 30 days before `to`",
        ),
        (
            "to" = Option<crate::openapi::params::TimeBound>,
            Query,
            description = "Inclusive end, RFC 3339 with any offset or a date `YYYY-MM-DD` (the whole day). Default now",
        ),
        (
            "range" = Option<crate::openapi::params::Range>,
            Query,
            description = "`1h`, `6h`, `24h`, `3d`, `7d` or `30d`, used when `from` is absent. Default 30 days",
        ),
        (
            "granularity" = Option<crate::openapi::params::Granularity>,
            Query,
            description = "`hour`, `day` or `week`. Default `day`",
        ),
        (
            "tz" = Option<crate::openapi::params::TimeZone>,
            Query,
            description = "IANA time zone of buckets and date bounds. Default UTC",
        ),
        ("agentId" = Option<String>, Query, min_length = 1, description = "Only this agent's events"),
    ),
    responses(
        (
            status = 200,
            description = "Exact cost totals by agent, model, session and time bucket",
            body = CostReport,
        ),
        (
            status = 400,
            description = "Invalid granularity, time zone or bounds",
            body = crate::openapi::schemas::ErrorBody,
        ),
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
pub async fn costs(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: QueryParams,
) -> Result<Json<CostReport>, ApiError> {
    let time_zone = query.time_zone()?;
    let granularity = granularity(&query, Granularity::Day)?;
    let (from, to) = bounds(&query, time_zone, Duration::days(DEFAULT_RANGE_DAYS))?;

    let cost_query = CostQuery {
        from: format_timestamp(&from),
        to: format_timestamp(&to),
        agent_id: query.text("agentId")?,
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
///   = `to` minus `range`, or 24 hours before `to`.
/// - `range`: as for the overview, used only when `from` is absent.
/// - `granularity`: `hour` (default), `day` or `week`; anything else is a 400.
/// - `tz`: IANA zone whose clock defines the buckets and date bounds; default UTC.
/// - `agentId`, `model`, `provider`: exact matches.
#[utoipa::path(
    get,
    path = "/api/analytics/llm",
    operation_id = "getLlmAnalytics",
    tag = "analytics",
    params(
        (
            "from" = Option<crate::openapi::params::TimeBound>,
            Query,
            description = "Inclusive start, RFC 3339 with any offset or a date `YYYY-MM-DD`. Default `to` minus `range`, or 24 hours before `to`",
        ),
        (
            "to" = Option<crate::openapi::params::TimeBound>,
            Query,
            description = "Inclusive end, RFC 3339 with any offset or a date `YYYY-MM-DD` (the whole day). Default now",
        ),
        (
            "range" = Option<crate::openapi::params::Range>,
            Query,
            description = "`1h`, `6h`, `24h`, `3d`, `7d` or `30d`, used when `from` is absent. Default 24 hours",
        ),
        (
            "granularity" = Option<crate::openapi::params::Granularity>,
            Query,
            description = "`hour`, `day` or `week`. Default `hour`",
        ),
        (
            "tz" = Option<crate::openapi::params::TimeZone>,
            Query,
            description = "IANA time zone of buckets and date bounds. Default UTC",
        ),
        ("agentId" = Option<String>, Query, min_length = 1, description = "Only this agent's events"),
        ("model" = Option<String>, Query, min_length = 1, description = "Only this model"),
        ("provider" = Option<String>, Query, min_length = 1, description = "Only this provider"),
    ),
    responses(
        (
            status = 200,
            description = "Calls, costs, tokens and latency of LLM responses",
            body = LlmReport,
        ),
        (
            status = 400,
            description = "Invalid granularity, time zone or bounds",
            body = crate::openapi::schemas::ErrorBody,
        ),
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
pub async fn llm(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: QueryParams,
) -> Result<Json<LlmReport>, ApiError> {
    let time_zone = query.time_zone()?;
    let granularity = granularity(&query, Granularity::Hour)?;
    let (from, to) = bounds(&query, time_zone, Duration::hours(DEFAULT_LLM_RANGE_HOURS))?;

    let llm_query = LlmQuery {
        from: format_timestamp(&from),
        to: format_timestamp(&to),
        agent_id: query.text("agentId")?,
        model: query.text("model")?,
        provider: query.text("provider")?,
        granularity,
        time_zone,
    };
    let report = state.store.llm_report(&caller.tenant_id, llm_query).await?;
    Ok(Json(report))
}

/// Reads `granularity`, or returns `default` when it is absent.
fn granularity(query: &QueryParams, default: Granularity) -> Result<Granularity, ApiError> {
    match query.text("granularity")?.as_deref() {
        None => Ok(default),
        Some("hour") => Ok(Granularity::Hour),
        Some("day") => Ok(Granularity::Day),
        Some("week") => Ok(Granularity::Week),
        Some(_) => Err(ApiError::BadRequest(
            "Invalid granularity. Use: hour, day, week".to_owned(),
        )),
    }
}
