//! A fixed-window rate limit on the `/api` routes.
//!
//! Each client gets [`RateLimiter::limit`] requests per 60-second window, counted from its
//! first request of the window. The limit runs after authentication. A client is its
//! bearer token when the request carries a well-formed one, which with authentication on
//! is always a valid key, and its IP address otherwise. Only the SHA-256 of a token is
//! kept in memory. Every limited response carries `RateLimit-Limit`, `RateLimit-Remaining`
//! and `RateLimit-Reset` (seconds until the window ends), and a request over the limit
//! gets a 429 with `Retry-After` in seconds and a hint that fits its method.
//!
//! A request that authentication rejects with 401 (no key, or a key that is not an active
//! one) counts in a separate window of its IP address ([`count_rejected`]). It gets its 401
//! until that address has sent the limit of rejected requests in the window, and a 429
//! after that. So a mistyped key gets a 401 even when a valid key from the same address
//! used up its window, and made-up keys cannot bypass the limit.
//!
//! The default of 6000 requests per minute is 30 times upstream AgentLens's 200, because
//! the SDKs send batches and retry a 429 after `Retry-After`, and a busy agent should not
//! lose data to the limit. The health route, `/metrics` and `/mcp` are not limited, but
//! the `/api` calls that MCP tools make in process count against the caller's key, so a
//! tool call counts as one request. Without a key (authentication off) those calls carry
//! no peer address, so they share one window.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::{bearer_token, hash_key, is_well_formed};
use crate::error::ApiError;
use crate::AppState;

/// Requests per minute per client when `--rate-limit` is not given.
pub const DEFAULT_RATE_LIMIT: u32 = 6000;

/// Length of one window.
const WINDOW: Duration = Duration::from_secs(60);

/// Clients tracked before expired windows are dropped from memory.
const PRUNE_THRESHOLD: usize = 10_000;

/// Identity a request is counted under.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ClientKey {
    /// SHA-256 hex of the bearer token.
    Token(String),
    /// Peer address of the connection.
    Ip(IpAddr),
    /// Neither is known, as for requests built in process without a connection. All such
    /// requests share one window.
    Unknown,
    /// Requests that authentication rejected, from this peer address if known.
    Rejected(Option<IpAddr>),
}

/// Hint of a 429 to a read of a paged list (`GET`, `HEAD`).
const PAGED_READ_ADVICE: &str = "The limit counts requests per minute for each API key (for \
    each IP address when keys are off), so make fewer requests: ask for larger pages (limit \
    up to 500) or poll less often";

/// Hint of a 429 to any other read.
const READ_ADVICE: &str = "The limit counts requests per minute for each API key (for each IP \
    address when keys are off), so make fewer requests: poll less often";

/// Paths, relative to `/api`, of the lists that take `limit` and `offset`.
const PAGED_PATHS: [&str; 3] = ["/events", "/sessions", "/alerts/history"];

/// Hint of a 429 to `POST /api/events`.
const INGEST_ADVICE: &str = "The limit counts requests per minute for each API key (for each \
    IP address when keys are off), so send more events per request (up to 1000)";

/// Hint of a 429 to other writes, such as alert rule changes.
const WRITE_ADVICE: &str = "The limit counts requests per minute for each API key (for each IP \
    address when keys are off), so space the requests out";

/// Hint of a 429 that replaces a 401.
const REJECTED_ADVICE: &str = "This IP address sent too many requests without a valid API key \
    in the last minute; check the key in the Authorization header";

/// Requests counted in one client's current window.
#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    count: u32,
}

/// Outcome of counting one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// True when the request is within the limit.
    pub allowed: bool,
    /// Requests left in the window after this one.
    pub remaining: u32,
    /// Whole seconds until the window ends, at least 1.
    pub reset_secs: u64,
}

/// Counts requests per client in fixed windows.
#[derive(Debug)]
pub struct RateLimiter {
    limit: u32,
    windows: Mutex<HashMap<ClientKey, Window>>,
}

impl RateLimiter {
    /// Creates a limiter allowing `limit` requests per client per minute, or `None` when
    /// `limit` is 0, which disables the limit.
    pub fn new(limit: u32) -> Option<Arc<RateLimiter>> {
        (limit > 0).then(|| {
            Arc::new(RateLimiter {
                limit,
                windows: Mutex::new(HashMap::new()),
            })
        })
    }

    /// Returns the requests allowed per client per window.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Counts one request of `client` at `now`.
    fn check(&self, client: ClientKey, now: Instant) -> Decision {
        // A poisoned lock only means that another request panicked while counting, so the
        // counts are still usable.
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if windows.len() >= PRUNE_THRESHOLD && !windows.contains_key(&client) {
            windows.retain(|_, window| now.duration_since(window.started) < WINDOW);
        }

        let window = windows.entry(client).or_insert(Window {
            started: now,
            count: 0,
        });
        if now.duration_since(window.started) >= WINDOW {
            *window = Window {
                started: now,
                count: 0,
            };
        }
        let allowed = window.count < self.limit;
        if allowed {
            window.count += 1;
        }

        let left = WINDOW.saturating_sub(now.duration_since(window.started));
        Decision {
            allowed,
            remaining: self.limit - window.count,
            reset_secs: left.as_secs_f64().ceil().max(1.0) as u64,
        }
    }
}

/// Counts the request against its client's window and rejects it with a 429 when the
/// window is full.
pub async fn limit_requests(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(limiter) = state.rate_limiter.as_deref() else {
        return next.run(request).await;
    };

    let client = client_key(&request);
    let advice = advice_for(request.method(), request.uri().path());
    let decision = limiter.check(client, Instant::now());
    let mut response = if decision.allowed {
        next.run(request).await
    } else {
        tracing::debug!(
            retry_after_secs = decision.reset_secs,
            "request rate limited"
        );
        ApiError::TooManyRequests {
            retry_after_secs: decision.reset_secs,
            advice,
        }
        .into_response()
    };
    set_headers(response.headers_mut(), limiter.limit, decision);
    response
}

