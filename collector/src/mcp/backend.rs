//! The collector API as the MCP tools see it: over HTTP, or in-process.

use std::net::SocketAddr;

use agentlens_core::errors::error_chain;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderValue, Method, Request};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::Value;
use tower::Service;

use crate::error::ApiError;
use crate::request_head::MAX_URI_BYTES;

/// Parts of the MCP request that the in-process router needs for a tool call.
#[derive(Debug, Clone, Default)]
pub struct McpCaller {
    /// The `Authorization` header of the MCP request.
    pub authorization: Option<HeaderValue>,
    /// The peer address of the MCP request, so that without keys the rate limit counts
    /// the tool's API calls in the window of the caller's address.
    pub peer: Option<ConnectInfo<SocketAddr>>,
}

/// A response of the collector API.
#[derive(Debug, Clone)]
pub struct ApiReply {
    /// HTTP status.
    pub status: u16,
    /// JSON body, or `Value::Null` when the body is not JSON.
    pub body: Value,
    /// Body text as received. Unlike `body`, it keeps every digit of an exact decimal.
    pub text: String,
}

impl ApiReply {
    /// Returns true for a 2xx status.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Destination of the API requests of the tools.
#[derive(Debug, Clone)]
pub enum Backend {
    /// A collector reached over HTTP; used by `agentlens mcp` on stdio.
    Remote {
        /// HTTP client.
        client: reqwest::Client,
        /// Base URL without a trailing slash, such as `http://localhost:3400`.
        base_url: String,
        /// `Bearer <key>`, when a key is configured.
        authorization: Option<HeaderValue>,
    },
    /// The API router of this process; used by the `/mcp` endpoint. Each request carries
    /// the `Authorization` header of the MCP request, so the caller's key and role apply.
    InProcess {
        /// The `/api` router.
        router: Router,
    },
}

/// Errors from building a remote backend.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The URL is not an absolute http or https URL.
    #[error("invalid collector url {0:?}: expected http://host:port or https://host:port")]
    InvalidUrl(String),
    /// The API key cannot be sent in a header.
    #[error("invalid api key: it contains a character that an HTTP header cannot carry")]
    InvalidApiKey,
    /// reqwest could not build its client.
    #[error("cannot build the http client: {0}")]
    HttpClient(String),
}

impl Backend {
    /// Creates a backend that forwards to the collector at `url`.
    ///
    /// # Errors
    ///
    /// Returns [`BackendError`] for an invalid URL or key.
    pub fn remote(url: &str, api_key: Option<&str>) -> Result<Backend, BackendError> {
        let parsed =
            reqwest::Url::parse(url).map_err(|_| BackendError::InvalidUrl(url.to_owned()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(BackendError::InvalidUrl(url.to_owned()));
        }
        let authorization = api_key
            .map(|key| HeaderValue::from_str(&format!("Bearer {key}")))
            .transpose()
            .map_err(|_| BackendError::InvalidApiKey)?;
        // reqwest is built without a default crypto provider; an error means one is
        // installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|error| BackendError::HttpClient(error.to_string()))?;
        Ok(Backend::Remote {
            client,
            base_url: url.trim_end_matches('/').to_owned(),
            authorization,
        })
    }

    /// Sends a request to `path` (starting with `/api/`). A remote backend sends its own
    /// key; the in-process router gets the `Authorization` header and the peer address of
    /// the MCP request, from `caller`.
    ///
    /// # Errors
    ///
    /// Returns a message when the collector cannot be reached. A path over
    /// [`MAX_URI_BYTES`] is not sent, and gets the collector's 414 reply.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        caller: &McpCaller,
    ) -> Result<ApiReply, String> {
        // The collector rejects such a request with this 414, but reqwest and the `http`
        // crate cannot build a URI over 65534 bytes, so the 414 is built here instead.
        // NOTE: a remote collector of another version may have another limit.
        if path.len() > MAX_URI_BYTES {
            let response = ApiError::UriTooLong { bytes: path.len() }.into_response();
            return read_reply(response, path).await;
        }
        match self {
            Backend::Remote {
                client,
                base_url,
                authorization,
            } => send_remote(client, base_url, authorization.as_ref(), method, path, body).await,
            Backend::InProcess { router } => {
                send_in_process(router, caller, method, path, body).await
            }
        }
    }
}

async fn send_remote(
    client: &reqwest::Client,
    base_url: &str,
    authorization: Option<&HeaderValue>,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Result<ApiReply, String> {
    let url = format!("{base_url}{path}");
    let mut request = client.request(method, &url);
    if let Some(authorization) = authorization {
        request = request.header(header::AUTHORIZATION, authorization.clone());
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    // The error names the base URL only, because the full URL repeats every argument of
    // the query, however long.
    let response = request.send().await.map_err(|error| {
        format!(
            "cannot reach the collector at {base_url}: {}",
            error_chain(&error.without_url())
        )
    })?;
    let status = response.status().as_u16();
    let text = response
        .text()
        .await
        .map_err(|error| format!("cannot read the collector's response: {error}"))?;
    Ok(ApiReply {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    })
}

async fn send_in_process(
    router: &Router,
    caller: &McpCaller,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Result<ApiReply, String> {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(authorization) = &caller.authorization {
        request = request.header(header::AUTHORIZATION, authorization.clone());
    }
    if let Some(peer) = caller.peer {
        request = request.extension(peer);
    }
    let request = match body {
        Some(body) => request
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string())),
        None => request.body(Body::empty()),
    }
    .map_err(|error| format!("invalid request to {path}: {error}"))?;

    // The router is always ready, so `call` needs no `poll_ready` first.
    let response = router
        .clone()
        .call(request)
        .await
        .map_err(|error| format!("request to {path} failed: {error}"))?;
    read_reply(response, path).await
}

/// Reads the status and body of a response of the router.
async fn read_reply(response: Response, path: &str) -> Result<ApiReply, String> {
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .map_err(|error| format!("cannot read the response of {path}: {error}"))?;
    Ok(ApiReply {
        status,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        text: String::from_utf8_lossy(&bytes).into_owned(),
    })
}
