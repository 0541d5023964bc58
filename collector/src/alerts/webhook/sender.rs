//! Sends stored webhook deliveries on background tasks, with retries.

use std::time::Duration;

use agentlens_core::errors::error_chain;
use agentlens_core::event::format_timestamp;
use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use sha2::Sha256;

use super::ssrf::{self, UrlRejection};
use super::{DeliveryStatus, PendingDelivery, WebhookOptions};
use crate::store::alert_deliveries::DeliveryUpdate;
use crate::store::Store;

/// Sends deliveries and records their outcome in the store.
#[derive(Debug, Clone)]
pub struct WebhookSender {
    store: Store,
    options: WebhookOptions,
}

/// Result of one attempt.
enum Attempt {
    /// The receiver returned a 2xx status.
    Delivered(u16),
    /// The attempt failed and may be retried.
    Failed { status: Option<u16>, error: String },
    /// The URL can never be sent to; no request was made.
    Refused(String),
}

impl WebhookSender {
    /// Creates a sender over `store`.
    pub fn new(store: Store, options: WebhookOptions) -> WebhookSender {
        WebhookSender { store, options }
    }

    /// Returns the delivery settings.
    pub fn options(&self) -> &WebhookOptions {
        &self.options
    }

    /// Starts one background task per delivery and returns at once.
    pub fn dispatch(&self, deliveries: Vec<PendingDelivery>) {
        for delivery in deliveries {
            let sender = self.clone();
            tokio::spawn(async move { sender.deliver(delivery).await });
        }
    }

    /// Resumes the deliveries a previous run left pending.
    ///
    /// # Errors
    ///
    /// Returns [`crate::store::StoreError`] when the pending rows cannot be read.
    pub async fn resume_pending(&self) -> Result<usize, crate::store::StoreError> {
        let pending = self.store.pending_deliveries().await?;
        let count = pending.len();
        if count > 0 {
            tracing::info!(deliveries = count, "resuming pending webhook deliveries");
        }
        self.dispatch(pending);
        Ok(count)
    }

    /// Sends one delivery until it succeeds, is refused, runs out of attempts, or the
    /// store stops its retries ([`crate::store::Store::claim_delivery_attempt`]).
    ///
    /// A delivery resumed after a restart keeps its stored attempt count and first waits
    /// until its stored retry time. Retries stop when the rule is deleted, and a firing
    /// notification stops when its alert resolves, so no firing is sent after the resolve
    /// of the same alert.
    async fn deliver(&self, delivery: PendingDelivery) {
        let limit = self.attempt_limit();
        let mut attempts = delivery.attempts;
        // A delivery with no attempts left fails at once, without waiting for its retry time.
        let due = delivery.next_attempt_at.filter(|_| attempts < limit);
        if let Some(due) = due {
            tokio::time::sleep(duration_until(due)).await;
        }
        loop {
            if attempts >= limit {
                self.give_up(&delivery.id, attempts, limit).await;
                break;
            }
            attempts += 1;
            let delay = self.delay_after(attempts);
            if !self.claim(&delivery.id, attempts, delay).await {
                tracing::info!(
                    alert.delivery_id = %delivery.id,
                    "webhook retry not sent: its rule was deleted or its alert resolved"
                );
                break;
            }

            let attempt = self.attempt(&delivery).await;
            let update = outcome(attempt, attempts, delay, &delivery.id);
            let status = update.status;
            self.record(&delivery.id, update).await;
            match (status, delay) {
                (DeliveryStatus::Pending, Some(delay)) => tokio::time::sleep(delay).await,
                _ => break,
            }
        }
    }

    /// Returns the number of attempts a delivery gets: one more than the retry delays.
    fn attempt_limit(&self) -> i64 {
        i64::try_from(self.options.retry_delays.len())
            .unwrap_or(i64::MAX)
            .saturating_add(1)
    }

    /// Returns the wait after attempt number `attempt` (counted from 1) fails, or `None`
    /// when it is the last.
    fn delay_after(&self, attempt: i64) -> Option<Duration> {
        let index = usize::try_from(attempt - 1).ok()?;
        self.options.retry_delays.get(index).copied()
    }

    /// Stores the start of an attempt; returns false when the delivery is no longer
    /// pending. When the store cannot be written, the attempt goes ahead.
    async fn claim(&self, id: &str, attempt: i64, delay: Option<Duration>) -> bool {
        let retry_at = delay.map(retry_time);
        match self
            .store
            .claim_delivery_attempt(id, attempt, retry_at)
            .await
        {
            Ok(pending) => pending,
            Err(error) => {
                tracing::warn!(alert.delivery_id = %id, %error, "cannot record webhook attempt");
                true
            }
        }
    }

    /// Fails a resumed delivery whose attempts are used up. That happens when the
    /// collector stopped during the last attempt, before its outcome was stored, or
    /// when it restarted with fewer retry delays.
    async fn give_up(&self, id: &str, attempts: i64, limit: i64) {
        tracing::warn!(
            alert.delivery_id = %id,
            attempts,
            limit,
            "webhook delivery failed: no attempts left after restart"
        );
        let attempts_made = if attempts == 1 {
            "1 attempt was".to_owned()
        } else {
            format!("{attempts} attempts were")
        };
        let reason = format!(
            "retry limit reached: {attempts_made} made before the collector restarted, and the limit \
             is {limit}"
        );
        if let Err(error) = self.store.fail_delivery(id, reason).await {
            tracing::error!(alert.delivery_id = %id, %error, "cannot record webhook delivery");
        }
    }

