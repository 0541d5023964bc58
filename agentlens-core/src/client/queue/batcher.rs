//! The background loop that turns queued events into batches.

use std::pin::pin;
use std::time::Duration;

use tokio::time::Instant;

use super::{Command, QueueReceiver, QueuedEvent};
use crate::client::delivery::Delivery;
use crate::event::Event;

/// Hands full or expired batches from the queue to [`Delivery`].
pub(crate) struct Batcher {
    receiver: QueueReceiver,
    delivery: Delivery,
    flush_interval: Duration,
    /// The client's agent id, for cost events that name none.
    agent_id: String,
    /// The batch being sent, converted from queued events. Kept to reuse its allocation.
    outgoing: Vec<Event>,
}

impl Batcher {
    pub(crate) fn new(
        receiver: QueueReceiver,
        delivery: Delivery,
        flush_interval: Duration,
        agent_id: String,
    ) -> Self {
        Batcher {
            receiver,
            delivery,
            flush_interval,
            agent_id,
            outgoing: Vec::new(),
        }
    }

    /// Runs until a shutdown command arrives or the client handle is gone.
    pub(crate) async fn run(mut self) {
        // The timer runs only while the queue contains events. It starts when the batcher
        // first sees a non-empty queue, which a push into an empty queue wakes it for, so a
        // partial batch leaves `flush_interval` after its first event unless a send in
        // progress delays it. An idle client never wakes up.
        let mut timer = pin!(tokio::time::sleep(Duration::ZERO));
        let mut timer_armed = false;

        loop {
            self.send_full_batches().await;
            if self.receiver.events.is_empty() {
                timer_armed = false;
            } else if !timer_armed {
                timer.as_mut().reset(Instant::now() + self.flush_interval);
                timer_armed = true;
            }

            tokio::select! {
                // Commands go first, so a flush does not wait behind a stream of events.
                biased;

                command = self.receiver.commands.recv() => match command {
                    Some(Command::Flush { done }) => {
                        self.send_all().await;
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

                () = self.receiver.events.woken() => {}

                () = &mut timer, if timer_armed => {
                    self.send_all().await;
                    timer_armed = false;
                },
            }
        }
    }

    /// Sends every full batch, including those that fill while earlier ones are sent.
    async fn send_full_batches(&mut self) {
        while let Some(batch) = self.receiver.events.pop_full() {
            self.send(batch).await;
        }
    }

    /// Sends everything queued so far, the last batch possibly partial.
    async fn send_all(&mut self) {
        for batch in self.receiver.events.take_all() {
            self.send(batch).await;
        }
    }

    /// Rejects new events, then sends everything that was accepted before.
    async fn close(&mut self) {
        self.receiver.events.close();
        self.send_all().await;
    }

    async fn send(&mut self, mut batch: Vec<QueuedEvent>) {
        let agent_id = &self.agent_id;
        let events = batch.drain(..).map(|queued| queued.into_event(agent_id));
        self.outgoing.extend(events);
        self.receiver.events.recycle(batch);

        self.delivery.deliver(&self.outgoing).await;
        self.outgoing.clear();
    }
}
