//! The real server on an ephemeral port, stopped through its shutdown future.

use std::net::SocketAddr;
use std::time::Duration;

use agentlens_collector::{open_state, run, ServeError, ServeOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Starts the real server on an ephemeral port over a new file in `dir`, stopping when
/// `shutdown` completes, and returns its address and task.
async fn start(
    dir: &tempfile::TempDir,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> (SocketAddr, JoinHandle<Result<(), ServeError>>) {
    let options = ServeOptions {
        bind: "127.0.0.1:0".parse().unwrap(),
        db: dir.path().join("agentlens.db"),
        auth_enabled: false,
        alert_interval: Duration::from_secs(1),
        preset_key: None,
        prices: None,
        rate_limit: 0,
        alerts: Default::default(),
    };
    let state = open_state(&options).await.unwrap();
    let listener = TcpListener::bind(options.bind).await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(run(listener, state, options.alert_interval, shutdown));
    (address, server)
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
