//! The [`Transport`] seam and the HTTP transport that posts batches to a collector.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{self, HeaderValue};
use reqwest::{StatusCode, Url};
use serde::Serialize;

use super::options::ClientOptions;
use super::ClientError;
use crate::errors::error_chain;
use crate::event::Event;

/// Maximum number of characters of a collector's error body kept in a [`SendError`].
const MAX_ERROR_BODY_CHARS: usize = 1024;

/// The future returned by [`Transport::send`].
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<SendReceipt, SendError>> + Send + 'a>>;

/// The collector's counts for a batch it accepted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendReceipt {
    /// Events the collector stored.
    pub ingested: u64,
    /// Events whose id the collector had already stored, so it stored nothing for them.
    pub duplicates: u64,
}

impl SendReceipt {
    /// Creates a receipt that counts all `count` events as newly stored, for transports
    /// that cannot tell new events from ones stored before.
    pub fn all_new(count: usize) -> Self {
        SendReceipt {
            ingested: count as u64,
            duplicates: 0,
        }
    }
}

/// Sends one batch of events somewhere.
///
/// The client calls `send` from its background thread, one batch at a time, and decides
/// from the returned [`SendError`] whether to retry, to split the batch or to give up.
/// Implementations other than the built-in HTTP transport let tests and benchmarks see
/// what would be sent without a network.
pub trait Transport: Send + Sync + 'static {
    /// Sends `events` as one request and returns how many of them the receiver stored
    /// and how many it already had.
    ///
    /// # Errors
    ///
    /// Returns [`SendError`] when the batch was not accepted. The variant decides what
    /// happens next: see [`SendError::is_retryable`] and [`SendError::is_payload_too_large`].
    fn send<'a>(&'a self, events: &'a [Event]) -> SendFuture<'a>;
}

/// Errors from sending one batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The connection to the collector could not be opened.
    #[error("failed to connect to the collector: {0}")]
    Connect(String),
    /// The request did not complete within the request timeout.
    #[error("request to the collector timed out")]
    Timeout,
    /// The request failed after the connection was opened.
    #[error("request to the collector failed: {0}")]
    Request(String),
    /// The collector responded with a status other than 2xx.
    #[error("collector responded with status {status}: {body}")]
    Status {
        /// HTTP status code.
        status: u16,
        /// Start of the response body, which carries the collector's error message.
        body: String,
        /// Delay that the collector's `Retry-After` header requested, given in seconds or
        /// as an HTTP date.
        retry_after: Option<Duration>,
    },
    /// The collector rejected some events of the batch as invalid (400 with
    /// `details[].path` entries such as `events.3.payload.costUsd`).
    #[error("collector rejected {} event(s) as invalid: {body}", positions.len())]
    Rejected {
        /// Positions in the batch of the rejected events, ascending.
        positions: Vec<usize>,
        /// Start of the response body.
        body: String,
    },
    /// The collector already stores a different event under the id of some events of the
    /// batch (409 with `details[].path` entries such as `events.3.id`), so it stored none
    /// of the batch.
    #[error("collector already stores other events under the ids of {} event(s): {body}", conflicts.len())]
    IdConflict {
        /// Positions in the batch of the conflicting events, ascending, each with the
        /// collector's message about it.
        conflicts: Vec<(usize, String)>,
        /// Start of the response body.
        body: String,
    },
    /// The server accepted the request but its response is not an AgentLens ingest
    /// response, so the URL most likely points at another service.
    #[error("the server at the collector url responded with status {status} but not with an AgentLens ingest response; check that the url points at an AgentLens collector")]
    NotACollector {
        /// HTTP status code of the response.
        status: u16,
    },
    /// The batch could not be encoded as JSON.
    #[error("failed to encode the batch as json: {0}")]
    Encode(String),
    /// The client's shutdown deadline passed before the batch was delivered.
    #[error("shutdown deadline passed before the batch was delivered")]
    DeadlinePassed,
}

impl SendError {
    /// Returns true for failures that may pass: connection errors, timeouts, 408, 429
    /// and 5xx responses.
    pub fn is_retryable(&self) -> bool {
        match self {
            SendError::Connect(_) | SendError::Timeout | SendError::Request(_) => true,
            SendError::Status { status, .. } => {
                matches!(status, 408 | 429) || (500..=599).contains(status)
            }
            SendError::Encode(_)
            | SendError::DeadlinePassed
            | SendError::NotACollector { .. }
            | SendError::Rejected { .. }
            | SendError::IdConflict { .. } => false,
        }
    }

