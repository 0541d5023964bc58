//! Checks a typed [`CostEvent`] with the rules that [`validate_event`](super::validate_event)
//! applies to the `cost_tracked` event it becomes, without building that event.
//!
//! Both paths call the same rule functions ([`check_not_blank`], [`usage_count_errors`],
//! [`check_cost_amount`], [`usage_violation`], [`timestamp_from_text`]), so the check
//! reports the same violations, in the same order, with the same dotted paths and messages.
//! The fields of a `CostEvent` that the JSON validator never rejects (`trigger`, `call_id`,
//! `metadata`, and the derived `eventType`, `severity` and `totalTokens` consistency) have
//! no check here.
//! [`CostEvent::into_event`] writes every non-zero count of [`Usage`](crate::usage::Usage),
//! the web search and audio, image and video counts included, and the JSON validator reads
//! them all, so both paths compare every part with its whole.

use chrono::{DateTime, Utc};

use super::cost::{check_cost_amount, usage_violation};
use super::counts::usage_count_errors;
use super::fields::{check_not_blank, FieldError};
use super::size::{check_event_size, MAX_EVENT_BYTES};
use super::{check_name_length, check_timestamp_range, timestamp_from_text};
use crate::client::CostEvent;

/// Bytes of a cost event as JSON besides its strings: keys, counts, id and timestamp.
const FIXED_JSON_BYTES: usize = 2048;

/// Maximum growth of one byte of text by JSON escaping, as in `\u001f`.
const MAX_ESCAPE_GROWTH: usize = 6;

impl CostEvent {
    /// Checks the event with the collector's rules for the `cost_tracked` event that
    /// [`CostEvent::into_event`] builds from it.
    ///
    /// Ids and names must not be blank, session and agent ids may have at most 256
    /// characters, and token counts must be at most 2^53 - 1. The cost must be 0 to
    /// 9,223,372 USD with at most 12 decimal places. Every part of the usage must fit inside
    /// its whole, and the timestamp must be storable. Last, the event must fit in one
    /// request to the collector ([`MAX_EVENT_BYTES`]).
    ///
    /// The check builds no JSON unless the event has metadata or strings of more than
    /// about 170 KB, and allocates only when it finds a violation. An
    /// `agent_id` of `None` passes, because the client fills in its own; `Some("")` is
    /// rejected like any blank agent id, although
    /// [`Client::track_cost`](crate::client::Client::track_cost) would replace it.
    ///
    /// The check reads `cost_usd` as the exact decimal, and so does the collector, because
    /// [`CostEvent::into_event`] sends an amount with more than 15 significant digits as a
    /// decimal string rather than a JSON number.
    ///
    /// # Errors
    ///
    /// Returns every violation, each with the path it has in the event (`sessionId`,
    /// `payload.costUsd`, `payload.inputTokens`), in the order the JSON validator reports
    /// them.
    pub fn check(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();

        check_name(&mut errors, "sessionId", &self.session_id);
        if let Some(agent_id) = &self.agent_id {
            check_name(&mut errors, "agentId", agent_id);
        }
        if let Some(timestamp) = self.timestamp {
            if let Err(message) = check_timestamp(timestamp, Utc::now()) {
                push(&mut errors, "timestamp", message);
            }
        }

        let before_payload = errors.len();
        check_text(&mut errors, "payload.provider", "provider", &self.provider);
        check_text(&mut errors, "payload.model", "model", &self.model);
        self.check_token_counts(&mut errors);
        if let Some(Err(message)) = self.cost_usd.map(check_cost_amount) {
            push(&mut errors, "payload.costUsd", message);
        }
        // The JSON validator compares parts with wholes only when every payload field
        // passed, so a count over the limit is not reported twice.
        if errors.len() == before_payload {
            if let Err(error) = self.usage.check() {
                let (field, message) = usage_violation(&error, "");
                push(&mut errors, &format!("payload.{field}"), message);
            }
        }

        if errors.is_empty() {
            self.check_size(&mut errors);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Checks that the event fits in one request. Only an event with long strings or
    /// metadata can exceed the limit, so the event is built and measured only then.
    fn check_size(&self, errors: &mut Vec<FieldError>) {
        let texts = [
            Some(&self.session_id),
            self.agent_id.as_ref(),
            Some(&self.provider),
            Some(&self.model),
            self.trigger.as_ref(),
            self.call_id.as_ref(),
        ];
        let text_bytes: usize = texts.into_iter().flatten().map(String::len).sum();
        let max_bytes = text_bytes
            .saturating_mul(MAX_ESCAPE_GROWTH)
            .saturating_add(FIXED_JSON_BYTES);
        if self.metadata.is_empty() && max_bytes <= MAX_EVENT_BYTES {
            return;
        }
        if let Err(error) = check_event_size(&self.clone().into_event("")) {
            errors.push(error);
        }
    }

    /// Checks the counts in the order the payload validator reads them. A count of 0 is
    /// left out of the payload, and it passes here too.
    fn check_token_counts(&self, errors: &mut Vec<FieldError>) {
        errors.extend(usage_count_errors(&self.usage, "payload."));
    }
}

/// Checks a session or agent id: not blank and at most 256 characters.
fn check_name(errors: &mut Vec<FieldError>, field: &str, text: &str) {
    let checked = check_not_blank(field, text).and_then(|()| check_name_length(field, text));
    if let Err(message) = checked {
        push(errors, field, message);
    }
}

fn check_text(errors: &mut Vec<FieldError>, path: &str, field: &str, text: &str) {
    if let Err(message) = check_not_blank(field, text) {
        push(errors, path, message);
    }
}

/// Checks a typed timestamp. A storable one passes without being formatted. Any other is
/// written out the way `serde` sends it and judged by the rule for timestamp text, so the
/// message is the one the collector reports for that text.
fn check_timestamp(timestamp: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), String> {
    if check_timestamp_range(timestamp, now).is_ok() {
        return Ok(());
    }
    let text = match serde_json::to_value(timestamp) {
        Ok(serde_json::Value::String(text)) => text,
        _ => timestamp.to_rfc3339(),
    };
    timestamp_from_text(&text, now).map(drop)
}

fn push(errors: &mut Vec<FieldError>, path: &str, message: String) {
    errors.push(FieldError {
        path: path.to_owned(),
        message,
    });
}

#[cfg(test)]
mod tests;
