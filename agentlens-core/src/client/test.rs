//! A transport that keeps batches in memory, for asserting what a client would send.

use std::sync::{Arc, Mutex, PoisonError};

use super::transport::{SendFuture, SendReceipt, Transport};
use crate::event::Event;

/// Records every batch instead of sending it, and accepts them all as new events.
///
/// Clones share one record, so a test keeps a clone and hands the other to
/// [`ClientOptions::transport`](super::ClientOptions::transport).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use agentlens_core::client::test::CapturingTransport;
/// use agentlens_core::client::{Client, CostEvent};
/// use agentlens_core::usage::Usage;
///
/// let capture = CapturingTransport::new();
/// let client = Client::builder("http://localhost:3400")
///     .transport(capture.clone())
///     .build()?;
///
/// client.track_cost(CostEvent::new("ses_1", "openai", "gpt-4o", Usage::default()));
/// client.flush(Duration::from_secs(1));
///
/// assert_eq!(capture.events().len(), 1);
/// # Ok::<(), agentlens_core::client::ClientError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct CapturingTransport {
    batches: Arc<Mutex<Vec<Vec<Event>>>>,
}

impl CapturingTransport {
    /// Creates a transport with an empty record.
    pub fn new() -> Self {
        Self::default()
    }

    /// Returns the batches received so far, in order.
    pub fn batches(&self) -> Vec<Vec<Event>> {
        self.lock().clone()
    }

    /// Returns the events received so far, in order, across all batches.
    pub fn events(&self) -> Vec<Event> {
        self.lock().iter().flatten().cloned().collect()
    }

    /// Forgets every batch received so far.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Vec<Event>>> {
        // A test that panicked while holding the lock left complete batches behind.
        self.batches.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Transport for CapturingTransport {
    fn send<'a>(&'a self, events: &'a [Event]) -> SendFuture<'a> {
        self.lock().push(events.to_vec());
        Box::pin(std::future::ready(Ok(SendReceipt::all_new(events.len()))))
    }
}
