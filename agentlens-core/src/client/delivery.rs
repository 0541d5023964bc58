//! Delivery of one batch: retries with exponential backoff, halving on 413, and the
//! sent, duplicate and failed counters.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::watch;
use tokio::time::Instant;

use super::queue::Stats;
use super::transport::{SendError, SendReceipt, Transport};
use crate::event::Event;

/// Maximum delay between two attempts computed from the backoff.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Maximum wait that a `Retry-After` sets before a retry.
///
/// The collector's rate limit window is 60 s, so its own `Retry-After` is at most 60. A
/// larger value comes from a proxy or a misconfigured server. While a batch waits, no
/// other batch is sent and the queue fills, so a longer value is cut to this bound, and the
/// early retry risks one more 429. The bound also keeps `Instant::now() + delay` from
/// overflowing for values such as `u64::MAX` seconds.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);
/// Largest share of the backoff that jitter removes from a wait, as a divisor (a quarter).
const JITTER_DIVISOR: u32 = 4;

/// Handle that sets the shutdown deadline of a [`Delivery`], also while that delivery is
/// busy with a batch, so a shutdown cuts short a wait between retries.
#[derive(Clone)]
pub(crate) struct DeadlineHandle(Arc<watch::Sender<Option<Instant>>>);

impl DeadlineHandle {
    /// Limits every later attempt to end by `deadline`, and ends a wait between retries
    /// that would last past it.
    pub(crate) fn set(&self, deadline: Instant) {
        self.0.send_replace(Some(deadline));
    }
}

/// Sends batches through a [`Transport`] and records how each one ended.
pub(crate) struct Delivery {
    transport: Arc<dyn Transport>,
    stats: Arc<Stats>,
    max_retries: u32,
    retry_backoff: Duration,
    /// Sender half of `deadline`, handed out by [`Delivery::deadline_handle`].
    deadline_handle: DeadlineHandle,
    /// Deadline set by a shutdown. No attempt starts or runs past it.
    deadline: watch::Receiver<Option<Instant>>,
    /// True after a batch failed and until one succeeds, so that an outage logs one
    /// warning instead of one per batch.
    failing: bool,
}

impl Delivery {
    pub(crate) fn new(
        transport: Arc<dyn Transport>,
        stats: Arc<Stats>,
        max_retries: u32,
        retry_backoff: Duration,
    ) -> Self {
        let (sender, deadline) = watch::channel(None);
        Delivery {
            transport,
            stats,
            max_retries,
            retry_backoff,
            deadline_handle: DeadlineHandle(Arc::new(sender)),
            deadline,
            failing: false,
        }
    }

    /// Returns a handle that sets the deadline from outside the task that delivers.
    pub(crate) fn deadline_handle(&self) -> DeadlineHandle {
        self.deadline_handle.clone()
    }

    /// Limits every later attempt to end by `deadline`.
    pub(crate) fn set_deadline(&mut self, deadline: Instant) {
        self.deadline_handle.set(deadline);
    }

    /// Delivers `events`, splitting the batch in halves whenever the collector responds
    /// with 413, until every event was sent or given up on.
    ///
    /// When the collector rejects some events as invalid, or rejects them because it
    /// stores other events under their ids, those are counted as failed and the others are
    /// sent again, so a few bad events cannot sink their whole batch.
    pub(crate) async fn deliver(&mut self, events: &[Event]) {
        // A stack of parts, popped left half first, keeps the events in order.
        let mut parts = vec![events];
        while let Some(part) = parts.pop() {
            match self.send_with_retries(part).await {
                Ok(receipt) => self.record_sent(part.len(), receipt),
                Err(error) if error.is_payload_too_large() && part.len() > 1 => {
                    let (left, right) = part.split_at(part.len() / 2);
                    tracing::debug!(
                        batch.size = part.len(),
                        "collector rejected batch as too large, splitting it"
                    );
                    parts.push(right);
                    parts.push(left);
                }
                Err(error) if rejected_positions(&error).is_some() => {
                    self.deliver_accepted_events(part.to_vec(), error).await;
                }
                Err(error) => self.record_failed(part, &error),
            }
        }
    }

