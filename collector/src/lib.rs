//! The AgentLens collector: an HTTP API compatible with upstream AgentLens, backed by
//! SQLite, plus the `agentlens` command-line tool.
