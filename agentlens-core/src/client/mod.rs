//! Batches events on a background thread and sends them to a collector.
//!
//! A [`Client`] never does I/O on the caller's thread. [`Client::log`] and
//! [`Client::track_cost`] stamp the event and put it on a bounded queue; a background
//! thread with its own single-threaded tokio runtime does everything else. The client
//! therefore works the same from plain threads, from inside a tokio runtime, and from
//! language bindings that have no runtime at all.
//!
//! ```text
//!  caller threads                         background thread "agentlens-client"
//!
//!  log / track_cost ──push──────▶ event queue ─────▶ Batcher ──▶ Delivery ──▶ Transport
//!                                 (bounded, in        │        retries      POST
//!                                  batches)           │        413 split   /api/events
//!  flush / shutdown ──send──────▶ command channel ──▶ │
//!        ▲                        (unbounded)         │
//!        └─────────────── done signal (std channel) ◀─┘
//! ```
//!
//! - **Queue.** Holds up to `queue_capacity` events, grouped into batches of `batch_size`
//!   as they arrive. When it is full, new events are dropped and counted in
//!   [`Client::dropped`]; the first drop logs one warning and [`Client::shutdown`] logs
//!   the total. A push takes a short mutex and wakes the background thread only when the
//!   queue was empty or a batch just filled, so most calls make no system call. Commands
//!   use a separate unbounded channel, so a full queue never rejects a flush or a shutdown.
//! - **Batcher.** Sends a batch when it contains `batch_size` events, or `flush_interval`
//!   after the batcher first saw the queue non-empty, whichever comes first. A batch never
//!   exceeds 1000 events, the collector's limit. One batch is in flight at a time.
//! - **Delivery.** Retries connection errors, timeouts, 408, 429 and 5xx up to
//!   `max_retries` times with jittered exponential backoff. The default of 10 retries
//!   waits about 20-26 s in all, so a batch outlives a short collector restart. When the
//!   response carries `Retry-After`, in seconds or as an HTTP date, the retry waits at
//!   least that long, up to 5 minutes. On 413 it
//!   splits the batch in halves and sends each half, down to single events, so a batch is
//!   never lost for its size.
//!   Other 4xx responses are final. Events that end in failure are counted in
//!   [`Client::failed`] and logged with the collector's error body, never returned to
//!   the caller. Every event carries a ULID in [`Event::id`], so the collector stores a
//!   retried event once. The collector's response reports how many events of a batch it
//!   had already stored, and [`Client::duplicates`] counts them.
//! - **Flush and shutdown.** [`Client::flush`] asks the batcher to send everything queued
//!   so far and waits on a std channel for it to finish, never on the caller's runtime.
//!   [`Client::shutdown`] also closes the queue, gives the remaining sends the same
//!   deadline as the caller's wait, and stops the thread. Both return the number of
//!   events still pending. A flush that times out fails no event. A batch that waits out a
//!   `Retry-After` stays pending and is sent after the flush returns. Dropping the client
//!   shuts it down with a 2 second deadline, and waits for it unless
//!   [`ClientOptions::wait_on_drop`] is `false`.
//! - **Fork.** The background thread exists only in the process that built the client. In a
//!   child forked from it, `flush`, `shutdown` and the drop return at once and send nothing,
//!   so the child never waits for a thread it does not have.
//!
//! If a shutdown times out, the background thread is left to end on its own. A request
//! that started before the shutdown runs to completion. A batch waiting to be retried
//! gives up as soon as its wait would pass the deadline. Whatever is still unsent after
//! the deadline is recorded as failed without another attempt. Events still pending when
//! the process exits are lost.
//!
//! # Examples
//!
//! ```no_run
//! use std::time::Duration;
//! use agentlens_core::client::{Client, CostEvent};
//! use agentlens_core::usage::Usage;
//!
//! let client = Client::builder("http://localhost:3400")
//!     .api_key("als_0123")
//!     .build()?;
//!
//! let usage = Usage { input_tokens: 1200, output_tokens: 300, ..Usage::default() };
//! client.track_cost(CostEvent::new("ses_1", "openai", "gpt-4o", usage));
//!
//! let pending = client.shutdown(Duration::from_secs(5));
//! assert_eq!(pending, 0);
//! # Ok::<(), agentlens_core::client::ClientError>(())
//! ```

use std::fmt;
use std::sync::{mpsc as std_mpsc, Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, Utc};
use ulid::Ulid;

use crate::event::Event;
use crate::validate::FieldError;
use delivery::{DeadlineHandle, Delivery};
use queue::batcher::Batcher;
use queue::{Command, Queue, QueuedEvent, Stats};
use transport::HttpTransport;

