//! The bounded queue between the caller's threads and the background batcher, and the
//! counters both sides update.
//!
//! Events wait in batches behind one mutex. New events join the filling batch, and when it
//! contains `batch_size` events it moves to a list of full batches. A push wakes the
//! batcher only when the queue goes from empty to non-empty, so that the batcher starts
//! its flush timer, and when a batch fills. Every other push is a short critical section
//! with no system call, which keeps the caller's cost low and steady. The batcher takes
//! whole batches by moving a `Vec`, so it holds the lock for a constant time whatever the
//! batch size, and hands the emptied vectors back so that callers rarely allocate one.

use std::collections::VecDeque;
use std::mem;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc as std_mpsc, Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, Notify};

use super::{IdConflict, IdConflicts};

pub(crate) use queued::QueuedEvent;

pub(crate) mod batcher;
mod queued;

/// Maximum number of emptied batch vectors kept for reuse. A few cover the batches that
/// fill while one is sent, and more would only hold memory after a burst.
const MAX_SPARE_BATCHES: usize = 4;

/// Number of id conflicts that [`Stats`] keeps with their id and message. The total counts
/// them all.
pub(crate) const MAX_LISTED_ID_CONFLICTS: usize = 1000;

/// Requests from the caller's threads to the batcher. They travel on their own unbounded
/// channel, so a full event queue never rejects a flush or a shutdown.
#[derive(Debug)]
pub(crate) enum Command {
    /// Sends everything queued so far, then signals `done`.
    Flush { done: std_mpsc::SyncSender<()> },
    /// Stops accepting events, sends what is queued until `deadline` (none when the
    /// caller's timeout overflows an `Instant`), signals `done` and ends the batcher.
    Shutdown {
        deadline: Option<Instant>,
        done: std_mpsc::SyncSender<()>,
    },
}

/// Counters shared by the client handle and the batcher.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    sent: AtomicU64,
    /// Sent events whose id the collector had already stored.
    duplicates: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
    /// Events accepted into the queue whose delivery has not ended yet, queued or in flight.
    pending: AtomicUsize,
    warned_full: AtomicBool,
    /// Waits before a retry that began because the collector returned 429.
    rate_limit_waits: AtomicU64,
    /// Length of the latest of those waits, in milliseconds.
    last_rate_limit_wait_ms: AtomicU64,
    /// Failed events whose ids the collector already used for other events.
    id_conflicts: Mutex<IdConflicts>,
    /// Reason of the latest failed batch, as [`Stats::last_failure`] returns it.
    last_failure: Mutex<Option<String>>,
}

