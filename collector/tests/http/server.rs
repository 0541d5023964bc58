//! The real server on an ephemeral port, stopped through its shutdown future.

use std::net::SocketAddr;
use std::time::Duration;

use agentlens_collector::router::build_router;
use agentlens_collector::server::serve_connections;
use agentlens_collector::{open_state, run, ServeError, ServeOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::common::serve_options;

/// Starts the real server on an ephemeral port over a new file in `dir`, stopping when
/// `shutdown` completes, and returns its address and task.
async fn start(
    dir: &tempfile::TempDir,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> (SocketAddr, JoinHandle<Result<(), ServeError>>) {
    let options = ServeOptions {
        alert_interval: Duration::from_secs(1),
        ..serve_options(dir.path().join("agentlens.db"))
    };
    let state = open_state(&options).await.unwrap();
    let listener = TcpListener::bind(options.bind).await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(run(listener, state, options.alert_interval, shutdown));
    (address, server)
}

/// Serves the routes over a new file in `dir` with a header read timeout of `timeout`,
/// until the test ends, and returns the address.
async fn start_with_header_timeout(dir: &tempfile::TempDir, timeout: Duration) -> SocketAddr {
    let options = serve_options(dir.path().join("agentlens.db"));
    let state = open_state(&options).await.unwrap();
    let listener = TcpListener::bind(options.bind).await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = build_router(state);
    tokio::spawn(serve_connections(
        listener,
        router,
        timeout,
        std::future::pending(),
    ));
    address
}

/// Writes `sent` on a new connection and returns how long the server took to close it.
async fn time_until_closed(address: SocketAddr, sent: &[u8]) -> Duration {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(sent).await.unwrap();
    let started = std::time::Instant::now();
    let mut response = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut response))
        .await
        .expect("the server closes the connection");
    // A reset is a close as well.
    if read.is_ok() {
        assert!(
            response.is_empty(),
            "{}",
            String::from_utf8_lossy(&response)
        );
    }
    started.elapsed()
}

#[tokio::test]
async fn half_sent_headers_close_connection() {
    let dir = tempfile::tempdir().unwrap();
    let address = start_with_header_timeout(&dir, Duration::from_secs(1)).await;

    let waited = time_until_closed(address, b"GET /api/health HTTP/1.1\r\nHost: loc").await;

    assert!(
        waited >= Duration::from_millis(900),
        "closed after {waited:?}"
    );
}

#[tokio::test]
async fn silent_connection_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let address = start_with_header_timeout(&dir, Duration::from_secs(1)).await;

    let waited = time_until_closed(address, b"").await;

    assert!(
        waited >= Duration::from_millis(900),
        "closed after {waited:?}"
    );
}

#[tokio::test]
async fn idle_keep_alive_connection_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let address = start_with_header_timeout(&dir, Duration::from_secs(1)).await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    let request = format!("GET /api/health HTTP/1.1\r\nHost: {address}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut first = vec![0; 4096];
    let read = stream.read(&mut first).await.unwrap();
    assert!(first[..read].starts_with(b"HTTP/1.1 200 OK"));

    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut rest)).await;

    assert!(closed.is_ok(), "the idle connection stays open");
}

#[tokio::test]
async fn server_answers_and_shuts_down() {
    let dir = tempfile::tempdir().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (address, server) = start(&dir, async {
        let _ = stopped.await;
    })
    .await;

    let mut stream = TcpStream::connect(address).await.unwrap();
    let request =
        format!("GET /api/health HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(
        response.to_ascii_lowercase().contains("x-api-version: v1"),
        "{response}"
    );
    assert!(response.contains("\"status\":\"ok\""), "{response}");

    stop.send(()).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(10), server).await;
    assert!(result.expect("server stops within 10 s").unwrap().is_ok());
}

