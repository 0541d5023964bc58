//! The 414 and 431 responses that any request can get, added to every operation.
//!
//! [`check_request_head`](crate::request_head::check_request_head) runs before routing, so
//! no handler's attribute lists them.

use utoipa::openapi::path::Operation;
use utoipa::openapi::OpenApi;
use utoipa::Modify;

use crate::request_head::{MAX_HEADER_BYTES, MAX_HEADER_FIELDS, MAX_URI_BYTES};

/// Adds the request head limits' responses to every operation of the document.
#[derive(Debug)]
pub struct HeadLimits;

impl Modify for HeadLimits {
    fn modify(&self, openapi: &mut OpenApi) {
        let uri_too_long =
            super::error_response(&format!("The path and query exceed {MAX_URI_BYTES} bytes"));
        let headers_too_large = super::error_response(&format!(
            "The request has more than {MAX_HEADER_FIELDS} header fields, or its header \
             fields exceed {MAX_HEADER_BYTES} bytes"
        ));
        for item in openapi.paths.paths.values_mut() {
            for operation in operations(item) {
                let responses = &mut operation.responses.responses;
                responses
                    .entry("414".to_owned())
                    .or_insert_with(|| uri_too_long.clone().into());
                responses
                    .entry("431".to_owned())
                    .or_insert_with(|| headers_too_large.clone().into());
            }
        }
    }
}

/// Returns the operations of a path item, one per method it serves.
fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}