    /// Returns the positions in the batch of the events the collector rejected as
    /// invalid, or `None` for any other error.
    pub fn rejected_events(&self) -> Option<&[usize]> {
        match self {
            SendError::Rejected { positions, .. } => Some(positions),
            _ => None,
        }
    }

    /// Returns the positions in the batch of the events whose ids the collector already
    /// uses for other events, each with the collector's message, or `None` for any other
    /// error.
    pub fn id_conflicts(&self) -> Option<&[(usize, String)]> {
        match self {
            SendError::IdConflict { conflicts, .. } => Some(conflicts),
            _ => None,
        }
    }

    /// Returns true when the collector rejected the request body as too large (413).
    pub fn is_payload_too_large(&self) -> bool {
        matches!(self, SendError::Status { status: 413, .. })
    }

    /// Returns true for a 429 response: the collector's rate limit was exceeded.
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, SendError::Status { status: 429, .. })
    }

    /// Returns the delay the collector asked for before the next attempt, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SendError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    fn from_reqwest(error: &reqwest::Error) -> Self {
        if error.is_timeout() {
            SendError::Timeout
        } else if error.is_connect() {
            SendError::Connect(error_chain(error))
        } else {
            SendError::Request(error_chain(error))
        }
    }
}

/// The request body of `POST /api/events`.
#[derive(Serialize)]
struct EventBatch<'a> {
    events: &'a [Event],
}

/// Posts batches as JSON to `{server_url}/api/events`.
#[derive(Debug)]
pub(crate) struct HttpTransport {
    client: reqwest::Client,
    endpoint: Url,
    authorization: Option<HeaderValue>,
}

/// Time after which the client closes an idle pooled connection. The collector closes a
/// connection that sends no request for 30 s, so closing it first keeps a batch from being
/// sent on a connection the collector is closing.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(20);

impl HttpTransport {
    /// Creates the transport described by `options`.
    ///
    /// # Errors
    ///
    /// Returns [`ClientError`] for an unusable URL or API key, or when reqwest cannot
    /// build its client.
    pub(crate) fn new(options: &ClientOptions) -> Result<Self, ClientError> {
        let endpoint = events_endpoint(&options.server_url)?;
        let authorization = options.api_key.as_deref().map(bearer_header).transpose()?;

        // reqwest is built without a default crypto provider, so the process needs one
        // before the first TLS client exists. An error only means one is installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(options.request_timeout)
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .build()
            .map_err(|error| ClientError::HttpClient(error_chain(&error)))?;

        Ok(HttpTransport {
            client,
            endpoint,
            authorization,
        })
    }

    async fn post(&self, events: &[Event]) -> Result<SendReceipt, SendError> {
        let body = serde_json::to_vec(&EventBatch { events })
            .map_err(|error| SendError::Encode(error.to_string()))?;

        let mut request = self
            .client
            .post(self.endpoint.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(authorization) = &self.authorization {
            request = request.header(header::AUTHORIZATION, authorization.clone());
        }
        let response = request
            .send()
            .await
            .map_err(|error| SendError::from_reqwest(&error))?;

        let status = response.status();
        if status.is_success() {
            let body = response.bytes().await.unwrap_or_default();
            return ingest_receipt(&body).ok_or(SendError::NotACollector {
                status: status.as_u16(),
            });
        }
        let retry_after = parse_retry_after(response.headers(), Utc::now());
        let body = response.text().await.unwrap_or_default();
        Err(status_error(status, &body, retry_after))
    }
}

impl Transport for HttpTransport {
    fn send<'a>(&'a self, events: &'a [Event]) -> SendFuture<'a> {
        Box::pin(self.post(events))
    }
}

/// Reads `ingested` and `duplicates` from a collector's 201 response. Upstream AgentLens
/// has no idempotent ids and sends no `duplicates`, which then counts as 0.
///
/// Returns `None` when the body is not an ingest response.
fn ingest_receipt(body: &[u8]) -> Option<SendReceipt> {
    let response: serde_json::Value = serde_json::from_slice(body).ok()?;
    let ingested = response["ingested"].as_u64()?;
    let duplicates = response["duplicates"].as_u64().unwrap_or(0);
    Some(SendReceipt {
        ingested,
        duplicates,
    })
}

fn events_endpoint(server_url: &str) -> Result<Url, ClientError> {
    let invalid = |reason: String| ClientError::InvalidServerUrl {
        url: server_url.to_owned(),
        reason,
    };

    let base = server_url.trim().trim_end_matches('/');
    let endpoint =
        Url::parse(&format!("{base}/api/events")).map_err(|error| invalid(error.to_string()))?;
    if !matches!(endpoint.scheme(), "http" | "https") {
        return Err(invalid(format!(
            "scheme {:?} is not http or https",
            endpoint.scheme()
        )));
    }
    if endpoint.host().is_none() {
        return Err(invalid("the url has no host".to_owned()));
    }
    Ok(endpoint)
}

fn bearer_header(api_key: &str) -> Result<HeaderValue, ClientError> {
    let mut value = HeaderValue::from_str(&format!("Bearer {api_key}"))
        .map_err(|_| ClientError::InvalidApiKey)?;
    value.set_sensitive(true);
    Ok(value)
}

/// Reads `Retry-After` as whole seconds or as an HTTP date such as
/// `Wed, 21 Oct 2026 07:28:00 GMT`, which counts from `now`. A date in the past means no
/// wait. Returns `None` for a missing or unreadable header.
fn parse_retry_after(headers: &header::HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }

