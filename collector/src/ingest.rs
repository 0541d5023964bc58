//! Preparation of an ingest batch: validation, server timestamps and cost columns.
//!
//! [`prepare_batch`] turns a request body into events ready to store. It runs before the
//! write transaction, so a rejected batch never reaches the database. An event with a
//! reported `costUsd` keeps it. A `cost_tracked` or `llm_response` without one is priced
//! from the embedded price table at the event's time. When the table has no price for it,
//! the cost stays unknown: it is stored as NULL and counted as unpriced, never as $0.

use agentlens_core::event::{format_timestamp, ValidEvent};
use agentlens_core::pricing::{PriceOutcome, PriceTable};
use agentlens_core::usage::Usage;
use agentlens_core::validate::{validate_batch, FieldError};
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::error::ApiError;

/// Origin of the stored cost of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CostSource {
    /// The client sent `costUsd`.
    Reported,
    /// The collector priced the usage with its price table.
    Derived,
    /// The price table has no price for the event, so its cost is unknown.
    Unpriced,
}

impl CostSource {
    /// Returns the value stored in the `cost_source` column.
    pub fn as_str(&self) -> &'static str {
        match self {
            CostSource::Reported => "reported",
            CostSource::Derived => "derived",
            CostSource::Unpriced => "unpriced",
        }
    }
}

/// The cost columns of a `cost_tracked` or `llm_response` event.
#[derive(Debug, Clone, PartialEq)]
pub struct CostColumns {
    /// Provider name as sent.
    pub provider: String,
    /// Model id as sent.
    pub model: String,
    /// Cost in pico-dollars; `None` when unpriced.
    pub cost_pico: Option<i64>,
    /// Origin of the cost.
    pub source: CostSource,
    /// Token counts.
    pub usage: Usage,
    /// LLM call id, when sent.
    pub call_id: Option<String>,
}

/// A validated event with its final timestamp text and cost columns.
#[derive(Debug, Clone)]
pub struct PreparedEvent {
    /// The validated event.
    pub event: ValidEvent,
    /// Stored timestamp text: the client's time in UTC, or the server's arrival time.
    pub timestamp: String,
    /// Cost columns for cost-bearing events.
    pub cost: Option<CostColumns>,
}

/// Validates a `{"events": [...]}` body and prepares every event for storage.
///
/// Events without a timestamp get `received_at`.
///
/// # Errors
///
/// Returns [`ApiError::InvalidJson`] or [`ApiError::Validation`] with one detail per
/// violation, including a cost too large to store.
pub fn prepare_batch(
    body: &Value,
    received_at: DateTime<Utc>,
) -> Result<Vec<PreparedEvent>, ApiError> {
    let events = validate_batch(body).map_err(|error| {
        if error.message == "Invalid JSON body" {
            ApiError::InvalidJson
        } else {
            ApiError::Validation(error.details)
        }
    })?;

    let mut prepared = Vec::with_capacity(events.len());
    let mut details = Vec::new();
    for (index, event) in events.into_iter().enumerate() {
        let at = event.timestamp.unwrap_or(received_at);
        let cost = match cost_columns(&event, at) {
            Ok(cost) => cost,
            Err(message) => {
                details.push(FieldError {
                    path: format!("events.{index}.payload.costUsd"),
                    message,
                });
                None
            }
        };
        prepared.push(PreparedEvent {
            event,
            timestamp: format_timestamp(&at),
            cost,
        });
    }

    if details.is_empty() {
        Ok(prepared)
    } else {
        Err(ApiError::Validation(details))
    }
}

/// Builds the cost columns, pricing the usage when the client sent no cost.
fn cost_columns(event: &ValidEvent, at: DateTime<Utc>) -> Result<Option<CostColumns>, String> {
    let Some(facts) = &event.cost else {
        return Ok(None);
    };

    let (cost, source) = match facts.cost_usd {
        Some(reported) => (Some(reported), CostSource::Reported),
        None => match PriceTable::embedded().quote(
            Some(facts.provider.as_str()),
            &facts.model,
            &facts.usage,
            at,
        ) {
            PriceOutcome::Priced(quote) => (Some(quote.total), CostSource::Derived),
            PriceOutcome::Unpriced { .. } => (None, CostSource::Unpriced),
        },
    };
    let cost_pico = match cost {
        Some(amount) => Some(amount.to_pico().ok_or_else(|| {
            format!("cost {amount} USD is too large to store; the maximum is 9223372 USD")
        })?),
        None => None,
    };

    Ok(Some(CostColumns {
        provider: facts.provider.clone(),
        model: facts.model.clone(),
        cost_pico,
        source,
        usage: facts.usage,
        call_id: facts.call_id.clone(),
    }))
}
