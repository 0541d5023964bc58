//! A fixed-window rate limit on the `/api` routes.
//!
//! Each client gets [`RateLimiter::limit`] requests per 60-second window, counted from its
//! first request of the window. A client is its bearer token when the request carries a
//! well-formed one, and its IP address otherwise. Only the SHA-256 of a token is kept in
//! memory. Every limited response carries `RateLimit-Limit`, `RateLimit-Remaining` and
//! `RateLimit-Reset` (seconds until the window ends), and a rejected request gets a 429
//! with `Retry-After` in seconds.
//!
//! The default of 6000 requests per minute is 30 times upstream AgentLens's 200, because
//! the SDKs send batches and retry a 429 after `Retry-After`, and a busy agent should not
//! lose data to the limit. The health route, `/metrics` and `/mcp` are not limited, but
//! the `/api` calls that MCP tools make in process count against the caller's key.
//! Without a key those calls carry no peer address, so they share one window.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
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
}

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
        }
        .into_response()
    };
    set_headers(response.headers_mut(), limiter.limit, decision);
    response
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
    match request.extensions().get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(address)) => ClientKey::Ip(address.ip()),
        None => ClientKey::Unknown,
    }
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
