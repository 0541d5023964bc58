//! Batches events on a background task and sends them to a collector.
