//! The connection loop of the HTTP server: what `axum::serve` does, plus a time limit on
//! request headers.
//!
//! `axum::serve` (axum 0.8.9) gives hyper no timer, so hyper's header read timeout never runs,
//! and a client that opens a connection and never finishes its request headers keeps the
//! connection and its task forever. [`serve_connections`] accepts connections the way
//! `axum::serve` does: the same handling of accept errors, HTTP/1 and HTTP/2 with upgrades,
//! the peer address as [`ConnectInfo`], and a graceful shutdown that stops accepting and
//! waits for the requests in flight. It also closes a connection whose request headers are
//! not complete within the header read timeout. The limit applies to the first request,
//! including a connection that sends nothing, and to every later request on a keep-alive
//! connection, so an idle keep-alive connection is closed after the same time. A stalled
//! body is the router's concern (408 after [`crate::error::BODY_READ_TIMEOUT`]).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::serve::Listener;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt;

use crate::request_head::PARSER_MAX_HEADERS;

/// Maximum time a client may take to send the headers of a request, counted from the
/// connection's start or from the end of its previous response.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting
/// connections and waits for the open ones to finish their requests.
///
/// A connection that does not complete a request's headers within `header_read_timeout`
/// is closed without a response.
pub async fn serve_connections(
    mut listener: TcpListener,
    router: Router,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    // Each connection task owns a clone of `signal_tx`, whose `closed()` completes once
    // the shutdown task has dropped the only receiver.
    let (signal_tx, signal_rx) = watch::channel(());
    tokio::spawn(async move {
        shutdown.await;
        drop(signal_rx);
    });
    // Each connection task owns a receiver, so `close_tx.closed()` waits for them all.
    let (close_tx, close_rx) = watch::channel(());

    loop {
        // `Listener::accept` retries failed accepts, sleeping after errors such as
        // running out of file descriptors, as `axum::serve` does.
        let (stream, peer) = tokio::select! {
            accepted = Listener::accept(&mut listener) => accepted,
            () = signal_tx.closed() => break,
        };
        let connection = Connection {
            router: router.clone(),
            peer,
            header_read_timeout,
        };
        tokio::spawn(connection.serve(stream, signal_tx.clone(), close_rx.clone()));
    }

    drop(close_rx);
    drop(listener);
    close_tx.closed().await;
}

/// One accepted connection and what its requests need.
struct Connection {
    router: Router,
    peer: SocketAddr,
    header_read_timeout: Duration,
}

impl Connection {
    /// Serves the connection's requests until the client closes it, the header read
    /// timeout passes, or a shutdown signal lets the request in flight finish.
    async fn serve(
        self,
        stream: TcpStream,
        signal_tx: watch::Sender<()>,
        close_rx: watch::Receiver<()>,
    ) {
        let Connection {
            router,
            peer,
            header_read_timeout,
        } = self;

        // hyper's own timer covers the headers of HTTP/1 requests once the protocol is
        // detected. Until the first request starts, `started` is false and the deadline
        // below also covers a client that sends too little to tell HTTP/1 from HTTP/2.
        let started = Arc::new(AtomicBool::new(false));
        let service = {
            let started = Arc::clone(&started);
            router.map_request(move |mut request: Request<Incoming>| {
                started.store(true, Ordering::Relaxed);
                request.extensions_mut().insert(ConnectInfo(peer));
                request.map(Body::new)
            })
        };
        let mut builder = Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(header_read_timeout)
            .max_headers(PARSER_MAX_HEADERS)
            // A client may close its sending side after its last request and still read
            // the responses, which HTTP/1.1 allows. Without this, hyper drops the
            // connection at that end of input, and a request it already passed on is
            // served with no response sent.
            .half_close(true);
        // The CONNECT protocol lets WebSockets run over HTTP/2, as in `axum::serve`.
        builder.http2().enable_connect_protocol();
        let io = TokioIo::new(stream);
        let hyper_service = TowerToHyperService::new(service);
        let mut connection = pin!(builder.serve_connection_with_upgrades(io, hyper_service));
        let mut shutdown_signal = pin!(signal_tx.closed());
        let mut first_request_deadline = pin!(tokio::time::sleep(header_read_timeout));
        let mut shutting_down = false;
        let mut deadline_passed = false;

        loop {
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::trace!(%peer, %error, "connection ended with an error");
                    }
                    break;
                }
                () = &mut shutdown_signal, if !shutting_down => {
                    shutting_down = true;
                    connection.as_mut().graceful_shutdown();
                }
                // `select!` checks a branch's condition only when it starts waiting, so
                // whether a request started is read when the deadline passes.
                () = &mut first_request_deadline, if !deadline_passed => {
                    deadline_passed = true;
                    if !started.load(Ordering::Relaxed) {
                        tracing::debug!(
                            %peer,
                            timeout_secs = header_read_timeout.as_secs_f64(),
                            "closed a connection that sent no complete request headers in time"
                        );
                        break;
                    }
                }
            }
        }

        drop(close_rx);
    }
}
