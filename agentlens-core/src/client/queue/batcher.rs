//! The background loop that turns queued events into batches.

use std::mem;
use std::pin::pin;
use std::time::Duration;

use tokio::time::Instant;

use super::{Command, QueueReceiver};
use crate::client::delivery::Delivery;
use crate::event::Event;

/// Collects events from the queue and hands full or expired batches to [`Delivery`].
pub(crate) struct Batcher {
    receiver: QueueReceiver,
    delivery: Delivery,
    batch_size: usize,
    flush_interval: Duration,
    buffer: Vec<Event>,
}

impl Batcher {
    pub(crate) fn new(
        receiver: QueueReceiver,
        delivery: Delivery,
        batch_size: usize,
        flush_interval: Duration,
    ) -> Self {
        Batcher {
            receiver,
            delivery,
            batch_size,
            flush_interval,
            buffer: Vec::with_capacity(batch_size),
        }
    }

    /// Runs until a shutdown command arrives or the client handle is gone.
    pub(crate) async fn run(mut self) {
        // The timer runs only while the buffer contains events and starts with the first one.
        // A partial batch therefore leaves `flush_interval` after its first event, unless a
        // send in progress delays it, and an idle client never wakes up.
        let mut timer = pin!(tokio::time::sleep(Duration::ZERO));

        loop {
            let room = self.batch_size.saturating_sub(self.buffer.len()).max(1);
            tokio::select! {
                // Commands go first, so a flush does not wait behind a stream of events.
                biased;

                command = self.receiver.commands.recv() => match command {
                    Some(Command::Flush { done }) => {
                        self.drain_queue();
                        self.send_buffer().await;
                        let _ = done.send(());
                    }
                    Some(Command::Shutdown { deadline, done }) => {
                        if let Some(deadline) = deadline {
                            self.delivery.set_deadline(Instant::from_std(deadline));
                        }
                        self.close().await;
                        let _ = done.send(());
                        return;
                    }
                    None => {
                        self.close().await;
                        return;
                    }
                },

                received = self.receiver.events.recv_many(&mut self.buffer, room) => {
                    if received == 0 {
                        self.close().await;
                        return;
                    }
                    if self.buffer.len() == received {
                        timer.as_mut().reset(Instant::now() + self.flush_interval);
                    }
                    if self.buffer.len() >= self.batch_size {
                        self.send_buffer().await;
                    }
                },

                () = &mut timer, if !self.buffer.is_empty() => {
                    self.send_buffer().await;
                },
            }
        }
    }

    /// Moves every event that is already queued into the buffer.
    fn drain_queue(&mut self) {
        while let Ok(event) = self.receiver.events.try_recv() {
            self.buffer.push(event);
        }
    }

    /// Rejects new events, then sends everything that was accepted before.
    async fn close(&mut self) {
        self.receiver.events.close();
        self.drain_queue();
        self.send_buffer().await;
    }

    /// Sends the buffer in batches of at most `batch_size` events.
    async fn send_buffer(&mut self) {
        let events = mem::take(&mut self.buffer);
        for batch in events.chunks(self.batch_size) {
            self.delivery.deliver(batch).await;
        }
        self.buffer = events;
        self.buffer.clear();
    }
}
