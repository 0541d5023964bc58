//! `POST /api/events`, `GET /api/events` and `GET /api/events/{id}`.

use agentlens_core::validate::FieldError;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::Utc;
use chrono_tz::Tz;

use super::PageBody;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{JsonBody, QueryParams};
use crate::ingest::prepare_batch;
use crate::metrics::{record_ingested, record_rejected, RejectReason};
use crate::store::events::{EventFilter, IngestOutcome, StoredEvent};
use crate::AppState;

/// Stores a batch of 1 to 1000 events, all or nothing, and returns their ids and hashes in
/// request order.
///
/// A 201 means the transaction committed. Events whose client `id` is already stored are
/// reported with `"duplicate": true` and are not stored again.
#[utoipa::path(
    post,
    path = "/api/events",
    tag = "events",
    request_body(
        content = Object,
        description = "One event, or `{\"events\": [...]}` with 1 to 1000 events",
        example = json!({"events": [{
            "sessionId": "s1",
            "agentId": "my-agent",
            "eventType": "cost_tracked",
            "payload": {
                "provider": "openai",
                "model": "gpt-4o-2024-08-06",
                "inputTokens": 2006,
                "outputTokens": 300,
                "cacheReadTokens": 1920
            }
        }]}),
    ),
    responses(
        (
            status = 201,
            description = "The batch committed, with ids and hashes in request order",
            body = IngestOutcome,
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
            status = 403,
            description = "The key's role lacks write access",
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
pub async fn ingest(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Result<JsonBody, ApiError>,
) -> Result<(StatusCode, Json<IngestOutcome>), ApiError> {
    let JsonBody(body) = body.inspect_err(|error| record_rejected(RejectReason::of(error), 1))?;
    let sent = body["events"].as_array().map_or(1, Vec::len);
    let events = prepare_batch(&body, Utc::now(), &state.prices)
        .inspect_err(|error| record_rejected(RejectReason::of(error), sent))?;
    let count = events.len();
    let outcome = state
        .store
        .ingest(&caller.tenant_id, events)
        .await
        .inspect_err(|_| record_rejected(RejectReason::StoreError, count))?;
    record_ingested(outcome.ingested);
    state.alerts.ingested(&caller.tenant_id);
    tracing::debug!(
        events.received = count,
        events.ingested = outcome.ingested,
        events.duplicates = outcome.duplicates,
        "batch stored"
    );
    Ok((StatusCode::CREATED, Json(outcome)))
}

/// Characters of `search` that are used. Later characters are ignored.
const MAX_SEARCH_CHARS: usize = 500;

/// Lists events, newest first unless `order=asc`.
///
/// Filters: `sessionId`, `agentId`, `eventType` and `severity` (comma lists), `from` and
/// `to` (inclusive; RFC 3339 with any offset, or a date), and `search`, text that the
/// stored payload JSON must contain (first 500 characters used; `%`, `_` and `\` match
/// literally; ASCII letters match in any case). A `from` later than `to` is a 400.
/// Paging: `limit` (1 to 500, default 50) and `offset` (default 0). Other values are a 400.
#[utoipa::path(
    get,
    path = "/api/events",
    tag = "events",
    params(
        ("sessionId" = Option<String>, Query, description = "Only this session's events"),
        ("agentId" = Option<String>, Query, description = "Only this agent's events"),
        ("eventType" = Option<String>, Query, description = "Comma list of event types"),
        ("severity" = Option<String>, Query, description = "Comma list of severities"),
        (
            "from" = Option<String>,
            Query,
            description = "Inclusive start, RFC 3339 with any offset or a date `YYYY-MM-DD`",
        ),
        (
            "to" = Option<String>,
            Query,
            description = "Inclusive end, RFC 3339 with any offset or a date `YYYY-MM-DD` (the whole day). Default now",
        ),
        (
            "search" = Option<String>,
            Query,
            description = "Text that the payload JSON contains; first 500 characters used, ASCII letters in any case",
        ),
        (
            "order" = Option<crate::openapi::params::Order>,
            Query,
            description = "`asc` for oldest first. Default newest first",
        ),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size, 1 to 500. Default 50"),
        ("offset" = Option<u32>, Query, minimum = 0, description = "Items to skip. Default 0"),
    ),
    responses(
        (status = 200, description = "A page of events", body = crate::openapi::schemas::EventPage),
        (
            status = 400,
            description = "Invalid filter or paging value",
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
) -> Result<Json<PageBody<StoredEvent>>, ApiError> {
    let format = |instant: Option<chrono::DateTime<Utc>>| {
        instant.map(|at| agentlens_core::event::format_timestamp(&at))
    };
    let (from, to) = query.time_range(Tz::UTC)?;
    let paging = query.paging()?;
    let ascending = match query.text("order").as_deref() {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(other) => {
            return Err(ApiError::Validation(vec![FieldError {
                path: "order".to_owned(),
                message: format!("invalid order {other:?}: expected asc or desc"),
            }]))
        }
    };
    let filter = EventFilter {
        session_id: query.text("sessionId"),
        agent_id: query.text("agentId"),
        event_types: query.list("eventType"),
        severities: query.list("severity"),
        from: format(from),
        to: format(to),
        search: query
            .text("search")
            .map(|term| term.chars().take(MAX_SEARCH_CHARS).collect()),
        ascending,
    };
    let page = state
        .store
        .list_events(&caller.tenant_id, filter, paging)
        .await?;
    Ok(Json(PageBody::new("events", page)))
}

/// Returns one event, or 404 `Event not found`.
#[utoipa::path(
    get,
    path = "/api/events/{id}",
    tag = "events",
    params(
        ("id" = String, Path, description = "Event id"),
    ),
    responses(
        (status = 200, description = "The event", body = StoredEvent),
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
        (status = 404, description = "Event not found", body = crate::openapi::schemas::ErrorBody),
    ),
)]
pub async fn get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<StoredEvent>, ApiError> {
    let event = state.store.event(&caller.tenant_id, &id).await?;
    event.map(Json).ok_or(ApiError::NotFound("Event not found"))
}