impl Stats {
    pub(crate) fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    pub(crate) fn duplicates(&self) -> u64 {
        self.duplicates.load(Ordering::Relaxed)
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    pub(crate) fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    pub(crate) fn pending(&self) -> usize {
        self.pending.load(Ordering::Acquire)
    }

    /// Records that `count` events reached the collector, `duplicates` of them already
    /// stored there.
    pub(crate) fn record_sent(&self, count: usize, duplicates: u64) {
        self.sent.fetch_add(count as u64, Ordering::Relaxed);
        self.duplicates.fetch_add(duplicates, Ordering::Relaxed);
        // Decremented last, so a caller that sees no pending events reads final counts.
        self.pending.fetch_sub(count, Ordering::AcqRel);
    }

    /// Records that delivery waits `delay` before a retry because the collector returned
    /// 429.
    pub(crate) fn record_rate_limit_wait(&self, delay: Duration) {
        let millis = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.last_rate_limit_wait_ms
            .store(millis, Ordering::Relaxed);
        // Incremented last, so a reader that sees the new count reads this wait's length.
        self.rate_limit_waits.fetch_add(1, Ordering::Release);
    }

    /// Returns the number of rate limit waits so far and the length of the latest.
    pub(crate) fn rate_limit_waits(&self) -> (u64, Duration) {
        let count = self.rate_limit_waits.load(Ordering::Acquire);
        let millis = self.last_rate_limit_wait_ms.load(Ordering::Relaxed);
        (count, Duration::from_millis(millis))
    }

    /// Records that the collector rejected the event `id` because it stores another event
    /// under that id, and keeps the first [`MAX_LISTED_ID_CONFLICTS`] of them with
    /// `message`. The caller counts the event as failed as well.
    pub(crate) fn record_id_conflict(&self, id: Option<&str>, message: &str) {
        let mut conflicts = self
            .id_conflicts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        conflicts.total += 1;
        if conflicts.listed.len() < MAX_LISTED_ID_CONFLICTS {
            conflicts.listed.push(IdConflict {
                id: id.map(str::to_owned),
                message: message.to_owned(),
            });
        }
    }

    pub(crate) fn id_conflicts(&self) -> IdConflicts {
        self.id_conflicts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Returns the reason of the latest failed batch, such as `status 401: Invalid API key`,
    /// or `None` before the first failure.
    pub(crate) fn last_failure(&self) -> Option<String> {
        let guard = self.last_failure.lock();
        guard.unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Records that `count` events were given up on because of `reason`.
    pub(crate) fn record_failed(&self, count: usize, reason: String) {
        // Stored first, so a caller that sees the new count reads this reason.
        *self
            .last_failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(reason);
        self.failed.fetch_add(count as u64, Ordering::Relaxed);
        self.pending.fetch_sub(count, Ordering::AcqRel);
    }
}

/// An event the queue did not accept, with the reason.
enum Rejected {
    Full(QueuedEvent),
    Closed(QueuedEvent),
}

/// The queued events, guarded by [`Shared::batches`].
#[derive(Debug, Default)]
struct Batches {
    /// Batches of exactly `batch_size` events, oldest first.
    full: VecDeque<Vec<QueuedEvent>>,
    /// The batch that new events join. It has no allocation until the first push after
    /// it was taken.
    filling: Vec<QueuedEvent>,
    /// Number of events in `full` and `filling`.
    len: usize,
    /// True once the batcher stopped taking events.
    closed: bool,
    /// Emptied batch vectors, kept so that a new filling batch needs no allocation.
    spare: Vec<Vec<QueuedEvent>>,
}

impl Batches {
    /// Appends `event`. Returns whether the batcher has to be woken.
    #[expect(
        clippy::result_large_err,
        reason = "a rejected event comes back so that it is dropped after the lock is \
                  released, and boxing it would allocate on the drop path"
    )]
    fn push(
        &mut self,
        event: QueuedEvent,
        capacity: usize,
        batch_size: usize,
    ) -> Result<bool, Rejected> {
        if self.closed {
            return Err(Rejected::Closed(event));
        }
        if self.len >= capacity {
            return Err(Rejected::Full(event));
        }

        if self.filling.capacity() == 0 {
            self.filling = self
                .spare
                .pop()
                .unwrap_or_else(|| Vec::with_capacity(batch_size.min(capacity)));
        }
        self.filling.push(event);
        self.len += 1;
        if self.filling.len() < batch_size {
            return Ok(self.len == 1);
        }

        let batch = mem::take(&mut self.filling);
        self.full.push_back(batch);
        Ok(true)
    }
}

/// The state both ends of the queue share.
#[derive(Debug)]
struct Shared {
    batches: Mutex<Batches>,
    /// Wakes the batcher. A notification sent while the batcher is busy is stored and
    /// ends its next wait at once, so none is lost.
    wake: Notify,
    capacity: usize,
    batch_size: usize,
    stats: Arc<Stats>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Batches> {
        // No code panics while holding the lock, and the batches stay consistent if an
        // allocation failure unwinds through it anyway.
        self.batches.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The caller's end of the queue.
#[derive(Debug)]
pub(crate) struct Queue {
    shared: Arc<Shared>,
    commands: mpsc::UnboundedSender<Command>,
}

/// The batcher's end of the queue.
#[derive(Debug)]
pub(crate) struct QueueReceiver {
    pub(crate) events: EventSource,
    pub(crate) commands: mpsc::UnboundedReceiver<Command>,
}

/// The batcher's view of the queued events. Dropping it closes the queue.
#[derive(Debug)]
pub(crate) struct EventSource {
    shared: Arc<Shared>,
}

impl Queue {
    /// Creates a queue with room for `capacity` events, grouped into batches of
    /// `batch_size`.
    pub(crate) fn new(
        capacity: usize,
        batch_size: usize,
        stats: Arc<Stats>,
    ) -> (Queue, QueueReceiver) {
        let shared = Arc::new(Shared {
            batches: Mutex::default(),
            wake: Notify::new(),
            capacity: capacity.max(1),
            batch_size: batch_size.max(1),
            stats,
        });
        let (command_sender, command_receiver) = mpsc::unbounded_channel();
        let queue = Queue {
            shared: Arc::clone(&shared),
            commands: command_sender,
        };
        let receiver = QueueReceiver {
            events: EventSource { shared },
            commands: command_receiver,
        };
        (queue, receiver)
    }

    /// Enqueues an event without waiting, or drops and counts it when the queue is full
    /// or closed.
    pub(crate) fn push(&self, event: QueuedEvent) {
        let shared = &*self.shared;
        let result = {
            let mut batches = shared.lock();
            let result = batches.push(event, shared.capacity, shared.batch_size);
            if result.is_ok() {
                // Counted under the lock, before the batcher can take the event, so that
                // finishing it never makes `pending` wrap below zero.
                shared.stats.pending.fetch_add(1, Ordering::AcqRel);
            }
            result
        };

        match result {
            Ok(true) => shared.wake.notify_one(),
            Ok(false) => {}
            Err(rejected) => self.record_rejected(rejected),
        }
    }

    /// Drops a rejected event outside the lock, counts it, and logs the first drop for a
    /// full queue.
    fn record_rejected(&self, rejected: Rejected) {
        let stats = &self.shared.stats;
        stats.dropped.fetch_add(1, Ordering::Relaxed);
        match rejected {
            Rejected::Full(event) => {
                drop(event);
                if !stats.warned_full.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        queue.capacity = self.shared.capacity,
                        "event queue full, dropping new events until it drains"
                    );
                }
            }
            Rejected::Closed(event) => {
                drop(event);
                tracing::debug!("client shut down, dropping event");
            }
        }
    }