mod cost;
mod delivery;
mod options;
mod queue;
#[cfg(any(test, feature = "test"))]
pub mod test;
mod transport;

pub use cost::CostEvent;
pub use options::{
    ClientOptions, AGENT_ID_ENV, API_KEY_ENV, DEFAULT_AGENT_ID, DEFAULT_BATCH_SIZE,
    DEFAULT_FLUSH_INTERVAL, DEFAULT_MAX_RETRIES, DEFAULT_QUEUE_CAPACITY, DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_RETRY_BACKOFF, DEFAULT_SERVER_URL, MAX_BATCH_SIZE, SERVER_URL_ENV,
};
pub use transport::{SendError, SendFuture, SendReceipt, Transport};

/// How long dropping a client waits for queued events to be sent.
const DROP_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(2);

/// Errors from starting a [`Client`].
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server URL is not an absolute `http` or `https` URL.
    #[error("invalid server url {url:?}: {reason}")]
    InvalidServerUrl {
        /// The URL as given.
        url: String,
        /// Reason the URL cannot be used.
        reason: String,
    },
    /// The default agent id is blank or longer than the collector accepts.
    #[error("invalid agent id: {0}")]
    InvalidAgentId(String),
    /// The API key contains a character that an HTTP header cannot carry.
    #[error("invalid api key: it contains a control character such as a line break")]
    InvalidApiKey,
    /// reqwest could not build its HTTP client.
    #[error("failed to build the http client: {0}")]
    HttpClient(String),
    /// The tokio runtime for the background thread could not be created.
    #[error("failed to create the client's async runtime")]
    Runtime(#[source] std::io::Error),
    /// The operating system refused to start the background thread.
    #[error("failed to start the client's background thread")]
    SpawnThread(#[source] std::io::Error),
}

/// Waits of a client's delivery caused by the collector's rate limit, from
/// [`Client::rate_limit_waits`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimitWaits {
    /// Waits before a retry that began because the collector returned 429.
    pub count: u64,
    /// Length of the latest of those waits; zero when there was none.
    pub latest: Duration,
}

/// An event that the collector rejected because it already stores a different event under
/// the same id, from [`Client::id_conflicts`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdConflict {
    /// The event's id.
    pub id: Option<String>,
    /// The collector's message, which names the first field that differs.
    pub message: String,
}

/// Events of a client that the collector rejected because of their ids, from
/// [`Client::id_conflicts`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdConflicts {
    /// All such events, also counted by [`Client::failed`].
    pub total: u64,
    /// The first 1,000 of them.
    pub listed: Vec<IdConflict>,
}

/// A handle that queues events for a collector. The [module docs](self) describe how
/// events move from here to the network.
///
/// The client is `Send + Sync`, so threads can share it by reference or in an `Arc`.
pub struct Client {
    queue: Queue,
    stats: Arc<Stats>,
    agent_id: String,
    deadline: DeadlineHandle,
    worker: Mutex<Option<thread::JoinHandle<()>>>,
    wait_on_drop: bool,
    /// The process that started the background thread, which a forked child lacks.
    process_id: u32,
}

impl Client {
    /// Creates options for a client that sends to `server_url`, with the other settings
    /// taken from the environment or the defaults (see [`ClientOptions::from_env`]).
    pub fn builder(server_url: impl Into<String>) -> ClientOptions {
        ClientOptions::from_env().server_url(server_url)
    }

    /// Starts the background thread and returns the handle.
    pub(crate) fn start(options: ClientOptions) -> Result<Client, ClientError> {
        // Every event without an agent id of its own gets this one, and the collector
        // would reject each of them.
        crate::validate::check_agent_id(&options.agent_id).map_err(ClientError::InvalidAgentId)?;
        let transport: Arc<dyn Transport> = match &options.transport {
            Some(transport) => Arc::clone(transport),
            None => Arc::new(HttpTransport::new(&options)?),
        };

        let stats = Arc::new(Stats::default());
        let (queue, receiver) = Queue::new(
            options.queue_capacity,
            options.batch_size,
            Arc::clone(&stats),
        );
        let delivery = Delivery::new(
            transport,
            Arc::clone(&stats),
            options.max_retries,
            options.retry_backoff,
        );
        let deadline = delivery.deadline_handle();
        let batcher = Batcher::new(
            receiver,
            delivery,
            options.flush_interval,
            options.agent_id.clone(),
        );

        // The runtime is built here so that a failure reaches the caller as an error.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(ClientError::Runtime)?;
        let worker = thread::Builder::new()
            .name("agentlens-client".to_owned())
            .spawn(move || {
                runtime.block_on(batcher.run());
                // Idle pooled connections and DNS lookups must not hold up the exit.
                runtime.shutdown_background();
            })
            .map_err(ClientError::SpawnThread)?;

        tracing::debug!(
            server.url = %options.server_url,
            batch.size = options.batch_size,
            queue.capacity = options.queue_capacity,
            "client started"
        );
        Ok(Client {
            queue,
            stats,
            agent_id: options.agent_id,
            deadline,
            worker: Mutex::new(Some(worker)),
            wait_on_drop: options.wait_on_drop,
            process_id: std::process::id(),
        })
    }

