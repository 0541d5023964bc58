//! The bounded queue between the caller's threads and the background batcher, and the
//! counters both sides update.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc as std_mpsc, Arc};
use std::time::Instant;

use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use crate::event::Event;

pub(crate) mod batcher;

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
    dropped: AtomicU64,
    failed: AtomicU64,
    /// Events accepted into the queue whose delivery has not ended yet, queued or in flight.
    pending: AtomicUsize,
    warned_full: AtomicBool,
}

impl Stats {
    pub(crate) fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
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

    /// Records that `count` events reached the collector.
    pub(crate) fn record_sent(&self, count: usize) {
        self.sent.fetch_add(count as u64, Ordering::Relaxed);
        self.pending.fetch_sub(count, Ordering::AcqRel);
    }

    /// Records that `count` events were given up on.
    pub(crate) fn record_failed(&self, count: usize) {
        self.failed.fetch_add(count as u64, Ordering::Relaxed);
        self.pending.fetch_sub(count, Ordering::AcqRel);
    }
}

/// The caller's end of the queue.
#[derive(Debug)]
pub(crate) struct Queue {
    events: mpsc::Sender<Event>,
    commands: mpsc::UnboundedSender<Command>,
    stats: Arc<Stats>,
}

/// The batcher's end of the queue.
#[derive(Debug)]
pub(crate) struct QueueReceiver {
    pub(crate) events: mpsc::Receiver<Event>,
    pub(crate) commands: mpsc::UnboundedReceiver<Command>,
}

impl Queue {
    /// Creates a queue with room for `capacity` events.
    pub(crate) fn new(capacity: usize, stats: Arc<Stats>) -> (Queue, QueueReceiver) {
        let (event_sender, event_receiver) = mpsc::channel(capacity);
        let (command_sender, command_receiver) = mpsc::unbounded_channel();
        let queue = Queue {
            events: event_sender,
            commands: command_sender,
            stats,
        };
        let receiver = QueueReceiver {
            events: event_receiver,
            commands: command_receiver,
        };
        (queue, receiver)
    }

    /// Enqueues an event without waiting, or drops and counts it when the queue is full
    /// or closed.
    pub(crate) fn push(&self, event: Event) {
        // Counted before the send so that the batcher never finishes an event that is not
        // counted yet, which would make `pending` wrap below zero.
        self.stats.pending.fetch_add(1, Ordering::AcqRel);

        let Err(error) = self.events.try_send(event) else {
            return;
        };
        self.stats.pending.fetch_sub(1, Ordering::AcqRel);
        self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        match error {
            TrySendError::Full(_) => {
                if !self.stats.warned_full.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        queue.capacity = self.events.max_capacity(),
                        "event queue full, dropping new events until it drains"
                    );
                }
            }
            TrySendError::Closed(_) => {
                tracing::debug!("client shut down, dropping event");
            }
        }
    }

    /// Sends a command to the batcher. Returns false when the batcher has stopped.
    pub(crate) fn command(&self, command: Command) -> bool {
        self.commands.send(command).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventType;

    fn event() -> Event {
        Event::new("ses", "agent", EventType::Custom, Default::default())
    }

    #[test]
    fn full_queue_drops_and_counts() {
        let stats = Arc::new(Stats::default());
        let (queue, _receiver) = Queue::new(2, Arc::clone(&stats));

        for _ in 0..5 {
            queue.push(event());
        }

        assert_eq!(stats.pending(), 2);
        assert_eq!(stats.dropped(), 3);
    }

    #[test]
    fn closed_queue_drops_and_counts() {
        let stats = Arc::new(Stats::default());
        let (queue, receiver) = Queue::new(4, Arc::clone(&stats));
        drop(receiver);

        queue.push(event());

        assert_eq!(stats.pending(), 0);
        assert_eq!(stats.dropped(), 1);
    }

    #[test]
    fn finished_events_leave_pending() {
        let stats = Arc::new(Stats::default());
        let (queue, _receiver) = Queue::new(8, Arc::clone(&stats));
        for _ in 0..5 {
            queue.push(event());
        }

        stats.record_sent(3);
        stats.record_failed(2);

        assert_eq!(stats.sent(), 3);
        assert_eq!(stats.failed(), 2);
        assert_eq!(stats.pending(), 0);
    }
}
