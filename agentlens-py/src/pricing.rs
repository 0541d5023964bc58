//! `quote()` and the `Quote` class: prices from the table compiled into the core.

use agentlens_core::money::Usd;
use agentlens_core::pricing::{Breakdown, PriceOutcome, PriceTable};
use agentlens_core::usage::{self, ToolCalls, Usage, UsageError};
use agentlens_core::validate::{check_camel_case_keys, is_normalized_usage, normalized_usage};
use chrono::{DateTime, Utc};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::Value;

use crate::conversion::{datetime_from_py, json_from_py, usd_to_py};
use crate::error::BindingError;

/// The price of one model call, or the reason it has none.
///
/// `cost_usd` is `None` for an unpriced call, never `Decimal(0)`.
#[pyclass(name = "Quote", module = "agentlens", frozen)]
pub(crate) struct PyQuote {
    /// Total cost as a `decimal.Decimal`, or `None` when the call is unpriced.
    #[pyo3(get)]
    cost_usd: Option<Py<PyAny>>,
    /// Cost per billed unit (`input`, `cache_read`, `output`, ...) as `Decimal`s.
    #[pyo3(get)]
    breakdown: Py<PyDict>,
    /// Provider whose table entry priced the call, or `None` when unpriced.
    #[pyo3(get)]
    provider: Option<String>,
    /// Model id of the table entry, or the model as given when unpriced.
    #[pyo3(get)]
    model: String,
    /// Content hash of the price table.
    #[pyo3(get)]
    pricing_version: String,
    /// Reason the call has no price, or `None` when priced.
    #[pyo3(get)]
    unpriced_reason: Option<String>,
    /// The total as the core's type, for the cost event.
    pub(crate) total: Option<Usd>,
}

#[pymethods]
impl PyQuote {
    fn __repr__(&self) -> String {
        match (&self.total, &self.unpriced_reason) {
            (Some(total), _) => format!(
                "Quote(model={:?}, cost_usd=Decimal('{total}'), pricing_version={:?})",
                self.model, self.pricing_version
            ),
            (None, reason) => format!(
                "Quote(model={:?}, cost_usd=None, unpriced_reason={:?})",
                self.model,
                reason.as_deref().unwrap_or_default()
            ),
        }
    }
}