    /// Queues an event without blocking and without I/O.
    ///
    /// Fills in what the event lacks: a ULID as [`Event::id`], the current time as its
    /// timestamp, and the client's agent id when `agent_id` is empty. When the queue is
    /// full or the client was shut down, the event is dropped and counted in
    /// [`Client::dropped`].
    pub fn log(&self, mut event: Event) {
        if event.id.is_none() || event.timestamp.is_none() {
            // One clock read serves both, so the id's time and the timestamp agree to the
            // millisecond and the call pays for one read instead of two.
            let now = SystemTime::now();
            if event.id.is_none() {
                event.id = Some(Ulid::from_datetime(now).to_string());
            }
            if event.timestamp.is_none() {
                event.timestamp = Some(DateTime::<Utc>::from(now));
            }
        }
        if event.agent_id.is_empty() {
            event.agent_id.clone_from(&self.agent_id);
        }
        self.queue.push(QueuedEvent::Event(event));
    }

    /// Queues a `cost_tracked` event for one model call, like [`Client::log`].
    ///
    /// The event's agent id is `cost.agent_id`, or the client's when that is `None` or
    /// empty. The caller's thread only stamps the id and the timestamp, and the
    /// background thread builds the payload.
    ///
    /// The cost is not checked, so this call stays a clock read and a queue push. An
    /// invalid cost is rejected by the collector and counted in [`Client::failed`], and the
    /// rest of its batch is sent a second time. Call [`Client::try_track_cost`] instead for
    /// costs built from input that may be invalid.
    pub fn track_cost(&self, mut cost: CostEvent) {
        let now = SystemTime::now();
        if cost.timestamp.is_none() {
            cost.timestamp = Some(DateTime::<Utc>::from(now));
        }
        let id = Ulid::from_datetime(now);
        self.queue.push(QueuedEvent::Cost { cost, id });
    }

    /// Checks a cost with [`CostEvent::check`], the collector's rules, and queues it like
    /// [`Client::track_cost`] when it passes.
    ///
    /// The check builds no JSON and runs on the caller's thread (`BENCHMARKS.md` records
    /// its cost). Unlike `track_cost`, this rejects an empty `agent_id`, so leave it `None`
    /// to use the client's.
    ///
    /// # Errors
    ///
    /// Returns every violation with its path in the event, such as `payload.costUsd`, and
    /// queues nothing.
    pub fn try_track_cost(&self, cost: CostEvent) -> Result<(), Vec<FieldError>> {
        cost.check()?;
        self.track_cost(cost);
        Ok(())
    }

    /// Sends everything queued so far and waits up to `timeout` for it to be delivered
    /// or given up on.
    ///
    /// Returns the number of events still pending, 0 when everything queued before the
    /// call has been handled and nothing new arrived. The wait blocks the calling thread
    /// but does not need or use the caller's async runtime.
    pub fn flush(&self, timeout: Duration) -> usize {
        if self.is_forked_copy() {
            return self.pending();
        }
        let (done, finished) = std_mpsc::sync_channel(1);
        if !self.queue.command(Command::Flush { done }) {
            return self.pending();
        }

        if finished.recv_timeout(timeout).is_err() {
            tracing::debug!(
                timeout_ms = timeout.as_millis() as u64,
                events.pending = self.pending(),
                "flush timed out"
            );
        }
        self.pending()
    }

    /// Stops accepting events, sends what is queued, and stops the background thread,
    /// waiting up to `timeout`.
    ///
    /// Returns the number of events still pending. Sends that run past the deadline are
    /// abandoned and counted as failed, except a request that started before the
    /// shutdown, which the background thread finishes on its own. Later calls return at
    /// once.
    pub fn shutdown(&self, timeout: Duration) -> usize {
        let Some(worker) = self.take_worker() else {
            return self.pending();
        };

        let finished = self.start_shutdown(timeout);
        let stopped = finished.is_some_and(|finished| finished.recv_timeout(timeout).is_ok());
        if stopped {
            // The thread has signalled `done` and only has to tear its runtime down.
            let _ = worker.join();
        }

        self.report_shutdown(stopped);
        self.pending()
    }