    /// Sends a command to the batcher. Returns false when the batcher has stopped.
    pub(crate) fn command(&self, command: Command) -> bool {
        self.commands.send(command).is_ok()
    }
}

impl EventSource {
    /// Waits until a push wakes the batcher. The wake-up can be spurious, so the caller
    /// checks the queue again afterwards.
    pub(crate) async fn woken(&self) {
        self.shared.wake.notified().await;
    }

    /// Returns true when no event is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.shared.lock().len == 0
    }

    /// Removes and returns the oldest full batch.
    pub(crate) fn pop_full(&self) -> Option<Vec<QueuedEvent>> {
        let mut batches = self.shared.lock();
        let batch = batches.full.pop_front()?;
        batches.len -= batch.len();
        Some(batch)
    }

    /// Removes and returns every queued event, oldest batch first. The last batch may be
    /// partial.
    pub(crate) fn take_all(&self) -> VecDeque<Vec<QueuedEvent>> {
        let (mut all, filling) = {
            let mut batches = self.shared.lock();
            batches.len = 0;
            (
                mem::take(&mut batches.full),
                mem::take(&mut batches.filling),
            )
        };
        if !filling.is_empty() {
            all.push_back(filling);
        }
        all
    }

    /// Empties a delivered batch and keeps its allocation for a later filling batch.
    pub(crate) fn recycle(&self, mut batch: Vec<QueuedEvent>) {
        // The events are dropped before taking the lock, so callers do not wait on it.
        batch.clear();
        if batch.capacity() == 0 {
            return;
        }
        let mut batches = self.shared.lock();
        if batches.spare.len() < MAX_SPARE_BATCHES {
            batches.spare.push(batch);
        }
    }

