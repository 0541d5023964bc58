//! `agentlens mcp`: the MCP server on stdio, forwarding to a collector over HTTP.

use rmcp::ServiceExt;

use super::backend::{Backend, BackendError};
use super::AgentLensMcp;

/// Errors of the stdio server.
#[derive(Debug, thiserror::Error)]
pub enum StdioError {
    /// The collector URL or key is unusable.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The MCP session failed to start or ended with an error.
    #[error("mcp server failed: {0}")]
    Server(String),
}

/// Serves MCP on stdin and stdout until the client closes stdin.
///
/// # Errors
///
/// Returns [`StdioError`] for an invalid URL or key, or when the MCP session fails.
pub async fn serve_stdio(url: &str, api_key: Option<&str>) -> Result<(), StdioError> {
    let backend = Backend::remote(url, api_key)?;
    tracing::info!(collector.url = %url, "mcp server started on stdio");
    let service = AgentLensMcp::new(backend)
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|error| StdioError::Server(error.to_string()))?;
    service
        .waiting()
        .await
        .map_err(|error| StdioError::Server(error.to_string()))?;
    tracing::info!("mcp server stopped");
    Ok(())
}
