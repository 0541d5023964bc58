//! `agentlens mcp`: the MCP server on stdio, forwarding to a collector over HTTP.
//!
//! Messages are JSON-RPC 2.0 objects, one per line. rmcp 3.11's own stdio transport skips
//! a line that is not JSON without a reply, which leaves the client waiting for a response.
//! [`LineTransport`] reads the lines instead. It checks each line with the rules of
//! `POST /mcp` ([`super::jsonrpc`]), writes a JSON-RPC error with `"id": null` for a line
//! that fails, and reads on. The error code is `-32700` for a line that is not JSON,
//! `-32600` for JSON that is not one message or a line over [`MAX_MESSAGE_BYTES`], and
//! `-32602` for `params` that is not an object. A `method` over
//! [`jsonrpc::MAX_METHOD_BYTES`] gets `-32601` with the message's id. A notification that
//! fails these checks gets no reply, as JSON-RPC 2.0 requires, and the server logs a
//! warning instead.

use std::future::Future;
use std::io;
use std::sync::Arc;

use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::Transport;
use rmcp::{RoleServer, ServiceExt};
use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader,
};
use tokio::sync::{mpsc, Mutex};
use tokio::task::JoinHandle;

use super::backend::{Backend, BackendError};
use super::exact;
use super::jsonrpc::{self, Rejection, INVALID_REQUEST, MAX_MESSAGE_BYTES};
use super::AgentLensMcp;

/// Byte order mark that some clients write before the first line.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

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
    let transport = LineTransport::new(tokio::io::stdin(), tokio::io::stdout());
    let service = AgentLensMcp::new(backend)
        .serve(transport)
        .await
        .map_err(|error| StdioError::Server(error.to_string()))?;
    service
        .waiting()
        .await
        .map_err(|error| StdioError::Server(error.to_string()))?;
    tracing::info!("mcp server stopped");
    Ok(())
}

/// Line-delimited JSON-RPC transport that replies with an error to every line that is not
/// a message.
///
/// A task reads the input and passes the messages on through a channel, so a read is never
/// cancelled halfway through a line. Replies and the task's error lines share one locked
/// writer, so lines never interleave.
struct LineTransport<W> {
    messages: mpsc::Receiver<ClientJsonRpcMessage>,
    output: Arc<Mutex<W>>,
    reader: JoinHandle<()>,
}

impl<W: AsyncWrite + Unpin + Send + 'static> LineTransport<W> {
    /// Creates the transport and starts reading `input`.
    fn new<R: AsyncRead + Unpin + Send + 'static>(input: R, output: W) -> LineTransport<W> {
        let output = Arc::new(Mutex::new(output));
        let (sender, messages) = mpsc::channel(16);
        let reader = tokio::spawn(read_messages(BufReader::new(input), sender, output.clone()));
        LineTransport {
            messages,
            output,
            reader,
        }
    }
}

impl<W> Drop for LineTransport<W> {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl<W: AsyncWrite + Unpin + Send + 'static> Transport<RoleServer> for LineTransport<W> {
    type Error = io::Error;

    fn send(
        &mut self,
        item: ServerJsonRpcMessage,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let output = self.output.clone();
        async move {
            let line = serde_json::to_vec(&item)?;
            let line = exact::restore_structured_content(&line).unwrap_or(line);
            write_line(&output, line).await
        }
    }

    async fn receive(&mut self) -> Option<ClientJsonRpcMessage> {
        self.messages.recv().await
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        self.reader.abort();
        self.messages.close();
        self.output.lock().await.flush().await
    }
}

/// Writes `line` and a newline, then flushes.
async fn write_line<W: AsyncWrite + Unpin>(output: &Mutex<W>, mut line: Vec<u8>) -> io::Result<()> {
    line.push(b'\n');
    let mut output = output.lock().await;
    output.write_all(&line).await?;
    output.flush().await
}

/// Outcome of reading one line.
enum LineRead {
    /// A line of at most [`MAX_MESSAGE_BYTES`] bytes, with its newline unless it ended
    /// the input.
    Line,
    /// A line over [`MAX_MESSAGE_BYTES`] bytes, skipped up to its newline.
    Oversized,
    /// The input ended.
    Eof,
}

