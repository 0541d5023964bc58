//! `GET /api/sessions`, `GET /api/sessions/{id}` and `GET /api/sessions/{id}/timeline`.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{Duration, Utc};
use serde_json::json;

use super::PageBody;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{PathId, QueryParams};
use crate::store::sessions::{Session, SessionFilter};
use crate::store::timeline::Timeline;
use crate::AppState;

/// Minutes without events after which an active session matches `status=idle`.
const IDLE_AFTER_MINUTES: i64 = 30;

/// Lists sessions, newest `startedAt` first.
///
/// Filters:
/// - `agentId`;
/// - `status`, a comma list of `active`, `completed`, `error` and `idle` (active with no
///   event for 30 minutes), though reported statuses are never `idle`;
/// - `from` and `to` on `startedAt`, with `from` at or before `to`, each RFC 3339 or a
///   date that `tz` (default UTC) places in time;
/// - `tags`, a comma list matching sessions that have any of them.
///
/// Paging: `limit` (1 to 500, default 50) and `offset` (default 0); other values are a
/// 400. With `countOnly=true` the body is `{"count": n}`, the number of matching sessions;
/// `countOnly` takes `true` or `false` and any other value is a 400.
#[utoipa::path(
    get,
    path = "/api/sessions",
    operation_id = "listSessions",
    tag = "sessions",
    params(
        ("agentId" = Option<String>, Query, min_length = 1, description = "Only this agent's sessions"),
        (
            "status" = Option<crate::openapi::params::SessionStatusList>,
            Query,
            description = "Comma list of `active`, `completed`, `error` and `idle` (active with no event for 30 minutes)",
        ),
        (
            "from" = Option<crate::openapi::params::TimeBound>,
            Query,
            description = "Inclusive lower bound of `startedAt`, RFC 3339 with any offset or a date `YYYY-MM-DD`",
        ),
        (
            "to" = Option<crate::openapi::params::TimeBound>,
            Query,
            description = "Inclusive upper bound of `startedAt`, RFC 3339 with any offset or a date `YYYY-MM-DD` (the whole day)",
        ),
        (
            "tz" = Option<crate::openapi::params::TimeZone>,
            Query,
            description = "IANA time zone of date bounds. Default UTC",
        ),
        (
            "tags" = Option<String>,
            Query,
            pattern = r"^[^,]*[^ ,][^,]*(,[^,]*[^ ,][^,]*)*$",
            description = "Comma list; sessions with any of these tags match",
        ),
        (
            "countOnly" = Option<bool>,
            Query,
            description = "`true` returns only the number of matching sessions",
        ),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size, 1 to 500. Default 50"),
        ("offset" = Option<i64>, Query, minimum = 0, description = "Items to skip. Default 0"),
    ),
    responses(
        (
            status = 200,
            description = "A page of sessions, or `{count}` with `countOnly=true`",
            body = crate::openapi::schemas::SessionListing,
        ),
        (
            status = 400,
            description = "Invalid status, range, time zone, countOnly or paging value",
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
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let mut filter = SessionFilter {
        agent_id: query.text("agentId")?,
        tags: query.list("tags")?,
        ..SessionFilter::default()
    };
    for status in query.list("status")? {
        match status.as_str() {
            "active" | "completed" | "error" => filter.statuses.push(status),
            "idle" => {
                let cutoff = Utc::now() - Duration::minutes(IDLE_AFTER_MINUTES);
                filter.idle_before = Some(agentlens_core::event::format_timestamp(&cutoff));
            }
            other => {
                return Err(ApiError::BadRequest(format!(
                    "Invalid status {other:?}: use active, idle, completed or error"
                )))
            }
        }
    }
    let format = |at: Option<chrono::DateTime<Utc>>| {
        at.map(|at| agentlens_core::event::format_timestamp(&at))
    };
    let (from, to) = query.time_range(query.time_zone()?)?;
    filter.from = format(from);
    filter.to = format(to);
    let paging = query.paging()?;

    if query.boolean("countOnly")? == Some(true) {
        let count = state
            .store
            .count_sessions(&caller.tenant_id, filter)
            .await?;
        return Ok(Json(json!({ "count": count })).into_response());
    }
    let page = state
        .store
        .list_sessions(&caller.tenant_id, filter, paging)
        .await?;
    Ok(Json(PageBody::new("sessions", page)).into_response())
}

/// Returns one session, or 404 `Session not found`.
#[utoipa::path(
    get,
    path = "/api/sessions/{id}",
    operation_id = "getSession",
    tag = "sessions",
    params(
        ("id" = String, Path, description = "Session id"),
    ),
    responses(
        (status = 200, description = "The session", body = Session),
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
        (
            status = 404,
            description = "Session not found",
            body = crate::openapi::schemas::ErrorBody,
        ),
    ),
)]
pub async fn get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathId(id): PathId,
) -> Result<Json<Session>, ApiError> {
    let session = state.store.session(&caller.tenant_id, &id).await?;
    session
        .map(Json)
        .ok_or(ApiError::NotFound("Session not found"))
}

/// Returns every event of a session in chain order (ingest order) with `chainValid` and
/// `chained`, or 404 `Session not found`.
#[utoipa::path(
    get,
    path = "/api/sessions/{id}/timeline",
    operation_id = "getSessionTimeline",
    tag = "sessions",
    params(
        ("id" = String, Path, description = "Session id"),
    ),
    responses(
        (
            status = 200,
            description = "Every event of the session in chain order, with the hash chain check",
            body = Timeline,
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
        (
            status = 404,
            description = "Session not found",
            body = crate::openapi::schemas::ErrorBody,
        ),
    ),
)]
pub async fn timeline(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathId(id): PathId,
) -> Result<Json<Timeline>, ApiError> {
    let mut timeline = state.store.session_timeline(&caller.tenant_id, &id).await?;
    if let Some(timeline) = timeline.as_mut() {
        super::events::add_unpriced_reasons(&mut timeline.events, &state.prices);
    }
    timeline
        .map(Json)
        .ok_or(ApiError::NotFound("Session not found"))
}
