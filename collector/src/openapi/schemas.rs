//! Schemas of bodies that the handlers build as `serde_json::Value` or parse by hand, so
//! that no Rust type derives them. Each type here documents one body and is never built.

use serde::Serialize;
use utoipa::openapi::schema::{AdditionalProperties, Object, ObjectBuilder, Type};
use utoipa::ToSchema;

use crate::alerts::{Condition, RuleScope};
use crate::store::events::StoredEvent;
use crate::store::keys::ApiKeyRecord;
use crate::store::sessions::Session;

/// Returns the schema of an exact decimal, which the API writes as a JSON number with every
/// digit of the stored value, such as `0.000123`.
pub fn exact_decimal() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Number)
        .description(Some(
            "Exact decimal written with all its digits; parse it as a decimal, not a float",
        ))
        .build()
}

/// Returns the schema of an exact decimal that may be null.
pub fn nullable_exact_decimal() -> Object {
    ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            Type::Number,
            Type::Null,
        ]))
        .description(Some(
            "Exact decimal written with all its digits, or null; parse it as a decimal, not a \
             float",
        ))
        .build()
}

/// An amount that a request may send as a JSON number or as a decimal string, such as an
/// alert threshold.
#[derive(Debug)]
pub struct DecimalInput;

impl utoipa::PartialSchema for DecimalInput {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
                Type::Number,
                Type::String,
            ]))
            .description(Some(
                "A JSON number, or a decimal string such as \"0.10\" that is read exactly",
            ))
            .into()
    }
}

impl ToSchema for DecimalInput {}

/// Returns the schema of a map from a name to an exact decimal.
pub fn exact_decimal_map() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::RefOr(exact_decimal().into())))
        .build()
}

/// The JSON body of every error response.
///
/// A 403 adds the `required` and `current` roles (upstream's names), the key scope the
/// request needs as `requiredScope` and the key's `scopes`, a 405 the `allowed` methods, a
/// 413 `maxSize` (`1MiB`) and `maxBytes`, and a 429 `retryAfter` in seconds.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Summary of the failure, such as `Validation failed`.
    pub error: String,
    /// The HTTP status code, repeated.
    pub status: u16,
    /// Advice on the next step, present on a 401, 403, 405, 413 and 429, and on a 500, 503
    /// or 507 caused by the database file or its disk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Documentation path, `/docs/authentication`, present on the 401 for a missing
    /// credential only. It is the path upstream AgentLens sends, and this collector serves no
    /// page there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub docs: Option<String>,
    /// One entry per invalid field, present on validation failures, or one entry with an
    /// empty path that gives where a body that is not JSON fails to parse.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<FieldErrorBody>>,
}

/// One invalid field of a request body.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldErrorBody {
    /// Dotted path of the field, such as `events.0.timestamp`.
    pub path: String,
    /// Description of the violation and of the expected value.
    pub message: String,
}

/// The body of `GET /api/health`; `status` is `ok`, or `degraded` with a 503.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthBody {
    /// `ok` or `degraded`.
    pub status: String,
    /// Collector version.
    pub version: String,
    /// Result of a database query.
    pub db: HealthDatabase,
}

/// The database part of the health body.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthDatabase {
    /// Whether the query succeeded and the last write did not fail on the database file or
    /// its disk.
    pub ok: bool,
    /// Query latency in milliseconds, present when the query succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// The failure of the last write, such as `database or disk is full`, present until a
    /// write succeeds again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_error: Option<String>,
}

/// A page of events.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventPage {
    /// The events of this page.
    pub events: Vec<StoredEvent>,
    /// Number of events that match the filters, over all pages.
    pub total: i64,
    /// Whether a later page exists.
    pub has_more: bool,
}

/// A page of sessions.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionPage {
    /// The sessions of this page.
    pub sessions: Vec<Session>,
    /// Number of sessions that match the filters, over all pages.
    pub total: i64,
    /// Whether a later page exists.
    pub has_more: bool,
}

/// The body of `GET /api/sessions?countOnly=true`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionCount {
    /// Number of sessions that match the filters.
    pub count: i64,
}

/// A page of alert history entries.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertHistoryPage {
    /// The entries of this page.
    pub entries: Vec<crate::alerts::AlertHistoryEntry>,
    /// Number of matching entries, over all pages.
    pub total: i64,
    /// Whether a later page exists.
    pub has_more: bool,
}

