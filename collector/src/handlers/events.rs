//! `POST /api/events`, `GET /api/events` and `GET /api/events/{id}`.

use agentlens_core::event::{EventType, Severity};
use agentlens_core::pricing::{PriceOutcome, PriceTable};
use agentlens_core::validate::{validate_event, FieldError};
use axum::extract::State;
use axum::http::header::{self, HeaderName};
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::Utc;
use serde_json::{json, Value};

use super::PageBody;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{BodyBytes, PathId, QueryParams};
use crate::ingest::{dropped_price_inputs, prepare_validated, validate_body};
use crate::metrics::{record_ingested, record_rejected, RejectReason};
use crate::store::events::{EventFilter, IngestOutcome, PricingSource, StoredEvent};
use crate::AppState;

/// Stores a batch of 1 to 1000 events, all or nothing, and returns their ids and hashes in
/// request order.
///
/// A 201 means the transaction committed. Events whose client `id` is already stored are
/// reported with `"duplicate": true` and are not stored again.
#[utoipa::path(
    post,
    path = "/api/events",
    operation_id = "ingestEvents",
    tag = "events",
    request_body(
        content = crate::openapi::schemas::IngestRequest,
        description = "`{\"events\": [...]}` with 1 to 1000 events",
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
            status = 409,
            description = "An event resends a stored client id with other content; nothing \
                of the batch is stored",
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
    body: Result<BodyBytes, ApiError>,
) -> Result<(StatusCode, [(HeaderName, &'static str); 1], String), ApiError> {
    let rejected = |count| move |error: &ApiError| record_rejected(RejectReason::of(error), count);
    let BodyBytes(body) = body.inspect_err(rejected(1))?;
    let validated = validate_body(&body).inspect_err(rejected(1))?;
    let sent = validated.sent;
    let events = prepare_validated(validated.events, Utc::now(), &state.prices)
        .inspect_err(rejected(sent))?;
    let count = events.len();
    let outcome = state
        .store
        .ingest(&caller.tenant_id, events)
        .await
        .map_err(ApiError::from)
        .inspect_err(rejected(count))?;
    record_ingested(outcome.ingested);
    state.alerts.ingested(&caller.tenant_id);
    tracing::debug!(
        events.received = count,
        events.ingested = outcome.ingested,
        events.duplicates = outcome.duplicates,
        "batch stored"
    );
    let json = [(header::CONTENT_TYPE, "application/json")];
    Ok((StatusCode::CREATED, json, outcome.to_json()))
}

/// Characters of `search` that are used. Later characters are ignored.
const MAX_SEARCH_CHARS: usize = 500;

/// Lists events, newest first unless `order=asc`.
///
/// Filters: `sessionId`, `agentId`, `eventType` and `severity` (comma lists of known
/// types and severities; any other value is a 400), `from` and
/// `to` (inclusive; RFC 3339 with any offset, or a date), and `search`, text that the
/// stored payload JSON must contain (first 500 characters used; `%`, `_` and `\` match
/// literally; ASCII letters match in any case). A `from` later than `to` is a 400, and so
/// is any parameter with an empty value, such as `sessionId=`. `excludeMetrics=true` leaves
/// out metric events (`metadata.source` is `otlp_metric`); a value other than `true` or
/// `false` is a 400.
/// Paging: `limit` (1 to 500, default 50) and `offset` (default 0). Other values are a 400.
/// Cost events carry `pricing`, as described on [`get`].
#[utoipa::path(
    get,
    path = "/api/events",
    operation_id = "listEvents",
    tag = "events",
    params(
        ("sessionId" = Option<String>, Query, min_length = 1, description = "Only this session's events"),
        ("agentId" = Option<String>, Query, min_length = 1, description = "Only this agent's events"),
        (
            "eventType" = Option<crate::openapi::params::EventTypeList>,
            Query,
            description = "Comma list of event types",
        ),
        (
            "severity" = Option<crate::openapi::params::SeverityList>,
            Query,
            description = "Comma list of severities",
        ),
        (
            "from" = Option<crate::openapi::params::TimeBound>,
            Query,
            description = "Inclusive start, RFC 3339 with any offset or a date `YYYY-MM-DD`",
        ),
        (
            "to" = Option<crate::openapi::params::TimeBound>,
            Query,
            description = "Inclusive end, RFC 3339 with any offset or a date `YYYY-MM-DD` (the whole day). Default now",
        ),
        (
            "tz" = Option<crate::openapi::params::TimeZone>,
            Query,
            description = "IANA time zone of date bounds. Default UTC",
        ),
        (
            "search" = Option<String>,
            Query,
            min_length = 1,
            description = "Text that the payload JSON contains; first 500 characters used, ASCII letters in any case",
        ),
        (
            "excludeMetrics" = Option<bool>,
            Query,
            description = "`true` leaves out metric events that upstream's OTLP receiver stores (`metadata.source` is `otlp_metric`). Default false",
        ),
        (
            "order" = Option<crate::openapi::params::Order>,
            Query,
            description = "`asc` for oldest first. Default newest first",
        ),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size, 1 to 500. Default 50"),
        ("offset" = Option<i64>, Query, minimum = 0, description = "Items to skip. Default 0"),
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
    let (from, to) = query.time_range(query.time_zone()?)?;
    let paging = query.paging()?;
    let ascending = match query.text("order")?.as_deref() {
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
        session_id: query.text("sessionId")?,
        agent_id: query.text("agentId")?,
        event_types: query.list_of("eventType", &event_type_names())?,
        severities: query.list_of("severity", &severity_names())?,
        from: format(from),
        to: format(to),
        search: query
            .text("search")?
            .map(|term| term.chars().take(MAX_SEARCH_CHARS).collect()),
        exclude_metrics: query.boolean("excludeMetrics")?.unwrap_or(false),
        ascending,
    };
    let mut page = state
        .store
        .list_events(&caller.tenant_id, filter, paging)
        .await?;
    add_unpriced_reasons(&mut page.items, &state.prices);
    Ok(Json(PageBody::new("events", page)))
}

fn event_type_names() -> Vec<&'static str> {
    EventType::ALL.iter().map(EventType::as_str).collect()
}

fn severity_names() -> Vec<&'static str> {
    Severity::ALL.iter().map(Severity::as_str).collect()
}

