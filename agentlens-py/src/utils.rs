//! Helpers shared by the binding's methods.

use pyo3::prelude::*;

/// Runs `work` with the interpreter detached, so other Python threads keep running while
/// this one waits on the client's background thread.
///
/// Every call that can block (`flush`, `shutdown`) goes through here.
pub(crate) fn without_gil<T, F>(py: Python<'_>, work: F) -> T
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    py.detach(work)
}
