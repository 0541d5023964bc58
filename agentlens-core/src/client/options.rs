//! Configuration of a [`Client`]: defaults, environment variables and limits.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::transport::Transport;
use super::{Client, ClientError};

/// Environment variable that sets the collector URL.
pub const SERVER_URL_ENV: &str = "AGENTLENS_SERVER_URL";
/// Environment variable that sets the API key.
pub const API_KEY_ENV: &str = "AGENTLENS_API_KEY";
/// Environment variable that sets the default agent id.
pub const AGENT_ID_ENV: &str = "AGENTLENS_AGENT_ID";

/// Collector URL used when neither code nor environment sets one.
pub const DEFAULT_SERVER_URL: &str = "http://localhost:3400";
/// Agent id used when neither code nor environment sets one, as in the upstream SDKs.
pub const DEFAULT_AGENT_ID: &str = "default";
/// Default number of events per request.
pub const DEFAULT_BATCH_SIZE: usize = 512;
/// Maximum number of events per request that the collector accepts.
pub const MAX_BATCH_SIZE: usize = 1000;
/// Default number of events the queue buffers before it drops new ones.
pub const DEFAULT_QUEUE_CAPACITY: usize = 10_000;
/// Default time a partial batch waits before it is sent.
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_secs(1);
/// Default number of retries after the first attempt of a request.
///
/// With [`DEFAULT_RETRY_BACKOFF`] the waits between the attempts add up to between about
/// 20 s and 26 s (the 5 s cap and the jitter are described at
/// [`ClientOptions::retry_backoff`]), so a batch outlives a collector restart of that length.
pub const DEFAULT_MAX_RETRIES: u32 = 10;
/// Default delay before the first retry; each further retry doubles it.
pub const DEFAULT_RETRY_BACKOFF: Duration = Duration::from_millis(100);
/// Default time limit of one HTTP request.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Settings for a [`Client`], built with [`Client::builder`] or [`ClientOptions::from_env`].
///
/// Environment variables supply defaults and every setter overrides them.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use agentlens_core::client::Client;
///
/// let client = Client::builder("http://localhost:3400")
///     .api_key("als_0123")
///     .agent_id("support-bot")
///     .flush_interval(Duration::from_millis(500))
///     .build()?;
/// # Ok::<(), agentlens_core::client::ClientError>(())
/// ```
#[derive(Clone)]
pub struct ClientOptions {
    pub(crate) server_url: String,
    pub(crate) api_key: Option<String>,
    pub(crate) agent_id: String,
    pub(crate) batch_size: usize,
    pub(crate) flush_interval: Duration,
    pub(crate) queue_capacity: usize,
    pub(crate) max_retries: u32,
    pub(crate) retry_backoff: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) transport: Option<Arc<dyn Transport>>,
    pub(crate) wait_on_drop: bool,
}