/// Returns one event, or 404 `Event not found`.
///
/// A `cost_tracked` or `llm_response` event also carries `pricing` with the stored cost as
/// an exact decimal string, null when unpriced. Its `source` states whether the client
/// reported the cost, the collector derived it, or no price was found. A derived cost names
/// the price table version and entry, and an unpriced event the reason. The hashed
/// `payload` stays as the client sent it.
#[utoipa::path(
    get,
    path = "/api/events/{id}",
    operation_id = "getEvent",
    tag = "events",
    params(
        ("id" = String, Path, description = "Event id given by the collector, a ULID matched in any case, or the id the client sent with the event, matched exactly. An exact match wins over a collector id that differs only in case"),
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
    PathId(id): PathId,
) -> Result<Json<StoredEvent>, ApiError> {
    let mut event = state.store.event(&caller.tenant_id, &id).await?;
    add_unpriced_reasons(event.as_mut_slice(), &state.prices);
    event.map(Json).ok_or(ApiError::NotFound("Event not found"))
}

/// Fills `pricing.unpricedReason` of the unpriced events that `prices` stored.
///
/// The store keeps no reason, so it is computed again: the stored payload is validated as
/// at ingest, which yields the same usage, service tier and batch flag, and quoted at the
/// event's time. That reproduces the ingest result only with the same price table, so an
/// event stored under another `pricingVersion` gets no reason. A truncated stub that left
/// out a price input gets a reason that names it. Other truncated `llm_response` stubs get
/// none, because they no longer pass validation.
pub(crate) fn add_unpriced_reasons(events: &mut [StoredEvent], prices: &PriceTable) {
    for event in events {
        let stored_by_this_table = event.pricing.as_ref().is_some_and(|pricing| {
            pricing.source == PricingSource::Unpriced
                && pricing.pricing_version.as_deref() == Some(prices.version())
        });
        if !stored_by_this_table {
            continue;
        }
        let reason = unpriced_reason(event, prices);
        if let Some(pricing) = event.pricing.as_mut() {
            pricing.unpriced_reason = reason;
        }
    }
}

/// Returns the reason `prices` gives for not pricing `event`, or the price inputs its
/// truncated payload left out. Returns `None` when the stored payload no longer validates
/// or now has a price.
fn unpriced_reason(event: &StoredEvent, prices: &PriceTable) -> Option<String> {
    let payload: Value = serde_json::from_str(event.payload.get()).ok()?;
    if let Some(reason) = dropped_price_inputs(&payload, prices) {
        return Some(reason);
    }
    let input = json!({
        "sessionId": event.session_id,
        "agentId": event.agent_id,
        "eventType": event.event_type,
        "timestamp": event.timestamp,
        "payload": payload,
    });
    let valid = validate_event(&input).ok()?;
    let at = valid.timestamp?;
    let facts = valid.cost?;

    let provider = Some(facts.provider.as_str());
    match prices.quote_with(provider, &facts.model, &facts.usage, at, &facts.context) {
        PriceOutcome::Unpriced { reason } => Some(reason),
        PriceOutcome::Priced(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::value::RawValue;

    use super::*;
    use crate::store::events::EventPricing;

    fn unpriced_event(pricing_version: &str) -> StoredEvent {
        let payload =
            r#"{"provider":"openai","model":"no-such-model","inputTokens":1,"outputTokens":1}"#;
        StoredEvent {
            id: "01J0000000000000000000000".to_owned(),
            timestamp: "2026-12-01T00:00:00.000000Z".to_owned(),
            session_id: "s".to_owned(),
            agent_id: "a".to_owned(),
            event_type: "cost_tracked".to_owned(),
            severity: "info".to_owned(),
            payload: RawValue::from_string(payload.to_owned()).unwrap(),
            metadata: RawValue::from_string("{}".to_owned()).unwrap(),
            prev_hash: None,
            hash: String::new(),
            tenant_id: "default".to_owned(),
            client_id: None,
            pricing: Some(EventPricing {
                cost_usd: None,
                source: PricingSource::Unpriced,
                pricing_version: Some(pricing_version.to_owned()),
                entry: None,
                unpriced_reason: None,
                superseded_by: None,
                cost_from: None,
            }),
        }
    }

    fn reason_of(event: &StoredEvent) -> Option<&str> {
        event.pricing.as_ref()?.unpriced_reason.as_deref()
    }

    #[test]
    fn unpriced_reason_needs_the_storing_table() {
        let prices = PriceTable::embedded();
        let mut events = [
            unpriced_event(prices.version()),
            unpriced_event("pv_000000000000"),
        ];

        add_unpriced_reasons(&mut events, prices);

        let reason = reason_of(&events[0]).unwrap_or_default();
        assert!(reason.contains("no-such-model"), "{reason:?}");
        assert_eq!(reason_of(&events[1]), None);
    }
}
