//! `GET /api/analytics/costs`.

use agentlens_core::event::format_timestamp;
use axum::extract::State;
use axum::{Extension, Json};
use chrono::{Duration, Utc};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::QueryParams;
use crate::store::analytics::{CostQuery, CostReport, Granularity};
use crate::AppState;

/// Days covered when `from` is absent.
const DEFAULT_RANGE_DAYS: i64 = 30;

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
    let granularity = match query.text("granularity").as_deref() {
        None | Some("day") => Granularity::Day,
        Some("hour") => Granularity::Hour,
        Some("week") => Granularity::Week,
        Some(_) => {
            return Err(ApiError::BadRequest(
                "Invalid granularity. Use: hour, day, week".to_owned(),
            ))
        }
    };
    let to = query
        .instant("to", true, time_zone)?
        .unwrap_or_else(Utc::now);
    let from = query
        .instant("from", false, time_zone)?
        .unwrap_or(to - Duration::days(DEFAULT_RANGE_DAYS));

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
