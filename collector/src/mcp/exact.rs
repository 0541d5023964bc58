//! Exact decimals in tool results.
//!
//! The API writes money as JSON numbers with every digit of the decimal
//! (`27670116.110564327421`). rmcp 3.11 stores `structuredContent` as a
//! `serde_json::Value`, and without serde_json's `arbitrary_precision` feature a `Value`
//! keeps a fraction as an `f64`, which prints `27670116.11056433`. That feature is not
//! enabled because it would change how every crate of the workspace reads numbers: with it,
//! serde_json 1.0.154 passes a fraction to `deserialize_any` visitors as a map, which the
//! `Usd` and price visitors of `agentlens-core` reject.
//!
//! So the digits travel as text instead. [`tool_result`] puts the API body text, unchanged,
//! in the text block of the result. After rmcp has serialized a JSON-RPC response,
//! [`restore_structured_content`] writes `structuredContent` again as that text whenever
//! the text block parses to the same `Value`. The stdio transport applies it to every line
//! it writes, and the `/mcp` endpoint to every JSON response body.

use rmcp::model::{CallToolResult, ContentBlock};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::backend::ApiReply;

/// Returns the result of a successful API reply: its body as `structuredContent`, and the
/// body text exactly as received as the only text block.
pub(super) fn tool_result(reply: ApiReply) -> CallToolResult {
    let mut result = CallToolResult::structured(reply.body);
    result.content = vec![ContentBlock::text(reply.text)];
    result
}

/// Rewrites the `structuredContent` of a serialized tool result as the JSON text of its
/// only text block, when that text parses to the same `Value`.
///
/// Returns `None`, and the caller keeps `message`, when `message` is no such result, or
/// when the text contains a line break, which the line-delimited stdio transport cannot carry
/// inside a message.
pub(super) fn restore_structured_content(message: &[u8]) -> Option<Vec<u8>> {
    let message: Map<String, Value> = serde_json::from_slice(message).ok()?;
    let result = message.get("result")?.as_object()?;
    let structured = result.get("structuredContent")?;
    let [block] = result.get("content")?.as_array()?.as_slice() else {
        return None;
    };
    if block.get("type")?.as_str()? != "text" {
        return None;
    }
    let text = block.get("text")?.as_str()?;
    if text.contains(['\n', '\r']) {
        return None;
    }

    // Equal values mean the text is the structured content, with the digits that the
    // `f64` of `structured` dropped.
    let parsed: Value = serde_json::from_str(text).ok()?;
    if parsed != *structured {
        return None;
    }
    let raw = RawValue::from_string(text.to_owned()).ok()?;
    let result = ReplacedMember {
        object: result,
        key: "structuredContent",
        value: &*raw,
    };
    let message = ReplacedMember {
        object: &message,
        key: "result",
        value: &result,
    };
    serde_json::to_vec(&message).ok()
}

/// An object serialized with the value of one member replaced, in the same key order.
struct ReplacedMember<'a, T: Serialize + ?Sized> {
    object: &'a Map<String, Value>,
    key: &'a str,
    value: &'a T,
}

impl<T: Serialize + ?Sized> Serialize for ReplacedMember<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.object.len()))?;
        for (key, value) in self.object {
            if key == self.key {
                map.serialize_entry(key, self.value)?;
            } else {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn restored(message: &str) -> Option<String> {
        restore_structured_content(message.as_bytes())
            .map(|bytes| String::from_utf8(bytes).unwrap())
    }

    #[test]
    fn structured_content_takes_text_digits() {
        let text = r#"{\"total\":27670116.110564327421,\"cost\":0.0000025}"#;
        let message = format!(
            r#"{{"jsonrpc":"2.0","id":5,"result":{{"content":[{{"type":"text","text":"{text}"}}],"structuredContent":{{"total":27670116.11056433,"cost":2.5e-6}},"isError":false}}}}"#
        );

        let restored = restored(&message).unwrap();

        assert_eq!(
            restored,
            format!(
                r#"{{"jsonrpc":"2.0","id":5,"result":{{"content":[{{"type":"text","text":"{text}"}}],"structuredContent":{{"total":27670116.110564327421,"cost":0.0000025}},"isError":false}}}}"#
            )
        );
    }

    #[test]
    fn text_with_other_values_is_not_copied() {
        let message = r#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"{\"total\":2}"}],"structuredContent":{"total":1}}}"#;
        assert_eq!(restored(message), None);
    }

    #[test]
    fn multiline_text_is_not_copied() {
        let message = r#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"{\n\"total\":0.1}"}],"structuredContent":{"total":0.1}}}"#;
        assert_eq!(restored(message), None);
    }

    #[test]
    fn messages_without_structured_content_are_left_alone() {
        let cases = [
            r#"{"jsonrpc":"2.0","id":1,"result":{}}"#,
            r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32600,"message":"x"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{"content":[],"structuredContent":{}}}"#,
            "not json",
        ];
        for message in cases {
            assert_eq!(restored(message), None, "{message}");
        }
    }
}