/// Counts a request that authentication rejected in the window of rejected requests from
/// its IP address. Returns the 429 to send in place of the 401 when that window is full.
pub(crate) fn count_rejected(state: &AppState, request: &Request) -> Option<ApiError> {
    let limiter = state.rate_limiter.as_deref()?;
    let client = ClientKey::Rejected(peer_ip(request));
    let decision = limiter.check(client, Instant::now());
    if decision.allowed {
        return None;
    }
    tracing::debug!(
        retry_after_secs = decision.reset_secs,
        "request without a valid key rate limited"
    );
    Some(ApiError::TooManyRequests {
        retry_after_secs: decision.reset_secs,
        advice: REJECTED_ADVICE,
    })
}

/// Returns the 429 hint for a request: reads of paged lists can ask for larger pages,
/// ingest can send larger batches, and other requests can only slow down.
fn advice_for(method: &Method, path: &str) -> &'static str {
    if matches!(*method, Method::GET | Method::HEAD) {
        let path = path.strip_prefix("/api").unwrap_or(path);
        if PAGED_PATHS.contains(&path) {
            PAGED_READ_ADVICE
        } else {
            READ_ADVICE
        }
    } else if *method == Method::POST && path.ends_with("/events") {
        INGEST_ADVICE
    } else {
        WRITE_ADVICE
    }
}

fn peer_ip(request: &Request) -> Option<IpAddr> {
    let connect_info = request.extensions().get::<ConnectInfo<SocketAddr>>();
    connect_info.map(|ConnectInfo(address)| address.ip())
}

/// Returns the identity of a request: its well-formed bearer token, else its peer IP.
fn client_key(request: &Request) -> ClientKey {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(bearer_token)
        .filter(|token| is_well_formed(token));
    if let Some(token) = token {
        return ClientKey::Token(hash_key(token));
    }
    peer_ip(request).map_or(ClientKey::Unknown, ClientKey::Ip)
}

fn set_headers(headers: &mut HeaderMap, limit: u32, decision: Decision) {
    headers.insert("ratelimit-limit", HeaderValue::from(limit));
    headers.insert("ratelimit-remaining", HeaderValue::from(decision.remaining));
    headers.insert("ratelimit-reset", HeaderValue::from(decision.reset_secs));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(limit: u32) -> Arc<RateLimiter> {
        RateLimiter::new(limit).unwrap()
    }

    #[test]
    fn zero_disables_the_limit() {
        assert!(RateLimiter::new(0).is_none());
    }

    #[test]
    fn window_fills_then_resets() {
        let limiter = limiter(2);
        let start = Instant::now();
        let client = || ClientKey::Ip([10, 0, 0, 1].into());

        let first = limiter.check(client(), start);
        assert!(first.allowed);
        assert_eq!(first.remaining, 1);
        assert_eq!(first.reset_secs, 60);
        assert!(limiter.check(client(), start).allowed);

        let third = limiter.check(client(), start + Duration::from_millis(20_500));
        assert!(!third.allowed);
        assert_eq!(third.remaining, 0);
        assert_eq!(third.reset_secs, 40, "39.5 s left, rounded up");

        let next_window = limiter.check(client(), start + WINDOW);
        assert!(next_window.allowed);
        assert_eq!(next_window.remaining, 1);
    }

    #[test]
    fn clients_have_separate_windows() {
        let limiter = limiter(1);
        let now = Instant::now();
        assert!(limiter.check(ClientKey::Token("a".into()), now).allowed);
        assert!(!limiter.check(ClientKey::Token("a".into()), now).allowed);
        assert!(limiter.check(ClientKey::Token("b".into()), now).allowed);
        assert!(
            limiter
                .check(ClientKey::Ip([10, 0, 0, 1].into()), now)
                .allowed
        );
    }

    #[test]
    fn rejected_requests_have_own_window() {
        let limiter = limiter(1);
        let now = Instant::now();
        let address = Some([10, 0, 0, 1].into());
        assert!(limiter.check(ClientKey::Token("a".into()), now).allowed);
        assert!(!limiter.check(ClientKey::Token("a".into()), now).allowed);

        assert!(limiter.check(ClientKey::Rejected(address), now).allowed);
        assert!(!limiter.check(ClientKey::Rejected(address), now).allowed);
    }

    #[test]
    fn advice_fits_the_method() {
        assert!(advice_for(&Method::GET, "/sessions").contains("larger pages"));
        assert!(advice_for(&Method::POST, "/events").contains("more events per request"));
        assert!(advice_for(&Method::PUT, "/alerts/rules/x").contains("space the requests"));
        assert!(!advice_for(&Method::GET, "/events").contains("events per request"));
        assert!(advice_for(&Method::GET, "/api/events").contains("larger pages"));
        assert!(!advice_for(&Method::GET, "/sessions/s1").contains("larger pages"));
        assert!(!advice_for(&Method::GET, "/analytics/costs").contains("larger pages"));
    }

    #[test]
    fn expired_windows_are_pruned() {
        let limiter = limiter(1);
        let start = Instant::now();
        for index in 0..PRUNE_THRESHOLD {
            limiter.check(ClientKey::Token(index.to_string()), start);
        }
        limiter.check(ClientKey::Unknown, start + WINDOW);
        assert_eq!(limiter.windows.lock().unwrap().len(), 1);
    }
}
