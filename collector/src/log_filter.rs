//! The log filter of the `agentlens` binary.
//!
//! `RUST_LOG` sets the filter with `tracing-subscriber`'s `EnvFilter` directives. At DEBUG,
//! rmcp 3.11 logs every MCP request whole, so a 1 MB tool call would put 1 MB into the log.
//! [`build`] therefore caps the targets of rmcp at INFO when the filter's default level is
//! DEBUG or TRACE, unless a directive names an rmcp target. `RUST_LOG=debug,rmcp=debug`
//! shows rmcp's debug logs again.

use std::str::FromStr;

use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::EnvFilter;

/// Target prefix of the MCP SDK's logs.
const RMCP_TARGET: &str = "rmcp";

/// Directive that caps the MCP SDK's logs at INFO.
const RMCP_CAP: &str = "rmcp=info";

/// Builds the log filter from `directives`, the value of `RUST_LOG`, or from
/// `default_level` when `directives` is unset or invalid. Adds `rmcp=info` when a
/// default level in `directives` is more verbose than INFO and no directive names an rmcp
/// target.
///
/// NOTE: a span directive such as `[request]=debug` still enables rmcp's debug logs inside
/// that span, because `EnvFilter` lets a matching span directive override target directives.
pub fn build(directives: Option<&str>, default_level: LevelFilter) -> EnvFilter {
    let default_text = default_level.to_string();
    let parsed = directives.and_then(|text| Some((EnvFilter::try_new(text).ok()?, text)));
    let (mut filter, text) =
        parsed.unwrap_or_else(|| (EnvFilter::new(&default_text), default_text.as_str()));

    if needs_rmcp_cap(text) {
        let cap = RMCP_CAP.parse().expect("the rmcp cap is a valid directive");
        filter = filter.add_directive(cap);
    }
    filter
}

/// Returns true when a default level in `directives` is DEBUG or TRACE and no directive
/// names an rmcp target. Splits on commas, as `EnvFilter` does, without trimming, so a
/// directive reads here as it reads there.
fn needs_rmcp_cap(directives: &str) -> bool {
    let mut is_verbose = false;
    for directive in directives.split(',') {
        if names_rmcp(directive) {
            return false;
        }
        if LevelFilter::from_str(directive).is_ok_and(|level| level > LevelFilter::INFO) {
            is_verbose = true;
        }
    }
    is_verbose
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
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::Registry;

    use super::*;

    /// Returns whether `filter` enables an event of `target` at `level`.
    fn enables(filter: EnvFilter, target: &str, level: Level) -> bool {
        let subscriber = Registry::default().with(filter);
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
            let filter = || build(Some(directives), LevelFilter::INFO);

            assert!(
                !enables(filter(), "rmcp::service", Level::DEBUG),
                "{directives}"
            );
            assert!(
                enables(filter(), "rmcp::service", Level::INFO),
                "{directives}"
            );
            assert!(
                enables(filter(), "agentlens_collector::mcp", Level::DEBUG),
                "{directives}"
            );
        }
    }

    #[test]
    fn filter_naming_rmcp_keeps_its_level() {
        let filter = || build(Some("debug,rmcp=debug"), LevelFilter::INFO);
        assert!(enables(filter(), "rmcp::service", Level::DEBUG));

        let target = "rmcp::transport::streamable_http_server";
        let filter = || build(Some("rmcp::transport=trace,debug"), LevelFilter::INFO);
        assert!(enables(filter(), target, Level::TRACE));
        assert!(!enables(filter(), "rmcp::service", Level::TRACE));
        assert!(enables(filter(), "rmcp::service", Level::DEBUG));
    }

    #[test]
    fn quiet_filter_does_not_raise_rmcp() {
        let filter = || build(Some("warn"), LevelFilter::INFO);
        assert!(!enables(filter(), "rmcp::service", Level::INFO));

        let filter = || build(Some("agentlens_collector=debug"), LevelFilter::INFO);
        assert!(!enables(filter(), "rmcp::service", Level::INFO));
        assert!(enables(filter(), "agentlens_collector::mcp", Level::DEBUG));
    }

    #[test]
    fn unset_or_invalid_uses_default_level() {
        for directives in [None, Some("debug,hyper=loud")] {
            let filter = || build(directives, LevelFilter::INFO);
            let label = format!("{directives:?}");

            assert!(enables(filter(), "rmcp::service", Level::INFO), "{label}");
            assert!(
                !enables(filter(), "agentlens_collector::mcp", Level::DEBUG),
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