/// Waits out the collector's 30-second body read timeout, so it runs for about that long.
#[tokio::test]
async fn stalled_body_gets_408() {
    let dir = tempfile::tempdir().unwrap();
    let (address, _server) = start(&dir, std::future::pending()).await;

    let mut stream = TcpStream::connect(address).await.unwrap();
    let request = format!(
        "POST /api/events HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\n\r\n{{\"ev"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = vec![0; 4096];
    let read = tokio::time::timeout(Duration::from_secs(90), stream.read(&mut response))
        .await
        .expect("the server answers a stalled body")
        .unwrap();
    let response = String::from_utf8_lossy(&response[..read]);
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(response.contains("Request body timed out"), "{response}");
}

/// Sends `head` on a new connection and returns the status line and the JSON body of the
/// response.
async fn send_head(address: SocketAddr, head: String) -> (String, serde_json::Value) {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .expect("the server responds and closes")
        .unwrap();
    let response = String::from_utf8(response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status_line = head.lines().next().unwrap().to_owned();
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    (status_line, serde_json::from_str(body).unwrap())
}

#[tokio::test]
async fn long_uri_gets_json_414() {
    let dir = tempfile::tempdir().unwrap();
    let (address, _server) = start(&dir, std::future::pending()).await;
    let query = "a".repeat(20_000);

    let head = format!(
        "GET /api/analytics/costs?agentId={query} HTTP/1.1\r\nHost: {address}\r\n\
         Connection: close\r\n\r\n"
    );
    let (status, body) = send_head(address, head).await;

    assert!(status.starts_with("HTTP/1.1 414"), "{status}");
    assert_eq!(body["status"], 414);
    assert_eq!(body["error"], "URI too long");
    assert_eq!(body["maxBytes"], 8192);
}

#[tokio::test]
async fn too_many_headers_get_json_431() {
    let dir = tempfile::tempdir().unwrap();
    let (address, _server) = start(&dir, std::future::pending()).await;
    let fields: String = (0..150).map(|n| format!("X-Field-{n}: {n}\r\n")).collect();

    let head =
        format!("GET /api/health HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n{fields}\r\n");
    let (status, body) = send_head(address, head).await;

    assert!(status.starts_with("HTTP/1.1 431"), "{status}");
    assert_eq!(body["status"], 431);
    assert_eq!(body["error"], "Request header fields too large");
    assert_eq!(body["maxFields"], 100);
}

#[tokio::test]
async fn large_header_gets_json_431() {
    let dir = tempfile::tempdir().unwrap();
    let (address, _server) = start(&dir, std::future::pending()).await;
    let value = "v".repeat(40_000);

    let head = format!(
        "GET /api/health HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
         X-Large: {value}\r\n\r\n"
    );
    let (status, body) = send_head(address, head).await;

    assert!(status.starts_with("HTTP/1.1 431"), "{status}");
    assert_eq!(body["status"], 431);
    assert_eq!(body["maxBytes"], 32768);
}

/// Returns a complete `POST /api/events` request of one event with the client id `id`.
fn ingest_request(address: SocketAddr, id: &str, extra_headers: &str) -> String {
    let body = format!(
        r#"{{"events":[{{"id":"{id}","sessionId":"s1","agentId":"a1","eventType":"custom","payload":{{"type":"t","data":{{}}}}}}]}}"#
    );
    format!(
        "POST /api/events HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n{extra_headers}\r\n{body}",
        body.len()
    )
}

#[tokio::test]
async fn half_closed_client_gets_its_response() {
    let dir = tempfile::tempdir().unwrap();
    let (address, _server) = start(&dir, std::future::pending()).await;

    let mut stream = TcpStream::connect(address).await.unwrap();
    let request = ingest_request(address, "half-close-1", "");
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.shutdown().await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .expect("the server answers and closes")
        .unwrap();

    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
}

#[tokio::test]
async fn declared_oversized_body_gets_413_before_upload() {
    let dir = tempfile::tempdir().unwrap();
    let (address, _server) = start(&dir, std::future::pending()).await;

    let mut stream = TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /api/events HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: 2000000\r\nExpect: 100-continue\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut response = vec![0; 4096];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut response))
        .await
        .expect("the server answers without waiting for the body")
        .unwrap();

    let response = String::from_utf8_lossy(&response[..read]);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(!response.contains("100 Continue"), "{response}");
    assert!(response.contains("\"maxBytes\":1048576"), "{response}");
}

#[tokio::test]
async fn stop_leaves_every_commit_in_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (address, server) = start(&dir, async {
        let _ = stopped.await;
    })
    .await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    let request = ingest_request(address, "kept-1", "Connection: close\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");

    stop.send(()).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(10), server).await;
    assert!(result.expect("server stops within 10 s").unwrap().is_ok());

    // A copy of the database file alone, without its WAL, contains the event.
    let copy = tempfile::tempdir().unwrap();
    let copied = copy.path().join("agentlens.db");
    std::fs::copy(dir.path().join("agentlens.db"), &copied).unwrap();
    let conn = rusqlite::Connection::open(&copied).unwrap();
    let count: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM events WHERE client_id = 'kept-1'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(count, 1);
}
