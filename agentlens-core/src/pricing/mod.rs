//! Prices model calls from the embedded price table.