    let date = DateTime::parse_from_rfc2822(value).ok()?;
    let delay = date.with_timezone(&Utc) - now;
    Some(delay.to_std().unwrap_or_default())
}

fn status_error(status: StatusCode, full_body: &str, retry_after: Option<Duration>) -> SendError {
    let body: String = full_body
        .trim()
        .chars()
        .take(MAX_ERROR_BODY_CHARS)
        .collect();
    if status == StatusCode::BAD_REQUEST {
        if let Some(positions) = rejected_positions(full_body) {
            return SendError::Rejected { positions, body };
        }
    }
    if status == StatusCode::CONFLICT {
        if let Some(conflicts) = conflicting_positions(full_body) {
            return SendError::IdConflict { conflicts, body };
        }
    }
    SendError::Status {
        status: status.as_u16(),
        body,
        retry_after,
    }
}

/// Reads the event positions from the `details[].path` entries (`events.N....`) of a
/// collector's 400 response; `None` when the body names no event.
fn rejected_positions(body: &str) -> Option<Vec<usize>> {
    let response: serde_json::Value = serde_json::from_str(body).ok()?;
    let mut positions: Vec<usize> = response["details"]
        .as_array()?
        .iter()
        .filter_map(|detail| detail["path"].as_str())
        .filter_map(|path| {
            path.strip_prefix("events.")?
                .split('.')
                .next()?
                .parse()
                .ok()
        })
        .collect();
    positions.sort_unstable();
    positions.dedup();
    (!positions.is_empty()).then_some(positions)
}