    /// Counts the events named in a 400 or 409 response as failed and sends the others
    /// again.
    ///
    /// The collector names one conflicting id per 409, so this repeats until a send
    /// succeeds or fails for another reason. Each round removes at least one event.
    async fn deliver_accepted_events(&mut self, mut part: Vec<Event>, mut error: SendError) {
        loop {
            let rejected = rejected_positions(&error).unwrap_or_default();
            self.record_id_conflicts(&part, &error);
            let (failed, kept): (Vec<_>, Vec<_>) = part
                .into_iter()
                .enumerate()
                .partition(|(position, _)| rejected.binary_search(position).is_ok());
            let failed: Vec<Event> = failed.into_iter().map(|(_, event)| event).collect();
            part = kept.into_iter().map(|(_, event)| event).collect();

            // A response that names no event of this part would repeat forever.
            if failed.is_empty() {
                self.record_failed(&part, &error);
                return;
            }
            // Each id conflict already logged its own line.
            if error.id_conflicts().is_some() {
                self.stats
                    .record_failed(failed.len(), failure_reason(&error));
            } else {
                self.record_failed(&failed, &error);
            }
            if part.is_empty() {
                return;
            }

            tracing::debug!(
                batch.size = part.len(),
                "collector rejected part of a batch, resending the other events"
            );
            error = match self.send_with_retries(&part).await {
                Ok(receipt) => return self.record_sent(part.len(), receipt),
                Err(next) if rejected_positions(&next).is_some() => next,
                Err(next) => return self.record_failed(&part, &next),
            };
        }
    }

    /// Records and logs the id and the collector's message for each event of `part` that
    /// a 409 `error` names.
    fn record_id_conflicts(&self, part: &[Event], error: &SendError) {
        let conflicts = error.id_conflicts().unwrap_or_default();
        for (position, message) in conflicts {
            let Some(event) = part.get(*position) else {
                continue;
            };
            tracing::warn!(
                event.id = event.id.as_deref(),
                %message,
                "collector stores another event under this id, event not sent"
            );
            self.stats.record_id_conflict(event.id.as_deref(), message);
        }
    }

    async fn send_with_retries(&self, events: &[Event]) -> Result<SendReceipt, SendError> {
        let mut attempt: u32 = 0;
        loop {
            let error = match self.send_once(events).await {
                Ok(receipt) => return Ok(receipt),
                Err(error) => error,
            };
            if !error.is_retryable() || attempt >= self.max_retries {
                return Err(error);
            }

            let delay = self.delay_before_retry(attempt, &error);
            let wake = Instant::now() + delay;
            if self.ends_after_deadline(wake) {
                tracing::debug!(
                    batch.size = events.len(),
                    retry.delay_ms = delay.as_millis() as u64,
                    %error,
                    "retry would start after the shutdown deadline, giving up the batch"
                );
                return Err(error);
            }
            attempt += 1;
            tracing::debug!(
                batch.size = events.len(),
                retry.attempt = attempt,
                retry.delay_ms = delay.as_millis() as u64,
                %error,
                "sending batch failed, retrying"
            );
            if error.is_rate_limited() {
                self.stats.record_rate_limit_wait(delay);
            }
            if !self.sleep_until_unless_deadline(wake).await {
                return Err(error);
            }
        }
    }

    fn ends_after_deadline(&self, wake: Instant) -> bool {
        self.deadline
            .borrow()
            .is_some_and(|deadline| wake >= deadline)
    }