/// Reads lines until the input ends or the service stops. Messages go to `sender`, and
/// every other line gets a JSON-RPC error on `output`, except an invalid notification,
/// which is logged and dropped.
async fn read_messages<R, W>(
    mut input: BufReader<R>,
    sender: mpsc::Sender<ClientJsonRpcMessage>,
    output: Arc<Mutex<W>>,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut line = Vec::new();
    loop {
        let parsed = match read_line(&mut input, &mut line).await {
            Ok(LineRead::Line) => parse_line(&line),
            Ok(LineRead::Oversized) => Err(Rejection::new(
                INVALID_REQUEST,
                format!(
                    "invalid request: the line exceeds the limit of {MAX_MESSAGE_BYTES} bytes; \
                     send a smaller message"
                ),
            )),
            Ok(LineRead::Eof) => return,
            Err(error) => {
                tracing::error!(error = %error, "failed to read mcp input");
                return;
            }
        };

        match parsed {
            Ok(None) => {}
            Ok(Some(message)) => {
                if sender.send(message).await.is_err() {
                    return;
                }
            }
            Err(rejection) if rejection.is_notification => {
                rejection.log_dropped_notification();
            }
            Err(rejection) => {
                tracing::debug!(jsonrpc.code = rejection.code, "rejected mcp input line");
                let reply = rejection.to_body().to_string();
                if let Err(error) = write_line(&output, reply.into_bytes()).await {
                    tracing::error!(error = %error, "failed to write mcp output");
                    return;
                }
            }
        }
    }
}

/// Reads one line of at most [`MAX_MESSAGE_BYTES`] bytes into `line`.
async fn read_line<R: AsyncBufRead + Unpin>(
    input: &mut R,
    line: &mut Vec<u8>,
) -> io::Result<LineRead> {
    line.clear();
    let limit = MAX_MESSAGE_BYTES as u64 + 1;
    let read = (&mut *input).take(limit).read_until(b'\n', line).await?;
    if read == 0 {
        return Ok(LineRead::Eof);
    }
    if line.ends_with(b"\n") || line.len() <= MAX_MESSAGE_BYTES {
        return Ok(LineRead::Line);
    }

    // The line is too long: drop the rest of it without buffering it.
    loop {
        let available = input.fill_buf().await?;
        if available.is_empty() {
            return Ok(LineRead::Oversized);
        }
        match available.iter().position(|byte| *byte == b'\n') {
            Some(end) => {
                input.consume(end + 1);
                return Ok(LineRead::Oversized);
            }
            None => {
                let length = available.len();
                input.consume(length);
            }
        }
    }
}

/// Parses one input line. Returns `None` for a blank line, and the JSON-RPC error reply for
/// a line that is not one message.
fn parse_line(line: &[u8]) -> Result<Option<ClientJsonRpcMessage>, Rejection> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = line.strip_prefix(UTF8_BOM).unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }

    jsonrpc::validate(line)?;
    let message = serde_json::from_slice(line)
        .map_err(|error| Rejection::new(INVALID_REQUEST, format!("invalid request: {error}")))?;
    Ok(Some(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(line: &str) -> Option<i64> {
        parse_line(line.as_bytes())
            .err()
            .map(|rejection| rejection.code)
    }

    #[test]
    fn non_json_line_is_parse_error() {
        assert_eq!(code_of("hello\n"), Some(-32700));
        assert_eq!(code_of("{\"jsonrpc\": \"2.0\",\n"), Some(-32700));
    }

    #[test]
    fn blank_and_message_lines_pass() {
        assert!(matches!(parse_line(b"  \r\n"), Ok(None)));
        let ping = b"\xEF\xBB\xBF{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"ping\"}\r\n";
        assert!(matches!(parse_line(ping), Ok(Some(_))));
    }

    #[tokio::test]
    async fn oversized_line_is_skipped_to_its_newline() {
        let mut input = vec![b'x'; MAX_MESSAGE_BYTES + 10];
        input.extend_from_slice(b"\n{}\n");
        let mut reader = BufReader::new(input.as_slice());
        let mut line = Vec::new();

        let first = read_line(&mut reader, &mut line).await.unwrap();
        assert!(matches!(first, LineRead::Oversized));
        let second = read_line(&mut reader, &mut line).await.unwrap();
        assert!(matches!(second, LineRead::Line));
        assert_eq!(line, b"{}\n");
    }
}
