//! The log filter of the `agentlens` binary.
//!
//! `RUST_LOG` sets the filter with `tracing-subscriber`'s `EnvFilter` directives. At DEBUG,
//! rmcp 3.11 logs every MCP request whole, so a 1 MB tool call would put 1 MB into the log.
//! [`build`] therefore drops rmcp's DEBUG and TRACE logs unless a directive names an rmcp
//! target, also inside spans that a span directive such as `[request]=debug` enables.
//! `RUST_LOG=debug,rmcp=debug` shows rmcp's debug logs again.

use tracing::{Metadata, Subscriber};
use tracing_subscriber::filter::{filter_fn, FilterExt, LevelFilter};
use tracing_subscriber::layer::Filter;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// Target prefix of the MCP SDK's logs.
const RMCP_TARGET: &str = "rmcp";

/// Builds the log filter from `directives`, the value of `RUST_LOG`, or from
/// `default_level` when `directives` is unset or invalid. Unless a directive names an
/// rmcp target, the filter also drops rmcp's logs below INFO.
pub fn build<S>(directives: Option<&str>, default_level: LevelFilter) -> impl Filter<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let default_text = default_level.to_string();
    let parsed = directives.and_then(|text| Some((EnvFilter::try_new(text).ok()?, text)));
    let (filter, text) =
        parsed.unwrap_or_else(|| (EnvFilter::new(&default_text), default_text.as_str()));

    let keeps_rmcp = text.split(',').any(names_rmcp);
    filter.and(filter_fn(move |metadata| {
        keeps_rmcp || !is_verbose_rmcp(metadata)
    }))
}

/// Returns true for a log or span of an rmcp target below INFO.
fn is_verbose_rmcp(metadata: &Metadata<'_>) -> bool {
    *metadata.level() > tracing::Level::INFO && names_rmcp(metadata.target())
}

/// Returns true when the target of `directive` (the text before any `[` or `=`) is rmcp
/// or a module of it.
fn names_rmcp(directive: &str) -> bool {
    let end = directive.find(['[', '=']).unwrap_or(directive.len());
    let target = &directive[..end];
    target == RMCP_TARGET
        || target
            .strip_prefix(RMCP_TARGET)
            .is_some_and(|rest| rest.starts_with("::"))
}

#[cfg(test)]
mod tests {
    use tracing::Level;
    use tracing_subscriber::layer::{Identity, Layer, SubscriberExt};
    use tracing_subscriber::Registry;

    use super::*;

    /// Returns whether the filter of `directives` enables an event of `target` at `level`.
    fn enables(directives: Option<&str>, target: &str, level: Level) -> bool {
        let filter = build(directives, LevelFilter::INFO);
        let subscriber = Registry::default().with(Identity::new().with_filter(filter));
        tracing::subscriber::with_default(subscriber, || probe(target, level))
    }

    /// Returns whether the current subscriber enables an event of `target` at `level`.
    /// `enabled!` takes only a constant target and level, so each pair has its own arm.
    fn probe(target: &str, level: Level) -> bool {
        macro_rules! enabled_at {
            ($target:literal) => {
                match level {
                    Level::TRACE => tracing::enabled!(target: $target, Level::TRACE),
                    Level::DEBUG => tracing::enabled!(target: $target, Level::DEBUG),
                    Level::INFO => tracing::enabled!(target: $target, Level::INFO),
                    other => panic!("no probe for level {other}"),
                }
            };
        }
        match target {
            "rmcp::service" => enabled_at!("rmcp::service"),
            "rmcp::transport::streamable_http_server" => {
                enabled_at!("rmcp::transport::streamable_http_server")
            }
            "agentlens_collector::mcp" => enabled_at!("agentlens_collector::mcp"),
            other => panic!("no probe for target {other}"),
        }
    }

    #[test]
    fn debug_caps_rmcp_at_info() {
        for directives in ["debug", "trace", "debug,hyper=warn", "info,debug"] {
            let enables = |target, level| enables(Some(directives), target, level);

            assert!(!enables("rmcp::service", Level::DEBUG), "{directives}");
            assert!(enables("rmcp::service", Level::INFO), "{directives}");
            assert!(
                enables("agentlens_collector::mcp", Level::DEBUG),
                "{directives}"
            );
        }
    }

    #[test]
    fn span_directive_keeps_rmcp_at_info() {
        let filter = build(Some("[request]=debug"), LevelFilter::INFO);
        let subscriber = Registry::default().with(Identity::new().with_filter(filter));
        tracing::subscriber::with_default(subscriber, || {
            let _request = tracing::info_span!("request").entered();

            assert!(!probe("rmcp::service", Level::DEBUG));
            assert!(probe("rmcp::service", Level::INFO));
            assert!(probe("agentlens_collector::mcp", Level::DEBUG));
        });
    }

    #[test]
    fn filter_naming_rmcp_keeps_its_level() {
        assert!(enables(
            Some("debug,rmcp=debug"),
            "rmcp::service",
            Level::DEBUG
        ));

        let directives = Some("rmcp::transport=trace,debug");
        let target = "rmcp::transport::streamable_http_server";
        assert!(enables(directives, target, Level::TRACE));
        assert!(!enables(directives, "rmcp::service", Level::TRACE));
        assert!(enables(directives, "rmcp::service", Level::DEBUG));
    }

    #[test]
    fn quiet_filter_does_not_raise_rmcp() {
        assert!(!enables(Some("warn"), "rmcp::service", Level::INFO));

        let directives = Some("agentlens_collector=debug");
        assert!(!enables(directives, "rmcp::service", Level::INFO));
        assert!(enables(
            directives,
            "agentlens_collector::mcp",
            Level::DEBUG
        ));
    }

    #[test]
    fn unset_or_invalid_uses_default_level() {
        for directives in [None, Some("debug,hyper=loud")] {
            let label = format!("{directives:?}");

            assert!(enables(directives, "rmcp::service", Level::INFO), "{label}");
            assert!(
                !enables(directives, "agentlens_collector::mcp", Level::DEBUG),
                "{label}"
            );
        }
    }

    #[test]
    fn rmcp_lookalike_target_is_not_rmcp() {
        assert!(names_rmcp("rmcp"));
        assert!(names_rmcp("rmcp::service=debug"));
        assert!(names_rmcp("rmcp[span]=trace"));
        assert!(!names_rmcp("rmcp_extra=debug"));
        assert!(!names_rmcp("debug"));
        assert!(!names_rmcp(" rmcp=debug"));
    }
}
