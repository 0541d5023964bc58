//! Conversions between Python values and the core's types.
//!
//! Every conversion that can fail returns a [`BindingError`] naming the argument or the
//! dotted path of the offending value, so the caller sees which field to fix.

use std::time::Duration;

use agentlens_core::money::Usd;
use chrono::{DateTime, Utc};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType};
use rust_decimal::Decimal;
use serde_json::{Map, Number, Value};

use crate::error::BindingError;

/// Deepest nesting of dicts and lists accepted in a payload, which keeps a
/// self-referencing structure from recursing without end.
const MAX_JSON_DEPTH: usize = 64;

static DECIMAL_TYPE: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn decimal_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    DECIMAL_TYPE.import(py, "decimal", "Decimal")
}

/// Reads an amount of dollars from a `decimal.Decimal`, a decimal string or an int.
///
/// A float is rejected because most decimal amounts have no exact binary value:
/// `0.1 + 0.2` is not `0.3`.
pub(crate) fn usd_from_py(value: &Bound<'_, PyAny>, path: &str) -> Result<Usd, BindingError> {
    let py = value.py();
    let text = if value.is_instance_of::<PyFloat>() {
        return Err(BindingError::invalid(
            path,
            format!(
                "expected decimal.Decimal, str or int, got float {value}; pass \
                 Decimal(\"{value}\") or the string \"{value}\", because a float cannot \
                 hold most decimal amounts exactly"
            ),
        ));
    } else if value.is_instance_of::<PyBool>() {
        return Err(unexpected_type(path, "decimal.Decimal, str or int", value));
    } else if value.is_instance_of::<PyInt>() {
        let amount: i64 = value
            .extract()
            .map_err(|_| BindingError::invalid(path, format!("amount {value} is out of range")))?;
        return Ok(Usd::new(Decimal::from(amount)));
    } else if let Ok(text) = value.cast::<PyString>() {
        text.to_cow().map_err(python_text_error(path))?.into_owned()
    } else if decimal_type(py)
        .and_then(|decimal| value.is_instance(decimal))
        .unwrap_or(false)
    {
        value.str().map_err(python_text_error(path))?.to_string()
    } else {
        return Err(unexpected_type(path, "decimal.Decimal, str or int", value));
    };

    text.parse::<Usd>()
        .map_err(|error| BindingError::invalid(path, error.to_string()))
}

/// Converts an amount of dollars into a `decimal.Decimal` with the same digits.
pub(crate) fn usd_to_py<'py>(py: Python<'py>, amount: Usd) -> PyResult<Bound<'py, PyAny>> {
    decimal_type(py)?.call1((amount.to_string(),))
}

/// Reads a token or tool call count: an int from 0 to 2**64 - 1.
pub(crate) fn token_count(value: &Bound<'_, PyAny>, path: &str) -> Result<u64, BindingError> {
    if value.is_instance_of::<PyBool>() || !value.is_instance_of::<PyInt>() {
        return Err(unexpected_type(path, "an int >= 0", value));
    }
    value.extract::<u64>().map_err(|_| {
        BindingError::invalid(
            path,
            format!("invalid count {value}: expected a whole number >= 0"),
        )
    })
}

/// Reads a required string argument.
pub(crate) fn text(value: &Bound<'_, PyAny>, path: &str) -> Result<String, BindingError> {
    let Ok(text) = value.cast::<PyString>() else {
        return Err(unexpected_type(path, "a str", value));
    };
    Ok(text.to_cow().map_err(python_text_error(path))?.into_owned())
}

/// Reads an optional string argument, where `None` means absent.
pub(crate) fn optional_text(
    value: Option<&Bound<'_, PyAny>>,
    path: &str,
) -> Result<Option<String>, BindingError> {
    match value {
        Some(value) if !value.is_none() => text(value, path).map(Some),
        _ => Ok(None),
    }
}

/// Reads a client setting that counts something: an int from 1 to `max`.
pub(crate) fn setting_count(
    value: &Bound<'_, PyAny>,
    name: &str,
    max: usize,
) -> Result<usize, BindingError> {
    let invalid = || {
        BindingError::Configuration(format!(
            "invalid {name} {value}: expected an int from 1 to {max}"
        ))
    };
    if value.is_instance_of::<PyBool>() || !value.is_instance_of::<PyInt>() {
        return Err(invalid());
    }
    match value.extract::<usize>() {
        Ok(count) if (1..=max).contains(&count) => Ok(count),
        _ => Err(invalid()),
    }
}

/// Reads a timeout or interval in seconds.
pub(crate) fn duration_from_seconds(seconds: f64, name: &str) -> Result<Duration, BindingError> {
    Duration::try_from_secs_f64(seconds).map_err(|_| {
        BindingError::Configuration(format!(
            "invalid {name} {seconds}: expected a finite number of seconds >= 0"
        ))
    })
}