/// The body of a deleted alert rule.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleDeleted {
    /// Id of the deleted rule.
    pub id: String,
    /// Always true.
    pub deleted: bool,
}

/// The body of `GET /api/keys`.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    /// The tenant's keys, without their secrets.
    pub keys: Vec<ApiKeyRecord>,
}

/// The body of a revoked key.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyRevoked {
    /// Id of the revoked key.
    pub id: String,
    /// Always true.
    pub revoked: bool,
}

/// The request body of `POST /api/keys`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyRequest {
    /// Key name of 1 to 255 characters, not all blank, without control characters, line
    /// separators or bidirectional overrides; default `Unnamed Key`.
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069][^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069]*$",
        nullable = false
    )]
    pub name: Option<String>,
    /// 1 to 50 of `*`, `manage`, `write`, `audit` and `read`, a repeated scope stored
    /// once; default `["*"]`.
    #[schema(value_type = Option<Vec<KeyScope>>, min_items = 1, max_items = 50, nullable = false)]
    pub scopes: Option<Vec<String>>,
}

/// One scope of an API key.
#[derive(Debug)]
pub struct KeyScope;

impl utoipa::PartialSchema for KeyScope {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(crate::handlers::keys::VALID_SCOPES))
            .description(Some(
                "`*` or `manage` for admin, `write` for member, `audit` for auditor, `read` \
                 for viewer",
            ))
            .into()
    }
}

impl ToSchema for KeyScope {}

/// The request body of `POST /api/alerts/rules`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewRuleRequest {
    /// Rule name of 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// Whether the evaluator checks the rule; default true.
    #[schema(nullable = false)]
    pub enabled: Option<bool>,
    /// Condition the rule evaluates.
    pub condition: Condition,
    /// Value that the watched figure must exceed, at least 0: a JSON number or a decimal
    /// string such as `"0.10"`. A number is read as an exact decimal from its shortest
    /// decimal form. So a number below 1e-28 (other than 0), or one with more than 15
    /// significant digits, is rejected, while a string keeps every digit. An
    /// `error_rate_exceeds` threshold is a ratio from 0 to 1 (0.05 for 5%), and a larger
    /// one is rejected.
    #[schema(value_type = DecimalInput)]
    pub threshold: f64,
    /// Length of the trailing window, in minutes, from 1 to 43200 (30 days). Written
    /// without a fraction: `130.0` is rejected.
    #[schema(minimum = 1, maximum = 43200)]
    pub window_minutes: i64,
    /// Agent and tags whose events count; default all events.
    #[schema(nullable = false)]
    pub scope: Option<RuleScope>,
    /// Webhook URLs, http or https only; default none. Unless the collector runs with
    /// `--allow-private-webhooks`, a URL whose host resolves to a private, loopback or
    /// link-local address is rejected.
    #[schema(value_type = Option<Vec<WebhookUrl>>, nullable = false)]
    pub notify_channels: Option<Vec<String>>,
}

/// A webhook URL with an http or https scheme and a host.
#[derive(Debug)]
pub struct WebhookUrl;

impl utoipa::PartialSchema for WebhookUrl {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(
                r"^https?://[a-z0-9-]+(\.[a-z0-9-]+)*(/[A-Za-z0-9._~-]*)*$",
            ))
            .description(Some(
                "http or https URL, such as https://hooks.example.com/agentlens",
            ))
            .into()
    }
}

impl ToSchema for WebhookUrl {}

/// The request body of `PUT /api/alerts/rules/{id}`: the fields to change, with the
/// bounds of creation.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RulePatchRequest {
    /// Rule name of 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200, nullable = false)]
    pub name: Option<String>,
    /// Whether the evaluator checks the rule.
    #[schema(nullable = false)]
    pub enabled: Option<bool>,
    /// Condition the rule evaluates.
    #[schema(nullable = false)]
    pub condition: Option<Condition>,
    /// Value that the watched figure must exceed, at least 0, read as for creation. The
    /// rule's resulting condition and threshold are checked together, so an
    /// `error_rate_exceeds` rule rejects a threshold above 1.
    #[schema(value_type = Option<DecimalInput>, nullable = false)]
    pub threshold: Option<f64>,
    /// Length of the trailing window, in minutes, from 1 to 43200 (30 days).
    #[schema(minimum = 1, maximum = 43200, nullable = false)]
    pub window_minutes: Option<i64>,
    /// Agent and tags whose events count.
    #[schema(nullable = false)]
    pub scope: Option<RuleScope>,
    /// Webhook URLs, checked as for creation.
    #[schema(value_type = Option<Vec<WebhookUrl>>, nullable = false)]
    pub notify_channels: Option<Vec<String>>,
}

