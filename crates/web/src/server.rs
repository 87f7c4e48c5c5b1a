//! The HTTP server loop: what `axum::serve` does, plus the limits a service facing hostile
//! clients needs and a shutdown that loses no request.
//!
//! - A cap on open connections: at the cap the loop stops accepting (new connections wait in
//!   the kernel's backlog) instead of running out of file descriptors; if descriptors run out
//!   anyway, accepting pauses briefly and goes on.
//! - A header read timeout, which in hyper also bounds how long an idle keep-alive connection
//!   stays open: a client that sends half its headers, or nothing, is closed after it.
//! - Draining on shutdown: for [`ServerSettings::drain`] after the signal the server keeps
//!   accepting and answering, but every answer carries `Connection: close` (see
//!   [`Lifecycle`]) and `/readyz` says 503, so a load balancer stops sending and keep-alive
//!   connections close between requests, never in the middle of one. Then it stops accepting and
//!   waits for requests in flight (at most [`ServerSettings::grace`]).

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Connections open at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// How long a client may take to send a request's headers, and how long an idle keep-alive
    /// connection stays open.
    pub header_read_timeout: Duration,
    /// How long the server goes on answering (with `Connection: close`) after the shutdown signal.
    pub drain: Duration,
    /// How long requests in flight may take to finish once accepting stopped.
    pub grace: Duration,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            max_connections: 16_384,
            header_read_timeout: Duration::from_secs(10),
            drain: Duration::from_secs(1),
            grace: Duration::from_secs(30),
        }
    }
}

/// Whether the server is shutting down, shared by the server loop and the router (which closes
/// connections after each answer and says "not ready" while it drains).
#[derive(Debug, Clone, Default)]
pub struct Lifecycle(Arc<AtomicBool>);

impl Lifecycle {
    pub fn draining(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    pub fn start_draining(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then drains and stops (see the
/// module's documentation).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: ServerSettings,
    lifecycle: Lifecycle,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(settings.max_connections.max(1)));
    let drained = async {
        shutdown.await;
        lifecycle.start_draining();
        tracing::info!(
            drain_ms = settings.drain.as_millis() as u64,
            "shutting down: draining connections"
        );
        tokio::time::sleep(settings.drain).await;
    };
    tokio::pin!(drained);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut drained => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    if !is_connection_error(&e) {
                        // Out of file descriptors, most likely: wait for some to be released.
                        tracing::warn!(error = %e, "accepting a connection failed; pausing");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    continue;
                }
            },
            () = &mut drained => break,
        };
        let _ = stream.set_nodelay(true);
        let service = router
            .clone()
            .map_request(move |mut request: axum::http::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            })
            .map_err(|never: Infallible| match never {});
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(settings.header_read_timeout);
        let connection = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    let open = graceful.count();
    tokio::select! {
        () = graceful.shutdown() => tracing::info!(connections = open, "every connection finished"),
        () = tokio::time::sleep(settings.grace) => tracing::warn!(
            grace_s = settings.grace.as_secs(),
            "requests still running after the grace period were cut off"
        ),
    }
}

/// Errors of one connection that went away before it was accepted; nothing to wait for.
fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}