    /// Starts the shutdown like [`Client::shutdown`] and returns without waiting. The
    /// background thread sends what is queued until `timeout` passes, then exits.
    fn shutdown_in_background(&self, timeout: Duration) {
        let Some(worker) = self.take_worker() else {
            return;
        };
        let _ = self.start_shutdown(timeout);
        // Dropping the handle detaches the thread.
        drop(worker);
        tracing::debug!(
            events.pending = self.pending(),
            events.dropped_total = self.dropped(),
            "client dropped; its thread sends the queued events in the background"
        );
    }

    /// Takes the handle of the background thread, once. Returns `None` after a shutdown, and
    /// in a forked child, whose copy of the handle names a thread of the parent.
    fn take_worker(&self) -> Option<thread::JoinHandle<()>> {
        let worker = self
            .worker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()?;
        if self.is_forked_copy() {
            tracing::debug!("client stopped in a forked child, which lacks the background thread");
            // Joining or detaching a thread of another process is undefined, so the
            // handle is leaked.
            std::mem::forget(worker);
            return None;
        }
        Some(worker)
    }

    /// Sends the shutdown command with a deadline `timeout` from now. Returns the channel
    /// that reports the end of the shutdown, or `None` when the thread is gone.
    fn start_shutdown(&self, timeout: Duration) -> Option<std_mpsc::Receiver<()>> {
        let (done, finished) = std_mpsc::sync_channel(1);
        let deadline = Instant::now().checked_add(timeout);
        if let Some(deadline) = deadline {
            // A batch waiting between retries learns of the deadline at once, before the
            // background thread reads the command below.
            self.deadline.set(tokio::time::Instant::from_std(deadline));
        }
        let command = Command::Shutdown { deadline, done };
        self.queue.command(command).then_some(finished)
    }

    /// Returns true in a process forked from the one that built the client.
    fn is_forked_copy(&self) -> bool {
        std::process::id() != self.process_id
    }

    fn report_shutdown(&self, stopped: bool) {
        let dropped = self.dropped();
        if dropped > 0 {
            tracing::warn!(
                events.dropped_total = dropped,
                "client dropped events because its queue was full or closed"
            );
        }
        if !stopped {
            tracing::warn!(
                events.pending = self.pending(),
                "client shutdown timed out with events still pending"
            );
        }
        tracing::debug!(
            events.sent_total = self.sent(),
            events.duplicates_total = self.duplicates(),
            events.failed_total = self.failed(),
            "client shut down"
        );
    }

    /// Returns the agent id used by events that do not name one.
    pub fn agent_id(&self) -> &str {
        &self.agent_id
    }

    /// Returns the number of events the collector accepted, new or already stored.
    pub fn sent(&self) -> u64 {
        self.stats.sent()
    }

    /// Returns the number of sent events whose id the collector had already stored, so
    /// that it stored nothing new for them. `sent() - duplicates()` events were new.
    ///
    /// An event counts here when a previous run or client sent it, and also when this
    /// client's first attempt was stored but its response was lost and the retry found
    /// the event stored. Collectors that do not report duplicates, such as upstream
    /// AgentLens, leave this at 0.
    pub fn duplicates(&self) -> u64 {
        self.stats.duplicates()
    }

    /// Returns the number of events dropped because the queue was full or closed.
    pub fn dropped(&self) -> u64 {
        self.stats.dropped()
    }

    /// Returns the number of events given up on after failed sends.
    pub fn failed(&self) -> u64 {
        self.stats.failed()
    }

    /// Returns why the latest failed batch failed, for a warning to the user: the HTTP
    /// status and the collector's error message, such as `status 401: Invalid API key`,
    /// or the connection error. Returns `None` while no batch has failed.
    pub fn last_failure(&self) -> Option<String> {
        self.stats.last_failure()
    }

    /// Returns the number of events queued or in flight.
    pub fn pending(&self) -> usize {
        self.stats.pending()
    }

    /// Returns the events that the collector rejected because it already stores different
    /// events under their ids (409). Delivery sends the rest of their batches again, so
    /// only these events fail.
    pub fn id_conflicts(&self) -> IdConflicts {
        self.stats.id_conflicts()
    }

    /// Returns how often delivery waited before a retry because the collector returned
    /// 429 (rate limit exceeded), and how long the latest of those waits was.
    pub fn rate_limit_waits(&self) -> RateLimitWaits {
        let (count, latest) = self.stats.rate_limit_waits();
        RateLimitWaits { count, latest }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if self.wait_on_drop {
            self.shutdown(DROP_SHUTDOWN_TIMEOUT);
        } else {
            self.shutdown_in_background(DROP_SHUTDOWN_TIMEOUT);
        }
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Client")
            .field("agent_id", &self.agent_id)
            .field("sent", &self.sent())
            .field("duplicates", &self.duplicates())
            .field("dropped", &self.dropped())
            .field("failed", &self.failed())
            .field("pending", &self.pending())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
