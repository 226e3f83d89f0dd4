//! The accept loop of a node. It owns every TCP connection from accept to close: it refuses a
//! connection over the per-address cap ([`crate::conn_cap`]) with `429 rate_limited` before any
//! HTTP is read, and serves the others as HTTP/1.1 with the router through hyper — with a
//! deadline on each request head (which also closes idle keep-alive connections), websocket
//! upgrades, the peer address as `ConnectInfo<SocketAddr>`, and a JSON body on hyper's own
//! parse-error answers ([`crate::parse_errors`]). When the shutdown future resolves it stops
//! accepting and lets the requests in flight finish, for at most [`SHUTDOWN_GRACE`].
//!
//! hyper's HTTP/1 builder is used directly, not hyper-util's `auto` one: `auto` first reads up
//! to 24 bytes to tell HTTP/2 from HTTP/1, with no deadline, so a connection that sends nothing
//! would never time out (hyper's header timer starts only in the HTTP/1 connection). The server
//! has never spoken HTTP/2 (axum's `http2` feature is off).

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use chat_protocol::{ApiError, ErrorCode};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower_service::Service;

use crate::config::Config;
use crate::conn_cap::{ConnCap, Counted};
use crate::http::error_body::body_bytes;
use crate::parse_errors::ErrorBodies;

/// How long requests in flight may take to finish once shutdown has begun.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// `retry_after` of a connection refused for its address's cap, in seconds.
const REFUSED_RETRY_AFTER: u32 = 1;

/// How long a refused connection is kept to read what its client sent, so that closing it does
/// not reset the connection before the client has read the 429.
const REFUSAL_LINGER: Duration = Duration::from_millis(500);

/// The limits of each connection, from [`Config`].
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deadline of each request head; zero: none.
    pub header_read_timeout: Duration,
    /// Most connections open at once per IP address; 0: no cap.
    pub max_connections_per_ip: usize,
}

impl Limits {
    pub fn from_config(config: &Config) -> Limits {
        Limits {
            header_read_timeout: config.header_read_timeout,
            max_connections_per_ip: config.max_connections_per_ip,
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then for at most [`SHUTDOWN_GRACE`]
/// while requests in flight finish. Upgraded websockets are not waited for: they end with the
/// node's own shutdown (`AppState::begin_shutdown`).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let cap = ConnCap::new(limits.max_connections_per_ip);
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new());
    if !limits.header_read_timeout.is_zero() {
        http.header_read_timeout(limits.header_read_timeout);
    }
    // Each connection task holds a receiver: `closed()` tells when all have ended.
    let (stop_tx, stop_rx) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // No Nagle: a response written in parts (headers, then the body) would otherwise wait
        // for the client's delayed ACK, ~40 ms per request on loopback.
        let _ = tcp.set_nodelay(true);
        match cap.acquire(peer.ip()) {
            Some(slot) => {
                let io = Counted::new(tcp, slot);
                tokio::spawn(serve_connection(
                    http.clone(),
                    io,
                    peer,
                    router.clone(),
                    stop_rx.clone(),
                ));
            }
            None => {
                warn_refused(peer, cap.max());
                tokio::spawn(refuse(tcp, cap.max()));
            }
        }
    }
    drop(listener);
    drop(stop_rx);
    stop_tx.send_replace(());
    if tokio::time::timeout(SHUTDOWN_GRACE, stop_tx.closed())
        .await
        .is_err()
    {
        tracing::warn!("shutdown: requests still running after {SHUTDOWN_GRACE:?}; leaving them");
    }
    Ok(())
}

/// One HTTP connection, until it closes or shutdown has let its request in flight finish.
async fn serve_connection(
    http: http1::Builder,
    io: Counted<TcpStream>,
    peer: SocketAddr,
    router: Router,
    mut stop: watch::Receiver<()>,
) {
    let service = service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        router.clone().call(req)
    });
    let conn = http
        .serve_connection(TokioIo::new(ErrorBodies::new(io)), service)
        .with_upgrades();
    let mut conn = std::pin::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        // Timeouts, parse errors, clients that went away: the connection's own business.
        tracing::debug!(%peer, error = %e, "connection ended");
    }
}

/// The answer to a connection over its address's cap: 429 `rate_limited`, then close. The
/// router never sees it.
async fn refuse(mut tcp: TcpStream, max: usize) {
    let mut error = ApiError::new(
        ErrorCode::RateLimited,
        format!("too many connections from this address (at most {max} at once); retry later"),
    );
    error.retry_after = Some(REFUSED_RETRY_AFTER);
    let body = body_bytes(&error);
    let head = format!(
        "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         retry-after: {REFUSED_RETRY_AFTER}\r\nconnection: close\r\ndate: {}\r\n\r\n",
        body.len(),
        chrono::Utc::now().format("%a, %d %b %Y %H:%M:%S GMT"),
    );
    let answer = async {
        tcp.write_all(head.as_bytes()).await?;
        tcp.write_all(&body).await?;
        tcp.shutdown().await?;
        let mut sink = [0u8; 4096];
        let mut read = 0;
        while read < 64 * 1024 {
            match tcp.read(&mut sink).await? {
                0 => break,
                n => read += n,
            }
        }
        Ok::<(), io::Error>(())
    };
    let _ = tokio::time::timeout(REFUSAL_LINGER, answer).await;
}

/// Logs a refusal, at most once every 10 s.
fn warn_refused(peer: SocketAddr, max: usize) {
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = chrono::Utc::now().timestamp();
    let last = LAST.load(Ordering::Relaxed);
    if now - last >= 10
        && LAST
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        tracing::warn!(%peer, max, "connection refused: too many connections from this address");
    }
}

/// An accept error: the listener keeps going. Per-connection errors are ignored; others (such as
/// running out of file descriptors) are logged and retried after a pause.
async fn accept_failed(e: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accept failed; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
