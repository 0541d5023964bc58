//! The exception hierarchy of the `agentlens` package and the mapping of every binding
//! failure onto it.
//!
//! ```text
//! AgentLensError
//! ├── ValidationError      an argument or event is invalid, so nothing was queued
//! └── ConfigurationError   the client cannot start with the given settings
//! ```
//!
//! Delivery failures are never raised: the core client counts and logs them.

use agentlens_core::client::ClientError;
use agentlens_core::validate::FieldError;
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

create_exception!(
    agentlens,
    AgentLensError,
    PyException,
    "Base class of every error that AgentLens raises."
);
create_exception!(
    agentlens,
    ValidationError,
    AgentLensError,
    "An argument or event is invalid, so nothing was queued.\n\n\
     `errors` lists every violation as a `(path, message)` pair and `path` is the first \
     path, such as `cost_usd` or `payload.reason`."
);
create_exception!(
    agentlens,
    ConfigurationError,
    AgentLensError,
    "The client cannot start with the given settings, such as an invalid server URL."
);

/// A failure of a binding call, converted to a Python exception at the boundary.
#[derive(Debug)]
pub(crate) enum BindingError {
    /// One or more values are invalid.
    Invalid(Vec<FieldError>),
    /// A client setting is invalid or the client cannot start.
    Configuration(String),
    /// A Python call made by the binding raised, and the exception passes through unchanged.
    Python(PyErr),
}

impl BindingError {
    /// Returns the error for a single invalid value at `path`.
    pub(crate) fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        BindingError::Invalid(vec![FieldError {
            path: path.into(),
            message: message.into(),
        }])
    }
}

impl From<ClientError> for BindingError {
    fn from(error: ClientError) -> Self {
        BindingError::Configuration(error.to_string())
    }
}

impl From<PyErr> for BindingError {
    fn from(error: PyErr) -> Self {
        BindingError::Python(error)
    }
}

impl From<BindingError> for PyErr {
    fn from(error: BindingError) -> PyErr {
        match error {
            BindingError::Invalid(errors) => Python::attach(|py| validation_error(py, &errors)),
            BindingError::Configuration(message) => ConfigurationError::new_err(message),
            BindingError::Python(error) => error,
        }
    }
}

/// Builds a `ValidationError` whose message lists every violation, with the violations
/// also kept as the `errors` and `path` attributes.
fn validation_error(py: Python<'_>, errors: &[FieldError]) -> PyErr {
    let lines: Vec<String> = errors
        .iter()
        .map(|error| format!("{}: {}", display_path(&error.path), error.message))
        .collect();
    let message = match lines.as_slice() {
        [single] => single.clone(),
        _ => format!("{} invalid values: {}", lines.len(), lines.join("; ")),
    };
    let exception = ValidationError::new_err(message);

    let attributes = (|| -> PyResult<()> {
        let pairs = errors
            .iter()
            .map(|error| PyTuple::new(py, [error.path.as_str(), error.message.as_str()]))
            .collect::<PyResult<Vec<_>>>()?;
        let value = exception.value(py);
        value.setattr("errors", PyList::new(py, pairs)?)?;
        let first = errors.first().map_or("", |error| error.path.as_str());
        value.setattr("path", first)
    })();
    // Failing to set an attribute is a deeper error (out of memory), and it wins.
    match attributes {
        Ok(()) => exception,
        Err(error) => error,
    }
}

fn display_path(path: &str) -> &str {
    if path.is_empty() {
        "event"
    } else {
        path
    }
}

/// Adds the exception classes to the module.
pub(crate) fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    module.add("AgentLensError", py.get_type::<AgentLensError>())?;
    module.add("ValidationError", py.get_type::<ValidationError>())?;
    module.add("ConfigurationError", py.get_type::<ConfigurationError>())
}
