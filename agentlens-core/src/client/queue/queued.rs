//! [`QueuedEvent`], an event as it waits in the queue.

use ulid::Ulid;

use crate::client::CostEvent;
use crate::event::Event;

/// An event as the caller's thread queued it. A cost event waits unconverted, so that
/// building its payload map happens on the background thread instead of the caller's.
#[derive(Debug)]
pub(crate) enum QueuedEvent {
    /// An event from [`Client::log`](crate::client::Client::log), already stamped.
    Event(Event),
    /// A cost from [`Client::track_cost`](crate::client::Client::track_cost) with its
    /// timestamp filled in, and the id its event gets.
    Cost { cost: CostEvent, id: Ulid },
}

impl QueuedEvent {
    /// Converts the queued item into the event that is sent, filling an empty agent id
    /// with `default_agent_id` as [`Client::log`](crate::client::Client::log) does.
    pub(crate) fn into_event(self, default_agent_id: &str) -> Event {
        match self {
            QueuedEvent::Event(event) => event,
            QueuedEvent::Cost { cost, id } => {
                let mut event = cost.into_event(default_agent_id);
                event.id = Some(id.to_string());
                if event.agent_id.is_empty() {
                    default_agent_id.clone_into(&mut event.agent_id);
                }
                event
            }
        }
    }
}