/// The request body of `POST /api/pricing/quote`.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuoteRequest {
    /// Provider id, such as `openai`; not blank.
    #[schema(pattern = r"\S")]
    pub provider: String,
    /// Model id, such as `gpt-4o`; not blank.
    #[schema(pattern = r"\S")]
    pub model: String,
    /// Token counts of the call, in the provider's shape or the normalized one.
    #[schema(value_type = Object)]
    pub usage: serde_json::Value,
    /// Time whose prices apply, RFC 3339; default now.
    #[schema(format = DateTime)]
    pub at: Option<String>,
    /// Service tier that served the call, such as `flex` or `priority`; selects the model's
    /// tier prices. `standard`, `default`, `auto` and absent mean standard prices.
    #[serde(rename = "serviceTier")]
    pub service_tier: Option<String>,
    /// Whether the call ran through a batch API; selects the model's batch prices.
    pub batch: Option<bool>,
}

/// The body of `GET /api/sessions`: a page, or only the count with `countOnly=true`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum SessionListing {
    /// A page of sessions.
    Page(SessionPage),
    /// The number of matching sessions.
    Count(SessionCount),
}

/// The request body of `POST /api/events`.
///
/// Each event's `payload` must also carry the fields of its `eventType`, such as
/// `provider`, `model`, `inputTokens` and `outputTokens` for `cost_tracked`. A 400 names
/// each missing or invalid field in `details`. `costUsd` is 0 or more with at most 12
/// decimals, sent as a JSON number with at most 15 significant digits or as a decimal
/// string. This schema does not state these rules, because they depend on `eventType` and
/// on the digits of a number.
#[derive(Debug, Serialize, ToSchema)]
pub struct IngestRequest {
    /// 1 to 1000 events, stored all or nothing.
    #[schema(min_items = 1, max_items = 1000)]
    pub events: Vec<IngestEvent>,
}

/// One event of an ingest request. Other top-level keys are ignored, except that a cost
/// event (`cost_tracked`, `llm_response`) with a pricing field beside its payload
/// (`costUsd`, `usage`, `model`, `provider`, `serviceTier`...) is rejected.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IngestEvent {
    /// Client id of 1 to 128 bytes. An id the tenant already stored is reported as a
    /// duplicate and not stored again.
    #[schema(min_length = 1, max_length = 128, nullable = false)]
    pub id: Option<String>,
    /// Session id of 1 to 256 characters, not blank.
    #[schema(min_length = 1, max_length = 256)]
    pub session_id: String,
    /// Agent id of 1 to 256 characters, not blank.
    #[schema(min_length = 1, max_length = 256)]
    pub agent_id: String,
    /// One of the 21 event types a client may send.
    #[schema(value_type = IngestEventType)]
    pub event_type: String,
    /// `debug`, `info`, `warn`, `error` or `critical`; default `info`.
    #[schema(value_type = Option<SeverityName>, nullable = false)]
    pub severity: Option<String>,
    /// RFC 3339 time with any offset, from 1970 to 9999 and at most 24 hours ahead of the
    /// collector's clock; default the arrival time.
    #[schema(format = DateTime, nullable = false)]
    pub timestamp: Option<String>,
    /// The event's fields, as its `eventType` requires.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// Free-form object; default `{}`.
    #[schema(value_type = Option<Object>, nullable = false)]
    pub metadata: Option<serde_json::Value>,
}

/// An event type that clients may send.
#[derive(Debug)]
pub struct IngestEventType;

impl utoipa::PartialSchema for IngestEventType {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let names = agentlens_core::event::INGESTIBLE_TYPES.map(|kind| kind.as_str());
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(names))
            .into()
    }
}

impl ToSchema for IngestEventType {}

/// The severity of an event.
#[derive(Debug)]
pub struct SeverityName;

impl utoipa::PartialSchema for SeverityName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(["debug", "info", "warn", "error", "critical"]))
            .into()
    }
}

impl ToSchema for SeverityName {}