/// Reads the event positions and messages from the `details[]` entries whose path is
/// `events.N.id` in a collector's 409 response. Returns `None` when the body names no
/// event id.
fn conflicting_positions(body: &str) -> Option<Vec<(usize, String)>> {
    let response: serde_json::Value = serde_json::from_str(body).ok()?;
    let mut conflicts: Vec<(usize, String)> = response["details"]
        .as_array()?
        .iter()
        .filter_map(|detail| {
            let path = detail["path"].as_str()?;
            let position = path.strip_prefix("events.")?.strip_suffix(".id")?;
            let message = detail["message"].as_str().unwrap_or_default();
            Some((position.parse().ok()?, message.to_owned()))
        })
        .collect();
    conflicts.sort_unstable();
    conflicts.dedup_by_key(|(position, _)| *position);
    (!conflicts.is_empty()).then_some(conflicts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16) -> SendError {
        SendError::Status {
            status: code,
            body: String::new(),
            retry_after: None,
        }
    }

    #[test]
    fn transient_statuses_are_retryable() {
        for code in [408, 429, 500, 502, 503, 504] {
            assert!(status(code).is_retryable(), "{code} should be retried");
        }
    }

    #[test]
    fn client_errors_are_final() {
        for code in [400, 401, 403, 404, 413, 422] {
            assert!(!status(code).is_retryable(), "{code} should not be retried");
        }
    }

    #[test]
    fn network_failures_are_retryable() {
        assert!(SendError::Connect("refused".into()).is_retryable());
        assert!(SendError::Timeout.is_retryable());
        assert!(!SendError::DeadlinePassed.is_retryable());
    }

    #[test]
    fn only_413_means_too_large() {
        assert!(status(413).is_payload_too_large());
        assert!(!status(400).is_payload_too_large());
    }

    #[test]
    fn endpoint_appends_events_path() {
        let endpoint = events_endpoint("http://127.0.0.1:3400/").unwrap();
        assert_eq!(endpoint.as_str(), "http://127.0.0.1:3400/api/events");

        let prefixed = events_endpoint("https://example.invalid/agentlens").unwrap();
        assert_eq!(
            prefixed.as_str(),
            "https://example.invalid/agentlens/api/events"
        );
    }

    #[test]
    fn endpoint_rejects_non_http_urls() {
        assert!(matches!(
            events_endpoint("ftp://example.invalid"),
            Err(ClientError::InvalidServerUrl { .. })
        ));
        assert!(matches!(
            events_endpoint("localhost:3400"),
            Err(ClientError::InvalidServerUrl { .. })
        ));
        assert!(matches!(
            events_endpoint("not a url"),
            Err(ClientError::InvalidServerUrl { .. })
        ));
    }

    #[test]
    fn api_key_with_line_break_is_rejected() {
        assert!(matches!(
            bearer_header("als_1\r\nX-Evil: 1"),
            Err(ClientError::InvalidApiKey)
        ));
    }

    fn retry_after_header(value: &'static str) -> header::HeaderMap {
        let mut headers = header::HeaderMap::new();
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn retry_after_reads_seconds() {
        let now = Utc::now();

        let seven = parse_retry_after(&retry_after_header("7"), now);
        let padded = parse_retry_after(&retry_after_header(" 60 "), now);

        assert_eq!(seven, Some(Duration::from_secs(7)));
        assert_eq!(padded, Some(Duration::from_secs(60)));
    }

    #[test]
    fn retry_after_reads_http_date() {
        let now = "2026-10-21T07:27:30Z".parse().unwrap();
        let headers = retry_after_header("Wed, 21 Oct 2026 07:28:00 GMT");

        assert_eq!(
            parse_retry_after(&headers, now),
            Some(Duration::from_secs(30))
        );
    }

    #[test]
    fn retry_after_date_in_past_means_no_wait() {
        let now = "2026-10-21T08:00:00Z".parse().unwrap();
        let headers = retry_after_header("Wed, 21 Oct 2026 07:28:00 GMT");

        assert_eq!(parse_retry_after(&headers, now), Some(Duration::ZERO));
    }

    #[test]
    fn unreadable_retry_after_is_ignored() {
        let now = Utc::now();

        assert_eq!(parse_retry_after(&retry_after_header("soon"), now), None);
        assert_eq!(parse_retry_after(&retry_after_header("-5"), now), None);
        assert_eq!(parse_retry_after(&header::HeaderMap::new(), now), None);
    }

    #[test]
    fn receipt_reads_duplicates() {
        let body = br#"{"ingested":1,"duplicates":2,"events":[]}"#;

        let receipt = ingest_receipt(body);

        let expected = SendReceipt {
            ingested: 1,
            duplicates: 2,
        };
        assert_eq!(receipt, Some(expected));
    }

    #[test]
    fn receipt_without_duplicates_counts_none() {
        let upstream = br#"{"ingested":3,"events":[]}"#;

        assert_eq!(ingest_receipt(upstream), Some(SendReceipt::all_new(3)));
    }

    #[test]
    fn receipt_needs_ingested_count() {
        assert_eq!(ingest_receipt(b"<html></html>"), None);
        assert_eq!(ingest_receipt(br#"{"status":"ok"}"#), None);
    }

    #[test]
    fn conflict_names_positions_and_messages() {
        let body = r#"{"error":"Event id already used","status":409,"details":[
            {"path":"events.4.id","message":"id \"a\" is already used"},
            {"path":"events.1.id","message":"id \"b\" is already used"}]}"#;

        let error = status_error(StatusCode::CONFLICT, body, None);

        let expected = [
            (1, r#"id "b" is already used"#.to_owned()),
            (4, r#"id "a" is already used"#.to_owned()),
        ];
        assert_eq!(error.id_conflicts(), Some(&expected[..]));
        assert!(!error.is_retryable());
    }

    #[test]
    fn conflict_without_event_path_is_a_status_error() {
        let body = r#"{"error":"Budget exists","status":409}"#;

        let error = status_error(StatusCode::CONFLICT, body, None);

        assert!(matches!(error, SendError::Status { status: 409, .. }));
    }

    #[test]
    fn error_body_is_truncated() {
        let long_body = "x".repeat(5000);

        let error = status_error(StatusCode::BAD_REQUEST, &long_body, None);

        let SendError::Status { body, .. } = error else {
            panic!("expected a status error");
        };
        assert_eq!(body.len(), MAX_ERROR_BODY_CHARS);
    }
}
