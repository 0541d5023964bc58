//! Request handlers, one file per resource. Each handler reads its inputs, calls the store
//! or a domain module, and shapes the response; the logic lives elsewhere.

pub mod alerts;
pub mod analytics;
pub mod budgets;
pub mod docs;
pub mod events;
pub mod health;
pub mod keys;
pub mod pricing;
pub mod server_info;
pub mod sessions;

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::store::Page;

/// A listing body: `{<key>: [...], "total": n, "hasMore": bool}`.
///
/// Items are serialized directly, never through `serde_json::Value`, so exact decimals and
/// stored payload text reach the client unchanged.
#[derive(Debug)]
pub struct PageBody<T> {
    key: &'static str,
    page: Page<T>,
}

impl<T> PageBody<T> {
    /// Wraps a page under `key`.
    pub fn new(key: &'static str, page: Page<T>) -> Self {
        PageBody { key, page }
    }
}

impl<T: Serialize> Serialize for PageBody<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry(self.key, &self.page.items)?;
        map.serialize_entry("total", &self.page.total)?;
        map.serialize_entry("hasMore", &self.page.has_more)?;
        map.end()
    }
}
