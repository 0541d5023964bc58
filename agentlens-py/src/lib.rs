//! Python bindings of AgentLens, built as the private module `agentlens._native`.
//!
//! The public package is the pure Python `agentlens` in `python/agentlens/`. It reads
//! defaults from the environment, manages sessions, `atexit` and `os.fork()`, and calls
//! this module for everything else:
//!
//! - `client::PyClient` (Python name `NativeClient`) wraps the core batching client. Its
//!   methods convert their arguments, check the event and queue it without I/O on the
//!   caller's thread.
//! - `pricing::quote` and `pricing::PyQuote` (`Quote`) expose the embedded price table.
//! - `conversion` contains every conversion between Python values and core types, and
//!   `error` maps every failure to the exception hierarchy rooted at `AgentLensError`.

use pyo3::prelude::*;

mod client;
mod conversion;
mod error;
mod pricing;
mod utils;

/// Creates the `agentlens._native` module.
#[pymodule]
#[pyo3(name = "_native")]
fn native_module(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add(
        "PRICING_VERSION",
        agentlens_core::pricing::PriceTable::embedded().version(),
    )?;
    module.add_class::<client::PyClient>()?;
    module.add_class::<pricing::PyQuote>()?;
    module.add_function(wrap_pyfunction!(pricing::quote, module)?)?;
    module.add_function(wrap_pyfunction!(client::new_session_id, module)?)?;
    error::register(module)
}