    /// Rejects every later push. Events already queued stay for [`EventSource::take_all`].
    pub(crate) fn close(&self) {
        self.shared.lock().closed = true;
    }
}

impl Drop for EventSource {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Map;

    use super::*;
    use crate::event::{Event, EventType};

    fn event() -> QueuedEvent {
        QueuedEvent::Event(Event::new(
            "ses",
            "agent",
            EventType::Custom,
            Default::default(),
        ))
    }

    #[test]
    fn full_queue_drops_and_counts() {
        let stats = Arc::new(Stats::default());
        let (queue, _receiver) = Queue::new(2, 10, Arc::clone(&stats));

        for _ in 0..5 {
            queue.push(event());
        }

        assert_eq!(stats.pending(), 2);
        assert_eq!(stats.dropped(), 3);
    }

    #[test]
    fn closed_queue_drops_and_counts() {
        let stats = Arc::new(Stats::default());
        let (queue, receiver) = Queue::new(4, 10, Arc::clone(&stats));
        drop(receiver);

        queue.push(event());

        assert_eq!(stats.pending(), 0);
        assert_eq!(stats.dropped(), 1);
    }

    #[test]
    fn finished_events_leave_pending() {
        let stats = Arc::new(Stats::default());
        let (queue, _receiver) = Queue::new(8, 10, Arc::clone(&stats));
        for _ in 0..5 {
            queue.push(event());
        }

        stats.record_sent(3, 0);
        stats.record_failed(2, "status 401: Invalid API key".to_owned());

        assert_eq!(stats.sent(), 3);
        assert_eq!(stats.failed(), 2);
        assert_eq!(stats.pending(), 0);
    }

    #[test]
    fn events_form_batches_in_order() {
        let stats = Arc::new(Stats::default());
        let (queue, receiver) = Queue::new(100, 3, Arc::clone(&stats));
        for index in 0..7 {
            let event = Event::new(format!("ses_{index}"), "", EventType::Custom, Map::new());
            queue.push(QueuedEvent::Event(event));
        }

        let first = receiver.events.pop_full().expect("a full batch");
        let rest = receiver.events.take_all();

        let sessions = |batch: &Vec<QueuedEvent>| -> Vec<String> {
            let events = batch.iter().map(|queued| match queued {
                QueuedEvent::Event(event) => event.session_id.clone(),
                QueuedEvent::Cost { cost, .. } => cost.session_id.clone(),
            });
            events.collect()
        };
        assert_eq!(sessions(&first), ["ses_0", "ses_1", "ses_2"]);
        assert_eq!(rest.len(), 2);
        assert_eq!(sessions(&rest[0]), ["ses_3", "ses_4", "ses_5"]);
        assert_eq!(sessions(&rest[1]), ["ses_6"]);
        assert!(receiver.events.is_empty());
    }

    #[test]
    fn push_wakes_only_when_empty_or_batch_full() {
        let mut batches = Batches::default();

        let wakes: Vec<bool> = (0..7)
            .map(|_| batches.push(event(), 100, 3).ok().unwrap())
            .collect();

        assert_eq!(wakes, [true, false, true, false, false, true, false]);
        assert_eq!(batches.full.len(), 2);
        assert_eq!(batches.len, 7);
    }

    #[test]
    fn taken_batches_free_capacity() {
        let stats = Arc::new(Stats::default());
        let (queue, receiver) = Queue::new(4, 2, Arc::clone(&stats));
        for _ in 0..4 {
            queue.push(event());
        }

        let batch = receiver.events.pop_full().expect("a full batch");
        receiver.events.recycle(batch);
        queue.push(event());
        queue.push(event());
        queue.push(event());

        assert_eq!(stats.dropped(), 1);
        assert_eq!(stats.pending(), 6);
    }
}