    /// Waits until `wake` and returns true, or returns false as soon as a deadline set
    /// during the wait falls before `wake`.
    async fn sleep_until_unless_deadline(&self, wake: Instant) -> bool {
        let mut deadline = self.deadline.clone();
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(wake) => return true,
                changed = deadline.changed() => {
                    // `self` owns the sender, so `changed` cannot fail while this runs.
                    if changed.is_ok() && self.ends_after_deadline(wake) {
                        return false;
                    }
                }
            }
        }
    }

    async fn send_once(&self, events: &[Event]) -> Result<SendReceipt, SendError> {
        let deadline = *self.deadline.borrow();
        let Some(deadline) = deadline else {
            return self.transport.send(events).await;
        };
        if Instant::now() >= deadline {
            return Err(SendError::DeadlinePassed);
        }
        tokio::time::timeout_at(deadline, self.transport.send(events))
            .await
            .unwrap_or(Err(SendError::DeadlinePassed))
    }

    /// Computes the wait before retry number `attempt + 1`: the jittered backoff, or the
    /// collector's `Retry-After` (at most [`MAX_RETRY_AFTER`]) when that is longer.
    fn delay_before_retry(&self, attempt: u32, error: &SendError) -> Duration {
        let backoff = backoff(self.retry_backoff, attempt);
        let jitter = rand::rng().random_range(Duration::ZERO..=backoff / JITTER_DIVISOR);
        let requested = error.retry_after().unwrap_or_default().min(MAX_RETRY_AFTER);
        (backoff - jitter).max(requested)
    }

    /// Counts `count` delivered events, the receipt's duplicates among them. A receipt that
    /// reports more duplicates than events sent is capped, so duplicates never exceed sent.
    fn record_sent(&mut self, count: usize, receipt: SendReceipt) {
        let duplicates = receipt.duplicates.min(count as u64);
        self.stats.record_sent(count, duplicates);
        if self.failing {
            self.failing = false;
            tracing::info!(batch.size = count, "sending to the collector works again");
        }
    }

    fn record_failed(&mut self, events: &[Event], error: &SendError) {
        self.stats
            .record_failed(events.len(), failure_reason(error));

        let first_id = events.first().and_then(|event| event.id.as_deref());
        if self.failing {
            tracing::debug!(
                batch.size = events.len(),
                batch.first_id = first_id,
                %error,
                "failed to send batch, events lost"
            );
        } else {
            self.failing = true;
            tracing::warn!(
                batch.size = events.len(),
                batch.first_id = first_id,
                %error,
                "failed to send batch, events lost"
            );
        }
    }
}

/// Returns the ascending positions of the events that the collector named in a 400
/// (invalid) or 409 (id already used) response, or `None` for any other error.
fn rejected_positions(error: &SendError) -> Option<Vec<usize>> {
    if let Some(positions) = error.rejected_events() {
        return Some(positions.to_vec());
    }
    let conflicts = error.id_conflicts()?;
    Some(conflicts.iter().map(|(position, _)| *position).collect())
}

/// Describes a failed send in one line for the warnings of the language clients: the
/// status and the collector's `error` message, with the first violation of a rejected
/// event, such as `status 400: Validation failed (events.0.sessionId: ...)`.
fn failure_reason(error: &SendError) -> String {
    let (status, body) = match error {
        SendError::Status { status, body, .. } => (*status, body),
        SendError::Rejected { body, .. } => (400, body),
        other => return other.to_string(),
    };
    let Ok(response) = serde_json::from_str::<serde_json::Value>(body) else {
        return format!("status {status}: {body}");
    };
    let message = response["error"].as_str().unwrap_or(body);
    let detail = &response["details"][0];
    match (detail["path"].as_str(), detail["message"].as_str()) {
        (Some(path), Some(detail)) => format!("status {status}: {message} ({path}: {detail})"),
        _ => format!("status {status}: {message}"),
    }
}

