//! The size limit of one event, from the collector's limit on a request body.
//!
//! The client splits a batch that the collector rejects as too large, down to single
//! events, so only an event that alone exceeds the limit can never be delivered. Clients
//! check that before queueing, because after queueing the event could only be counted as
//! failed.

use std::io;

use serde::Serialize;

use super::fields::FieldError;
use crate::event::Event;

/// Largest request body the collector accepts: 1 MiB.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Largest event, as JSON, that fits in a request of its own: [`MAX_BODY_BYTES`] minus the
/// `{"events":[]}` around it.
pub const MAX_EVENT_BYTES: usize = MAX_BODY_BYTES - br#"{"events":[]}"#.len();

/// Checks that `event` fits in one request to the collector.
///
/// # Errors
///
/// Returns a [`FieldError`] at `payload` or `metadata`, whichever is larger, with the
/// size of the event and the limit, when the event as JSON exceeds [`MAX_EVENT_BYTES`].
pub fn check_event_size(event: &Event) -> Result<(), FieldError> {
    let bytes = json_len(event);
    if bytes <= MAX_EVENT_BYTES {
        return Ok(());
    }

    let path = if json_len(&event.metadata) > json_len(&event.payload) {
        "metadata"
    } else {
        "payload"
    };
    Err(FieldError {
        path: path.to_owned(),
        message: format!(
            "the event is {bytes} bytes as JSON, above the limit of {MAX_EVENT_BYTES} bytes \
             per event (the collector accepts at most 1 MiB per request); store large data \
             elsewhere and send a reference to it"
        ),
    })
}

/// Returns the length of `value` as compact JSON, without building the text.
pub(crate) fn json_len(value: &impl Serialize) -> usize {
    let mut counter = ByteCounter(0);
    // Writing to a counter cannot fail, and the values here have string keys only.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

struct ByteCounter(usize);

impl io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value};

    use super::*;
    use crate::event::EventType;

    fn event_with_text(bytes: usize) -> Event {
        let mut payload = Map::new();
        payload.insert("name".into(), Value::from("x".repeat(bytes)));
        Event::new("ses_1", "agent", EventType::Custom, payload)
    }

    #[test]
    fn oversized_event_names_payload() {
        let error = check_event_size(&event_with_text(MAX_BODY_BYTES)).unwrap_err();

        assert_eq!(error.path, "payload");
        assert!(
            error.message.contains(&MAX_EVENT_BYTES.to_string()),
            "{}",
            error.message
        );
    }

    #[test]
    fn event_of_exactly_the_limit_passes() {
        let overhead = json_len(&event_with_text(0));
        let event = event_with_text(MAX_EVENT_BYTES - overhead);

        assert_eq!(json_len(&event), MAX_EVENT_BYTES);
        assert_eq!(check_event_size(&event), Ok(()));
    }
}
