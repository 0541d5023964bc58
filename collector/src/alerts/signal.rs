//! The cheap notification that ingest sends to the alert evaluator after a commit.

use std::collections::HashSet;
use std::sync::Mutex;

use tokio::sync::Notify;

/// Tenants with newly committed events, and a wake-up for the evaluator.
///
/// [`IngestSignal::ingested`] only inserts into a set and wakes a waiter, so ingest never
/// waits for an evaluation. The set holds each tenant once however many batches arrive,
/// and [`tokio::sync::Notify`] keeps one wake-up when nobody waits, so none is lost.
#[derive(Debug, Default)]
pub struct IngestSignal {
    tenants: Mutex<HashSet<String>>,
    notify: Notify,
}

impl IngestSignal {
    /// Records that `tenant` committed new events.
    pub fn ingested(&self, tenant: &str) {
        if let Ok(mut tenants) = self.tenants.lock() {
            if !tenants.contains(tenant) {
                tenants.insert(tenant.to_owned());
            }
        }
        self.notify.notify_one();
    }

    /// Waits until a tenant committed events.
    pub async fn notified(&self) {
        self.notify.notified().await;
    }

    /// Returns and clears the tenants recorded since the last call.
    pub fn take(&self) -> HashSet<String> {
        self.tenants
            .lock()
            .map(|mut tenants| std::mem::take(&mut *tenants))
            .unwrap_or_default()
    }
}
