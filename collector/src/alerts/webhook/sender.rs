//! Sends stored webhook deliveries on background tasks, with retries.

use agentlens_core::event::format_timestamp;
use chrono::{SecondsFormat, Utc};
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

    /// Sends one delivery until it succeeds, is refused, or runs out of attempts.
    async fn deliver(&self, delivery: PendingDelivery) {
        let mut update = DeliveryUpdate {
            status: DeliveryStatus::Pending,
            attempts: 0,
            last_status: None,
            last_error: None,
            delivered_at: None,
        };
        let mut delays = self.options.retry_delays.iter();
        loop {
            let attempt = self.attempt(&delivery).await;
            match attempt {
                Attempt::Delivered(status) => {
                    update.attempts += 1;
                    update.status = DeliveryStatus::Delivered;
                    update.last_status = Some(i64::from(status));
                    update.last_error = None;
                    update.delivered_at = Some(format_timestamp(&Utc::now()));
                }
                Attempt::Failed { status, error } => {
                    update.attempts += 1;
                    update.last_status = status.map(i64::from);
                    tracing::warn!(
                        alert.delivery_id = %delivery.id,
                        attempt = update.attempts,
                        %error,
                        "webhook attempt failed"
                    );
                    update.last_error = Some(error);
                }
                Attempt::Refused(reason) => {
                    tracing::warn!(alert.delivery_id = %delivery.id, %reason, "webhook url rejected");
                    update.status = DeliveryStatus::Failed;
                    update.last_error = Some(reason);
                }
            }

            let delay = match update.status {
                DeliveryStatus::Pending => delays.next().copied(),
                _ => None,
            };
            if delay.is_none() && update.status == DeliveryStatus::Pending {
                update.status = DeliveryStatus::Failed;
            }
            self.record(&delivery.id, &update).await;
            match delay {
                Some(delay) => tokio::time::sleep(delay).await,
                None => break,
            }
            if !self.is_still_pending(&delivery.id).await {
                tracing::info!(
                    alert.delivery_id = %delivery.id,
                    "webhook retry dropped because its alert rule was deleted"
                );
                break;
            }
        }
    }

    /// Returns false when the delivery row is gone, which happens when its rule is deleted.
    ///
    /// Deleting a rule removes its history and deliveries, so a retry would report an
    /// alert the API no longer shows, and nothing could record its outcome. Disabling a
    /// rule keeps its retries: the transition stays in the history, and disabling only
    /// stops new evaluations. When the store cannot be read, the retry goes ahead.
    async fn is_still_pending(&self, id: &str) -> bool {
        // TODO: a query for one delivery id would replace this scan of all pending rows,
        // which the partial index on pending status keeps short.
        match self.store.pending_deliveries().await {
            Ok(pending) => pending.iter().any(|delivery| delivery.id == id),
            Err(error) => {
                tracing::warn!(alert.delivery_id = %id, %error, "failed to check whether webhook delivery is pending");
                true
            }
        }
    }

    async fn record(&self, id: &str, update: &DeliveryUpdate) {
        if let Err(error) = self.store.update_delivery(id, update.clone()).await {
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

    /// Builds a client that connects only to the checked addresses and never follows a
    /// redirect, which could point at a refused address.
    fn client_for(&self, target: &ssrf::Target) -> Result<reqwest::Client, reqwest::Error> {
        // reqwest is built without a default crypto provider; an error means one is
        // installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .timeout(self.options.timeout)
            .redirect(reqwest::redirect::Policy::none());
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

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
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
