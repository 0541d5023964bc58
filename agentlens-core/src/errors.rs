//! Formatting of errors for people.

/// Returns the error's message followed by the messages of its sources, joined by `: `.
///
/// reqwest's own message, for example, leaves out the cause ("error sending request")
/// that a reader needs.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn chain_lists_each_source() {
        let error = Outer(std::io::Error::other("inner"));

        assert_eq!(error_chain(&error), "outer: inner");
    }
}