/// Reads a timezone-aware `datetime.datetime`.
pub(crate) fn datetime_from_py(
    value: &Bound<'_, PyAny>,
    path: &str,
) -> Result<DateTime<Utc>, BindingError> {
    let text: String = value
        .call_method0("isoformat")
        .and_then(|text| text.extract())
        .map_err(|_| unexpected_type(path, "a datetime.datetime", value))?;
    DateTime::parse_from_rfc3339(&text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| {
            BindingError::invalid(
                path,
                format!(
                    "expected a timezone-aware datetime, got {text:?}; \
                     use datetime.now(timezone.utc)"
                ),
            )
        })
}

/// Converts a dict with string keys into a JSON object.
pub(crate) fn object_from_py(
    value: &Bound<'_, PyAny>,
    path: &str,
) -> Result<Map<String, Value>, BindingError> {
    match json_from_py(value, path, 0)? {
        Value::Object(object) => Ok(object),
        _ => Err(unexpected_type(path, "a dict", value)),
    }
}

/// Converts a Python value into JSON: None, bool, int, float, str, Decimal, and dicts,
/// lists and tuples of these.
pub(crate) fn json_from_py(
    value: &Bound<'_, PyAny>,
    path: &str,
    depth: usize,
) -> Result<Value, BindingError> {
    if depth > MAX_JSON_DEPTH {
        return Err(BindingError::invalid(
            path,
            format!("nested deeper than {MAX_JSON_DEPTH} levels"),
        ));
    }

    if value.is_none() {
        Ok(Value::Null)
    } else if let Ok(flag) = value.cast::<PyBool>() {
        Ok(Value::Bool(flag.is_true()))
    } else if value.is_instance_of::<PyInt>() {
        int_to_json(value, path)
    } else if let Ok(float) = value.cast::<PyFloat>() {
        Number::from_f64(float.value())
            .map(Value::Number)
            .ok_or_else(|| BindingError::invalid(path, format!("{value} is not a finite number")))
    } else if let Ok(text) = value.cast::<PyString>() {
        Ok(Value::String(
            text.to_cow().map_err(python_text_error(path))?.into_owned(),
        ))
    } else if let Ok(dict) = value.cast::<PyDict>() {
        dict_to_json(dict, path, depth)
    } else if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        sequence_to_json(value, path, depth)
    } else if is_decimal(value) {
        // Exact like `track_cost`: a JSON number would pass through an f64.
        Ok(usd_from_py(value, path)?.to_json_value())
    } else {
        Err(unexpected_type(
            path,
            "None, bool, int, float, str, Decimal, dict or list",
            value,
        ))
    }
}

fn int_to_json(value: &Bound<'_, PyAny>, path: &str) -> Result<Value, BindingError> {
    if let Ok(signed) = value.extract::<i64>() {
        return Ok(Value::from(signed));
    }
    value
        .extract::<u64>()
        .map(Value::from)
        .map_err(|_| BindingError::invalid(path, format!("integer {value} does not fit 64 bits")))
}

fn dict_to_json(dict: &Bound<'_, PyDict>, path: &str, depth: usize) -> Result<Value, BindingError> {
    let mut object = Map::with_capacity(dict.len());
    for (key, item) in dict.iter() {
        let Ok(key) = key.cast::<PyString>() else {
            return Err(unexpected_type(path, "a dict with str keys", &key));
        };
        let key = key.to_cow().map_err(python_text_error(path))?.into_owned();
        let item_path = join_path(path, &key);
        let item = json_from_py(&item, &item_path, depth + 1)?;
        object.insert(key, item);
    }
    Ok(Value::Object(object))
}

fn sequence_to_json(
    sequence: &Bound<'_, PyAny>,
    path: &str,
    depth: usize,
) -> Result<Value, BindingError> {
    let mut items = Vec::new();
    let iterator = sequence
        .try_iter()
        .map_err(|error| BindingError::invalid(path, error.to_string()))?;
    for (index, item) in iterator.enumerate() {
        let item = item.map_err(|error| BindingError::invalid(path, error.to_string()))?;
        items.push(json_from_py(
            &item,
            &join_path(path, &index.to_string()),
            depth + 1,
        )?);
    }
    Ok(Value::Array(items))
}

fn is_decimal(value: &Bound<'_, PyAny>) -> bool {
    decimal_type(value.py())
        .and_then(|decimal| value.is_instance(decimal))
        .unwrap_or(false)
}

fn join_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn unexpected_type(path: &str, expected: &str, value: &Bound<'_, PyAny>) -> BindingError {
    let type_name = value
        .get_type()
        .name()
        .map_or_else(|_| "an unknown type".to_owned(), |name| name.to_string());
    BindingError::invalid(path, format!("expected {expected}, got {type_name}"))
}

fn python_text_error(path: &str) -> impl Fn(PyErr) -> BindingError + '_ {
    move |error| BindingError::invalid(path, format!("cannot read the text: {error}"))
}