    async fn record(&self, id: &str, update: DeliveryUpdate) {
        if let Err(error) = self.store.update_delivery(id, update).await {
            tracing::error!(alert.delivery_id = %id, %error, "cannot record webhook delivery");
        }
    }

    async fn attempt(&self, delivery: &PendingDelivery) -> Attempt {
        let target = match ssrf::resolve(&delivery.url, self.options.allow_private).await {
            Ok(target) => target,
            Err(UrlRejection::Unresolved { host, reason }) => {
                return Attempt::Failed {
                    status: None,
                    error: format!("cannot resolve {host}: {reason}"),
                }
            }
            Err(rejection) => return Attempt::Refused(rejection.to_string()),
        };

        let client = match self.client_for(&target) {
            Ok(client) => client,
            Err(error) => return Attempt::Refused(format!("cannot build http client: {error}")),
        };
        let request = client
            .post(target.url.clone())
            .headers(self.headers(&delivery.body))
            .body(delivery.body.clone());
        match request.send().await {
            Ok(response) if response.status().is_success() => {
                Attempt::Delivered(response.status().as_u16())
            }
            Ok(response) => Attempt::Failed {
                status: Some(response.status().as_u16()),
                error: format!("receiver answered {}", response.status()),
            },
            Err(error) if error.is_timeout() => Attempt::Failed {
                status: None,
                error: format!("timed out after {:?}", self.options.timeout),
            },
            // The delivery row has the URL already, and the URL may contain a password,
            // which the stored error would show.
            Err(error) => Attempt::Failed {
                status: None,
                error: error_chain(&error.without_url()),
            },
        }
    }

    /// Builds a client that connects only to the checked addresses. It never follows a
    /// redirect, which could point at a refused address, and ignores the `HTTP_PROXY`,
    /// `HTTPS_PROXY` and `ALL_PROXY` variables, because a proxy would connect to the host
    /// on its own and skip the check.
    fn client_for(&self, target: &ssrf::Target) -> Result<reqwest::Client, reqwest::Error> {
        // reqwest is built without a default crypto provider; an error means one is
        // installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .timeout(self.options.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy();
        if target.host.parse::<std::net::IpAddr>().is_err() {
            builder = builder.resolve_to_addrs(&target.host, &target.addresses);
        }
        builder.build()
    }

    fn headers(&self, body: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(secret) = &self.options.secret {
            let timestamp = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
            let signature = sign(secret, &timestamp, body);
            if let (Ok(timestamp), Ok(signature)) = (
                HeaderValue::from_str(&timestamp),
                HeaderValue::from_str(&signature),
            ) {
                headers.insert("x-agentlens-timestamp", timestamp);
                headers.insert("x-agentlens-signature", signature);
            }
        }
        headers
    }
}

/// Returns the stored outcome of attempt number `attempts`, which is followed by `delay`
/// when it fails and is not the last.
fn outcome(attempt: Attempt, attempts: i64, delay: Option<Duration>, id: &str) -> DeliveryUpdate {
    let mut update = DeliveryUpdate {
        status: DeliveryStatus::Pending,
        attempts,
        last_status: None,
        last_error: None,
        delivered_at: None,
        next_attempt_at: None,
    };
    match attempt {
        Attempt::Delivered(status) => {
            update.status = DeliveryStatus::Delivered;
            update.last_status = Some(i64::from(status));
            update.delivered_at = Some(format_timestamp(&Utc::now()));
        }
        Attempt::Failed { status, error } => {
            tracing::warn!(alert.delivery_id = %id, attempt = attempts, %error, "webhook attempt failed");
            update.last_status = status.map(i64::from);
            update.last_error = Some(error);
            match delay {
                Some(delay) => update.next_attempt_at = Some(retry_time(delay)),
                None => {
                    tracing::warn!(
                        alert.delivery_id = %id,
                        attempts,
                        "webhook delivery failed: no retries left"
                    );
                    update.status = DeliveryStatus::Failed;
                }
            }
        }
        Attempt::Refused(reason) => {
            tracing::warn!(alert.delivery_id = %id, %reason, "webhook url rejected");
            // No request was sent, so the claimed attempt does not count.
            update.attempts = attempts - 1;
            update.status = DeliveryStatus::Failed;
            update.last_error = Some(reason);
        }
    }
    update
}

/// Returns the stored time that lies `delay` from now.
fn retry_time(delay: Duration) -> String {
    let delay = chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
    let due = Utc::now()
        .checked_add_signed(delay)
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    format_timestamp(&due)
}

/// Returns the time left until `due`, zero when it has passed.
fn duration_until(due: DateTime<Utc>) -> Duration {
    (due - Utc::now()).to_std().unwrap_or(Duration::ZERO)
}

/// Returns `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" under secret>`.
pub fn sign(secret: &str, timestamp: &str, body: &str) -> String {
    // HMAC accepts keys of any length, so this never fails.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_known_vector() {
        // HMAC-SHA256 of "1.{}" under "secret", computed with `openssl dgst -sha256 -hmac`.
        assert_eq!(
            sign("secret", "1", "{}"),
            "sha256=1122767b193110cfec322b6f199b599edbf608ed087f2d27afb0b97d99523908"
        );
    }
}