/// Returns `retry_backoff * 2^attempt` capped at [`MAX_BACKOFF`], the wait before jitter.
fn backoff(retry_backoff: Duration, attempt: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempt);
    retry_backoff.saturating_mul(factor).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use proptest::prelude::*;

    use super::*;
    use crate::client::options::{DEFAULT_MAX_RETRIES, DEFAULT_RETRY_BACKOFF};
    use crate::client::transport::SendFuture;
    use crate::event::EventType;

    /// Returns `failures` first, then 413 for batches over `limit`, and records the
    /// accepted batches. Like the collector, it reports events whose id it accepted
    /// before as duplicates.
    struct ScriptedTransport {
        limit: usize,
        failures: Mutex<Vec<SendError>>,
        accepted: Mutex<Vec<Vec<Event>>>,
        attempts: Mutex<usize>,
    }

    impl ScriptedTransport {
        fn new(limit: usize, failures: Vec<SendError>) -> Arc<Self> {
            Arc::new(ScriptedTransport {
                limit,
                failures: Mutex::new(failures),
                accepted: Mutex::default(),
                attempts: Mutex::default(),
            })
        }

        fn accepted_ids(&self) -> Vec<String> {
            let accepted = self.accepted.lock().unwrap();
            accepted
                .iter()
                .flatten()
                .map(|event| event.id.clone().unwrap())
                .collect()
        }
    }

    impl Transport for ScriptedTransport {
        fn send<'a>(&'a self, events: &'a [Event]) -> SendFuture<'a> {
            Box::pin(async move {
                *self.attempts.lock().unwrap() += 1;
                if let Some(error) = self.failures.lock().unwrap().pop() {
                    return Err(error);
                }
                if events.len() > self.limit {
                    return Err(status(413));
                }
                let mut accepted = self.accepted.lock().unwrap();
                let seen = |event: &&Event| accepted.iter().flatten().any(|old| old.id == event.id);
                let duplicates = events.iter().filter(seen).count();
                accepted.push(events.to_vec());
                Ok(SendReceipt {
                    ingested: (events.len() - duplicates) as u64,
                    duplicates: duplicates as u64,
                })
            })
        }
    }

    fn status(code: u16) -> SendError {
        SendError::Status {
            status: code,
            body: format!("{{\"error\":\"status {code}\"}}"),
            retry_after: None,
        }
    }

    fn events(count: usize) -> Vec<Event> {
        (0..count)
            .map(|index| {
                let mut event = Event::new("ses", "agent", EventType::Custom, Default::default());
                event.id = Some(format!("{index:05}"));
                event
            })
            .collect()
    }

    fn delivery(transport: Arc<ScriptedTransport>, stats: &Arc<Stats>) -> Delivery {
        Delivery::new(transport, Arc::clone(stats), 3, Duration::from_millis(1))
    }

    fn run<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(future)
    }

    /// Marks `count` events as pending, as the queue does when it accepts them.
    fn stats_with_pending(count: usize) -> Arc<Stats> {
        let stats = Arc::new(Stats::default());
        let (queue, receiver) =
            crate::client::queue::Queue::new(count.max(1), 1000, Arc::clone(&stats));
        for event in events(count) {
            queue.push(crate::client::queue::QueuedEvent::Event(event));
        }
        drop(receiver);
        stats
    }

    #[test]
    fn transient_failures_are_retried() {
        let transport = ScriptedTransport::new(1000, vec![status(503), SendError::Timeout]);
        let stats = stats_with_pending(4);

        run(delivery(Arc::clone(&transport), &stats).deliver(&events(4)));

        assert_eq!(*transport.attempts.lock().unwrap(), 3);
        assert_eq!(transport.accepted_ids().len(), 4);
        assert_eq!(stats.sent(), 4);
        assert_eq!(stats.failed(), 0);
    }

    #[test]
    fn rate_limit_waits_are_counted() {
        let rate_limited = SendError::Status {
            status: 429,
            body: String::new(),
            retry_after: Some(Duration::from_millis(1200)),
        };
        let transport = ScriptedTransport::new(1000, vec![status(503), rate_limited]);
        let stats = stats_with_pending(2);

        run(delivery(Arc::clone(&transport), &stats).deliver(&events(2)));

        assert_eq!(stats.sent(), 2);
        let (count, latest) = stats.rate_limit_waits();
        assert_eq!(count, 1, "the 503 retry is not a rate limit wait");
        assert!(latest >= Duration::from_millis(1200), "{latest:?}");
    }

    #[test]
    fn resent_events_count_as_duplicates() {
        let transport = ScriptedTransport::new(3, Vec::new());
        let stats = stats_with_pending(10);
        let mut delivery = delivery(Arc::clone(&transport), &stats);
        let batch = events(5);

        run(async {
            delivery.deliver(&batch[..2]).await;
            delivery.deliver(&batch).await;
        });

        assert_eq!(stats.sent(), 7);
        assert_eq!(stats.duplicates(), 2);
        assert_eq!(stats.failed(), 0);
    }

    #[test]
    fn duplicates_never_exceed_sent() {
        struct Overcounting;
        impl Transport for Overcounting {
            fn send<'a>(&'a self, _events: &'a [Event]) -> SendFuture<'a> {
                let receipt = SendReceipt {
                    ingested: 0,
                    duplicates: 50,
                };
                Box::pin(std::future::ready(Ok(receipt)))
            }
        }
        let stats = stats_with_pending(3);
        let mut delivery = Delivery::new(
            Arc::new(Overcounting),
            Arc::clone(&stats),
            0,
            Duration::from_millis(1),
        );

        run(delivery.deliver(&events(3)));

        assert_eq!(stats.sent(), 3);
        assert_eq!(stats.duplicates(), 3);
    }

    #[test]
    fn retries_stop_at_max_retries() {
        let failures = vec![status(500); 10];
        let transport = ScriptedTransport::new(1000, failures);
        let stats = stats_with_pending(2);

        run(delivery(Arc::clone(&transport), &stats).deliver(&events(2)));

        assert_eq!(*transport.attempts.lock().unwrap(), 4);
        assert_eq!(stats.failed(), 2);
        assert_eq!(stats.pending(), 0);
    }

    #[test]
    fn client_error_is_not_retried() {
        let transport = ScriptedTransport::new(1000, vec![status(400)]);
        let stats = stats_with_pending(3);

        run(delivery(Arc::clone(&transport), &stats).deliver(&events(3)));

        assert_eq!(*transport.attempts.lock().unwrap(), 1);
        assert_eq!(stats.failed(), 3);
    }

    /// Returns 409 for batches that contain an id of `taken`, naming the first such event
    /// only, as the collector does, and accepts other batches.
    struct TakenIds {
        taken: Vec<String>,
        accepted: Mutex<Vec<String>>,
    }

    impl Transport for TakenIds {
        fn send<'a>(&'a self, events: &'a [Event]) -> SendFuture<'a> {
            Box::pin(async move {
                let ids: Vec<String> = events.iter().map(|e| e.id.clone().unwrap()).collect();
                if let Some(position) = ids.iter().position(|id| self.taken.contains(id)) {
                    let message = format!("id {:?} is already used", ids[position]);
                    let body = serde_json::json!({
                        "details": [{"path": format!("events.{position}.id"), "message": message}],
                    });
                    let conflicts = vec![(position, message)];
                    let body = body.to_string();
                    return Err(SendError::IdConflict { conflicts, body });
                }
                self.accepted.lock().unwrap().extend(ids);
                Ok(SendReceipt::all_new(events.len()))
            })
        }
    }

    #[test]
    fn conflicting_ids_fail_without_their_batch() {
        let transport = Arc::new(TakenIds {
            taken: vec!["00001".to_owned(), "00003".to_owned()],
            accepted: Mutex::default(),
        });
        let stats = stats_with_pending(5);
        let mut delivery = Delivery::new(
            Arc::clone(&transport) as Arc<dyn Transport>,
            Arc::clone(&stats),
            3,
            Duration::from_millis(1),
        );

        run(delivery.deliver(&events(5)));

        assert_eq!(
            *transport.accepted.lock().unwrap(),
            ["00000", "00002", "00004"]
        );
        assert_eq!(stats.sent(), 3);
        assert_eq!(stats.failed(), 2);
        assert_eq!(stats.pending(), 0);
        let conflicts = stats.id_conflicts();
        assert_eq!(conflicts.total, 2);
        let ids: Vec<_> = conflicts.listed.iter().map(|c| c.id.as_deref()).collect();
        assert_eq!(ids, [Some("00001"), Some("00003")]);
        assert_eq!(conflicts.listed[1].message, r#"id "00003" is already used"#);
    }

    #[test]
    fn failure_reason_names_status_and_collector_message() {
        for code in [400, 401, 403] {
            let transport = ScriptedTransport::new(1000, vec![status(code)]);
            let stats = stats_with_pending(1);

            run(delivery(Arc::clone(&transport), &stats).deliver(&events(1)));

            let expected = format!("status {code}: status {code}");
            assert_eq!(stats.last_failure().as_deref(), Some(expected.as_str()));
        }
    }

    #[test]
    fn failure_reason_quotes_first_rejected_field() {
        let body = r#"{"error":"Validation failed","details":[
            {"path":"events.0.agentId","message":"agentId must not be empty"}]}"#;
        let error = SendError::Rejected {
            positions: vec![0],
            body: body.to_owned(),
        };

        assert_eq!(
            failure_reason(&error),
            "status 400: Validation failed (events.0.agentId: agentId must not be empty)"
        );
    }

    #[test]
    fn single_event_over_limit_fails() {
        let transport = ScriptedTransport::new(0, Vec::new());
        let stats = stats_with_pending(1);

        run(delivery(Arc::clone(&transport), &stats).deliver(&events(1)));

        assert_eq!(stats.failed(), 1);
        assert_eq!(stats.sent(), 0);
    }

    #[test]
    fn passed_deadline_fails_without_sending() {
        let transport = ScriptedTransport::new(1000, Vec::new());
        let stats = stats_with_pending(2);
        let mut delivery = delivery(Arc::clone(&transport), &stats);

        run(async {
            delivery.set_deadline(Instant::now());
            delivery.deliver(&events(2)).await;
        });

        assert_eq!(stats.failed(), 2);
        assert!(transport.accepted_ids().is_empty());
    }

    #[test]
    fn backoff_doubles_up_to_cap() {
        let base = Duration::from_millis(100);

        assert_eq!(backoff(base, 0), Duration::from_millis(100));
        assert_eq!(backoff(base, 2), Duration::from_millis(400));
        assert_eq!(backoff(base, 20), MAX_BACKOFF);
        assert_eq!(backoff(base, u32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn jitter_shortens_wait_by_at_most_a_quarter() {
        let transport = ScriptedTransport::new(1000, Vec::new());
        let delivery = Delivery::new(transport, Arc::default(), 3, Duration::from_millis(100));

        for attempt in [0, 2, 20] {
            let nominal = backoff(Duration::from_millis(100), attempt);
            let delays: Vec<Duration> = (0..200)
                .map(|_| delivery.delay_before_retry(attempt, &SendError::Timeout))
                .collect();

            assert!(delays.iter().all(|delay| *delay <= nominal), "{delays:?}");
            assert!(
                delays.iter().all(|delay| *delay >= nominal * 3 / 4),
                "{delays:?}"
            );
            assert!(delays.iter().any(|delay| *delay != delays[0]), "no jitter");
        }
    }

    #[test]
    fn retry_after_is_honoured_without_jitter() {
        let transport = ScriptedTransport::new(1000, Vec::new());
        let delivery = Delivery::new(transport, Arc::default(), 3, Duration::from_millis(100));
        let throttled = |seconds| SendError::Status {
            status: 429,
            body: String::new(),
            retry_after: Some(Duration::from_secs(seconds)),
        };

        assert_eq!(
            delivery.delay_before_retry(0, &throttled(2)),
            Duration::from_secs(2)
        );
        assert_eq!(
            delivery.delay_before_retry(0, &throttled(3600)),
            MAX_RETRY_AFTER
        );
        assert_eq!(
            delivery.delay_before_retry(0, &throttled(u64::MAX)),
            MAX_RETRY_AFTER
        );
    }

    #[test]
    fn retry_after_above_ten_seconds_is_not_cut() {
        let transport = ScriptedTransport::new(1000, Vec::new());
        let delivery = Delivery::new(transport, Arc::default(), 3, Duration::from_millis(100));
        let throttled = SendError::Status {
            status: 429,
            body: String::new(),
            retry_after: Some(Duration::from_secs(60)),
        };

        let delay = delivery.delay_before_retry(0, &throttled);

        // The collector's window is 60 s, so an earlier retry would only get another 429.
        assert_eq!(delay, Duration::from_secs(60));
    }

    #[test]
    fn retry_after_past_deadline_fails_without_waiting() {
        let rate_limited = SendError::Status {
            status: 429,
            body: String::new(),
            retry_after: Some(Duration::from_secs(60)),
        };
        let transport = ScriptedTransport::new(1000, vec![rate_limited]);
        let stats = stats_with_pending(2);
        let mut delivery = delivery(Arc::clone(&transport), &stats);

        let started = std::time::Instant::now();
        run(async {
            delivery.set_deadline(Instant::now() + Duration::from_secs(30));
            delivery.deliver(&events(2)).await;
        });

        // Waiting out the 60 s would pass the 30 s deadline, so the batch fails at once. The
        // 25 s bound leaves a wide margin on a busy machine.
        assert!(
            started.elapsed() < Duration::from_secs(25),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(*transport.attempts.lock().unwrap(), 1);
        assert_eq!(stats.failed(), 2);
        assert_eq!(stats.sent(), 0);
        assert_eq!(stats.rate_limit_waits().0, 0, "no wait was started");
    }

    #[test]
    fn default_retries_outlast_collector_restart() {
        let waits = (0..DEFAULT_MAX_RETRIES).map(|attempt| backoff(DEFAULT_RETRY_BACKOFF, attempt));
        let longest: Duration = waits.clone().sum();
        let shortest: Duration = waits.map(|wait| wait - wait / JITTER_DIVISOR).sum();

        assert!(shortest >= Duration::from_secs(15), "{shortest:?}");
        assert!(longest <= Duration::from_secs(30), "{longest:?}");
    }

    #[test]
    fn deadline_ends_wait_between_retries() {
        let transport = ScriptedTransport::new(1000, vec![status(503); 2]);
        let stats = stats_with_pending(2);
        let mut delivery = Delivery::new(
            Arc::clone(&transport) as Arc<dyn Transport>,
            Arc::clone(&stats),
            3,
            MAX_BACKOFF,
        );
        let handle = delivery.deadline_handle();
        let batch = events(2);

        let started = std::time::Instant::now();
        run(async {
            let shutdown = async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                handle.set(Instant::now() + Duration::from_millis(100));
            };
            tokio::join!(delivery.deliver(&batch), shutdown);
        });

        // Without the deadline the first retry would come after 3.75 to 5 s and fail again.
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(*transport.attempts.lock().unwrap(), 1);
        assert_eq!(stats.failed(), 2);
        assert_eq!(stats.pending(), 0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn splitting_delivers_every_event_once_in_order(count in 1usize..2500, limit in 1usize..1000) {
            let transport = ScriptedTransport::new(limit, Vec::new());
            let stats = stats_with_pending(count);
            let batch = events(count);

            run(delivery(Arc::clone(&transport), &stats).deliver(&batch));

            let expected: Vec<String> = batch.iter().map(|event| event.id.clone().unwrap()).collect();
            prop_assert_eq!(transport.accepted_ids(), expected);
            prop_assert!(transport.accepted.lock().unwrap().iter().all(|part| part.len() <= limit));
            prop_assert_eq!(stats.sent(), count as u64);
            prop_assert_eq!(stats.pending(), 0);
        }
    }
}