impl ClientOptions {
    /// Creates options from `AGENTLENS_SERVER_URL`, `AGENTLENS_API_KEY` and
    /// `AGENTLENS_AGENT_ID`, with the defaults of this module for everything else.
    ///
    /// Unset and empty variables count as absent.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let read = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        ClientOptions {
            server_url: read(SERVER_URL_ENV).unwrap_or_else(|| DEFAULT_SERVER_URL.to_owned()),
            api_key: read(API_KEY_ENV),
            agent_id: read(AGENT_ID_ENV).unwrap_or_else(|| DEFAULT_AGENT_ID.to_owned()),
            batch_size: DEFAULT_BATCH_SIZE,
            flush_interval: DEFAULT_FLUSH_INTERVAL,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            max_retries: DEFAULT_MAX_RETRIES,
            retry_backoff: DEFAULT_RETRY_BACKOFF,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            transport: None,
            wait_on_drop: true,
        }
    }

    /// Sets the collector's base URL; events go to `{url}/api/events`.
    pub fn server_url(mut self, url: impl Into<String>) -> Self {
        self.server_url = url.into();
        self
    }

    /// Sets the API key sent as `Authorization: Bearer <key>`.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Sets the agent id used by events that do not name one.
    pub fn agent_id(mut self, agent_id: impl Into<String>) -> Self {
        self.agent_id = agent_id.into();
        self
    }

    /// Sets the number of events per request, clamped to `1..=1000` because the collector
    /// rejects larger batches.
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.clamp(1, MAX_BATCH_SIZE);
        self
    }

    /// Sets how long the first event of a partial batch waits before the batch is sent.
    pub fn flush_interval(mut self, interval: Duration) -> Self {
        self.flush_interval = interval;
        self
    }

    /// Sets how many events wait in the queue before new ones are dropped (at least 1).
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity.max(1);
        self
    }

    /// Sets how many times a request is retried after a transient failure (default 10).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// Sets the delay before the first retry (default 100 ms). Each further retry doubles
    /// it, up to 5 s. A longer `Retry-After` from the collector wins, up to 5 minutes, and
    /// during a shutdown a wait that would end after the deadline fails the batch at once.
    ///
    /// Each wait is shortened by a random amount of up to a quarter of the backoff, so
    /// clients that lost the collector at the same moment do not all retry at once.
    pub fn retry_backoff(mut self, backoff: Duration) -> Self {
        self.retry_backoff = backoff;
        self
    }

    /// Sets the time limit of one HTTP request, including reading the response.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Replaces the HTTP transport, for example with `client::test::CapturingTransport`
    /// (feature `test`) in tests.
    ///
    /// The server URL and API key are then neither checked nor used.
    pub fn transport(mut self, transport: impl Transport) -> Self {
        self.transport = Some(Arc::new(transport));
        self
    }

    /// Sets whether dropping the client waits for its queued events (default `true`).
    ///
    /// Either way the drop gives the background thread 2 seconds to send what is queued.
    /// With `true` the dropping thread waits for that send. With `false` the drop returns at
    /// once and the send goes on in the background, so events still unsent when the process
    /// exits are lost. Bindings whose objects are dropped by a garbage collector on the
    /// host's only thread, such as Node.js, use `false`. Call [`Client::shutdown`] to know
    /// how many events were left.
    pub fn wait_on_drop(mut self, wait: bool) -> Self {
        self.wait_on_drop = wait;
        self
    }

    /// Starts a client with these options.
    ///
    /// # Errors
    ///
    /// Returns [`ClientError`] when the runtime or the background thread cannot be
    /// created. Without a custom transport it also fails when the server URL is not an
    /// absolute `http` or `https` URL, when the API key cannot be sent in an HTTP header,
    /// or when reqwest cannot build its client.
    pub fn build(self) -> Result<Client, ClientError> {
        Client::start(self)
    }
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key is a credential, so only its presence is shown.
        formatter
            .debug_struct("ClientOptions")
            .field("server_url", &self.server_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("agent_id", &self.agent_id)
            .field("batch_size", &self.batch_size)
            .field("flush_interval", &self.flush_interval)
            .field("queue_capacity", &self.queue_capacity)
            .field("max_retries", &self.max_retries)
            .field("retry_backoff", &self.retry_backoff)
            .field("request_timeout", &self.request_timeout)
            .field("custom_transport", &self.transport.is_some())
            .field("wait_on_drop", &self.wait_on_drop)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup_from(
        pairs: &'static [(&'static str, &'static str)],
    ) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        }
    }

    #[test]
    fn defaults_apply_without_environment() {
        let options = ClientOptions::from_lookup(|_| None);

        assert_eq!(options.server_url, DEFAULT_SERVER_URL);
        assert_eq!(options.api_key, None);
        assert_eq!(options.agent_id, DEFAULT_AGENT_ID);
        assert_eq!(options.batch_size, DEFAULT_BATCH_SIZE);
        assert_eq!(options.queue_capacity, DEFAULT_QUEUE_CAPACITY);
        assert_eq!(options.max_retries, DEFAULT_MAX_RETRIES);
    }

    #[test]
    fn environment_supplies_defaults() {
        let options = ClientOptions::from_lookup(lookup_from(&[
            (SERVER_URL_ENV, "http://collector:9000"),
            (API_KEY_ENV, "als_env"),
            (AGENT_ID_ENV, "env-agent"),
        ]));

        assert_eq!(options.server_url, "http://collector:9000");
        assert_eq!(options.api_key.as_deref(), Some("als_env"));
        assert_eq!(options.agent_id, "env-agent");
    }

    #[test]
    fn code_values_override_environment() {
        let options = ClientOptions::from_lookup(lookup_from(&[
            (SERVER_URL_ENV, "http://collector:9000"),
            (API_KEY_ENV, "als_env"),
            (AGENT_ID_ENV, "env-agent"),
        ]))
        .server_url("http://127.0.0.1:1")
        .api_key("als_code")
        .agent_id("code-agent");

        assert_eq!(options.server_url, "http://127.0.0.1:1");
        assert_eq!(options.api_key.as_deref(), Some("als_code"));
        assert_eq!(options.agent_id, "code-agent");
    }

    #[test]
    fn empty_environment_values_count_as_unset() {
        let options =
            ClientOptions::from_lookup(lookup_from(&[(SERVER_URL_ENV, ""), (API_KEY_ENV, " ")]));

        assert_eq!(options.server_url, DEFAULT_SERVER_URL);
        assert_eq!(options.api_key, None);
    }

    #[test]
    fn batch_size_is_clamped_to_server_limit() {
        let options = ClientOptions::from_lookup(|_| None);

        assert_eq!(options.clone().batch_size(0).batch_size, 1);
        assert_eq!(options.clone().batch_size(5000).batch_size, MAX_BATCH_SIZE);
        assert_eq!(options.batch_size(250).batch_size, 250);
    }

    #[test]
    fn debug_output_hides_api_key() {
        let options = ClientOptions::from_lookup(|_| None).api_key("als_secret");

        let text = format!("{options:?}");

        assert!(!text.contains("als_secret"), "{text}");
        assert!(text.contains("<redacted>"), "{text}");
    }
}