/// Prices a model call from the provider's own usage object.
///
/// `usage` is the usage dict as the provider returned it (OpenAI `usage`, Anthropic `usage`
/// or Gemini `usageMetadata`), or the normalized dict of `POST /api/pricing/quote`
/// (`inputTokens` with the cache parts inside, `webSearches`, `fileSearches`, ...) when
/// every key belongs to it. The provider name and the dict's shape choose the reader. `at` is the time of the call (default: now) and picks the dated price in force.
/// Anthropic's `service_tier` in the dict selects the model's batch or priority prices.
/// An unknown model returns a quote with `cost_usd = None` and an `unpriced_reason`.
///
/// Raises `ValidationError` when the usage dict cannot be read.
#[pyfunction]
#[pyo3(signature = (provider, model, usage, at=None))]
pub(crate) fn quote(
    py: Python<'_>,
    provider: Option<&str>,
    model: &str,
    usage: &Bound<'_, PyAny>,
    at: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyQuote> {
    let usage = json_from_py(usage, "usage", 0)?;
    let at = match at {
        Some(at) if !at.is_none() => datetime_from_py(at, "at")?,
        _ => Utc::now(),
    };
    let (quote, _) = price(py, provider, model, &usage, ToolCalls::default(), at)?;
    Ok(quote)
}

/// Reads `usage` with the core's provider readers, adds the built-in tool calls that the
/// usage object does not count itself, and prices it.
pub(crate) fn price(
    py: Python<'_>,
    provider: Option<&str>,
    model: &str,
    usage: &Value,
    tools: ToolCalls,
    at: DateTime<Utc>,
) -> Result<(PyQuote, Usage), BindingError> {
    let counts = read_counts(provider, usage, tools)?;
    let context = usage::usage_price_context(usage);
    let table = PriceTable::embedded();
    let outcome = table.quote_with(provider, model, &counts, at, &context);
    let quote = to_py_quote(py, outcome, model, table.version())?;
    Ok((quote, counts))
}

/// Prices a call from a response like [`price`], with the provider chosen by
/// [`PriceTable::quote_call`]: the named one, else the model's maker, else `unknown` and
/// unpriced. Returns the provider to record the call under as well.
pub(crate) fn price_call(
    py: Python<'_>,
    provider: Option<&str>,
    model: &str,
    usage: &Value,
    tools: ToolCalls,
    at: DateTime<Utc>,
) -> Result<(PyQuote, Usage, String), BindingError> {
    let counts = read_counts(provider, usage, tools)?;
    let context = usage::usage_price_context(usage);
    let table = PriceTable::embedded();
    let call = table.quote_call(provider, model, &counts, at, &context);
    let quote = to_py_quote(py, call.outcome, model, table.version())?;
    Ok((quote, counts, call.provider))
}

/// Reads the counts of a usage dict and adds the tool calls it does not count itself.
fn read_counts(
    provider: Option<&str>,
    usage: &Value,
    tools: ToolCalls,
) -> Result<Usage, BindingError> {
    let mut counts = match usage.as_object() {
        Some(object) if is_normalized_usage(object) => {
            normalized_usage(object).map_err(|error| BindingError::Invalid(vec![error]))?
        }
        object => {
            if let Some(object) = object {
                check_camel_case_keys(object)
                    .map_err(|error| BindingError::Invalid(vec![error]))?;
            }
            usage::extract(provider.unwrap_or_default(), usage).map_err(usage_error)?
        }
    };
    tools.add_to(&mut counts);
    Ok(counts)
}

fn to_py_quote(
    py: Python<'_>,
    outcome: PriceOutcome,
    model: &str,
    table_version: &str,
) -> PyResult<PyQuote> {
    match outcome {
        PriceOutcome::Priced(quote) => Ok(PyQuote {
            cost_usd: Some(usd_to_py(py, quote.total)?.unbind()),
            breakdown: breakdown_to_py(py, &quote.breakdown)?.unbind(),
            provider: Some(quote.provider),
            model: quote.model,
            pricing_version: quote.pricing_version,
            unpriced_reason: None,
            total: Some(quote.total),
        }),
        PriceOutcome::Unpriced { reason } => Ok(PyQuote {
            cost_usd: None,
            breakdown: PyDict::new(py).unbind(),
            provider: None,
            model: model.to_owned(),
            pricing_version: table_version.to_owned(),
            unpriced_reason: Some(reason),
            total: None,
        }),
    }
}

fn breakdown_to_py<'py>(py: Python<'py>, breakdown: &Breakdown) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    let lines = [
        ("input", Some(breakdown.input.cost)),
        ("cache_read", Some(breakdown.cache_read.cost)),
        ("cache_write_5m", Some(breakdown.cache_write_5m.cost)),
        ("cache_write_1h", Some(breakdown.cache_write_1h.cost)),
        ("output", Some(breakdown.output.cost)),
        (
            "output_reasoning",
            breakdown.output_reasoning.map(|line| line.cost),
        ),
        ("web_searches", Some(breakdown.web_searches.cost)),
        (
            "file_searches",
            (!breakdown.file_searches.is_unused()).then_some(breakdown.file_searches.cost),
        ),
        (
            "code_interpreter_sessions",
            (!breakdown.code_interpreter_sessions.is_unused())
                .then_some(breakdown.code_interpreter_sessions.cost),
        ),
        ("request", Some(breakdown.request)),
    ];
    for (unit, cost) in lines {
        if let Some(cost) = cost {
            dict.set_item(unit, usd_to_py(py, cost)?)?;
        }
    }
    for line in &breakdown.modalities {
        dict.set_item(line.unit, usd_to_py(py, line.cost)?)?;
    }
    Ok(dict)
}

/// Maps a usage reader error to a `ValidationError` at `usage.<field>`.
fn usage_error(error: UsageError) -> BindingError {
    let field = match &error {
        UsageError::NotAnObject { field }
        | UsageError::NotAnArray { field }
        | UsageError::MissingField { field }
        | UsageError::InvalidCount { field, .. }
        | UsageError::Overflow { field } => field.as_str(),
        UsageError::PartExceedsWhole { part, .. } => part.as_str(),
        UsageError::CacheExceedsInput { .. } => "input_tokens",
        UsageError::ReasoningExceedsOutput { .. } => "output_tokens",
    };
    let path = if field == "usage" || field.starts_with("usage.") {
        field.to_owned()
    } else {
        format!("usage.{field}")
    };
    BindingError::invalid(path, error.to_string())
}
