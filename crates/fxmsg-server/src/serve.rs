//! The accept loop: HTTP/1.1 connections under the bounds a server facing unknown clients needs.
//!
//! - **Header reads are timed.** A client has `read_timeout` to send a request's head, from the
//!   moment the connection can take one: right after it opens, and again whenever it sits idle
//!   between requests. A slowloris client (a byte a second) or an idle keep-alive connection is
//!   closed then, not held for ever. (`axum::serve` builds hyper without a timer, so hyper's own
//!   header timeout never ran.)
//! - **Connections are capped** below the process's open-file limit, so a flood of idle
//!   connections cannot take the descriptors the database and the media files need: at the cap
//!   new connections wait in the kernel's backlog until a timed-out one makes room.
//! - **Shutdown has a deadline.** Open connections finish their request in flight; after `grace`
//!   the ones still open (a client holding a partial request) are closed.
//! - **An unread body closes the connection, and says so.** When a request is answered before
//!   its body was read to the end (a body over its limit, credentials refused first), hyper cannot
//!   reuse the connection; the answer carries `Connection: close` so a pooled client does not send
//!   its next request into a socket about to close.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::CONNECTION;
use axum::http::HeaderValue;
use axum::response::Response;
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tower::{Service, ServiceExt};

/// Descriptors kept for everything but client connections: the database and its WAL, media
/// files being written or read, the log, a few spares.
const RESERVED_FILES: u64 = 256;

/// How the accept loop bounds its clients.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Time to send a request's head, and the longest a keep-alive connection stays idle.
    pub read_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// How long shutdown waits for open connections before closing them.
    pub grace: Duration,
}

/// The connection cap for a process: `configured`, or what the open-file limit leaves after
/// [`RESERVED_FILES`]. The soft limit is raised to the hard one first, as Go's runtime does,
/// since the soft default (often 1024) is a relic of `select(2)`.
pub fn connection_cap(configured: Option<usize>) -> usize {
    if let Some(cap) = configured {
        return cap.max(1);
    }
    let files = raise_open_file_limit();
    usize::try_from(files.saturating_sub(RESERVED_FILES).max(64)).unwrap_or(usize::MAX)
}

/// Raises the soft open-file limit to the hard one and returns the limit now in force
/// (`u64::MAX` when unlimited; 1024 when it cannot be read).
fn raise_open_file_limit() -> u64 {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        let raised = rustix::process::Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => limit.current = limit.maximum,
            Err(e) => tracing::debug!(error = %e, "raising the open-file limit"),
        }
    }
    limit.current.unwrap_or(u64::MAX)
}

/// Serves `app` on `listener` within `bounds` until `shutdown` resolves; then runs `on_shutdown`
/// (which ends streams and waits), lets connections finish for `bounds.grace` and closes the rest.
pub async fn serve<S>(
    listener: TcpListener,
    app: S,
    bounds: Bounds,
    shutdown: impl Future<Output = ()>,
    on_shutdown: impl FnOnce(),
) where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(bounds.read_timeout);
    let permits = Arc::new(Semaphore::new(bounds.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        while connections.try_join_next().is_some() {}
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = accept(&listener, &permits) => accepted,
        };
        let Some((permit, tcp)) = accepted else {
            continue;
        };
        // Every answer and stream frame leaves in one write; Nagle's algorithm would only hold
        // a stream's next frame back until the previous one is acknowledged.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY");
        }
        let app = app.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            answer(app.clone(), request)
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(tcp), service));
        connections.spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended");
            }
            drop(permit);
        });
    }
    drop(listener);
    on_shutdown();
    if tokio::time::timeout(bounds.grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            open = connections.len(),
            grace_secs = bounds.grace.as_secs_f64(),
            "connections still open after the shutdown grace period are closed"
        );
    }
    connections.shutdown().await;
}

/// The next connection, once the cap allows one. `None` after an accept error, which is logged;
/// errors that are not the peer's (out of descriptors) pause the loop a moment first.
async fn accept(
    listener: &TcpListener,
    permits: &Arc<Semaphore>,
) -> Option<(tokio::sync::OwnedSemaphorePermit, tokio::net::TcpStream)> {
    let permit = permits
        .clone()
        .acquire_owned()
        .await
        .expect("the connection semaphore is never closed");
    match listener.accept().await {
        Ok((tcp, _)) => Some((permit, tcp)),
        Err(e) if is_peer_error(&e) => None,
        Err(e) => {
            tracing::error!(error = %e, "accept error");
            tokio::time::sleep(Duration::from_millis(100)).await;
            None
        }
    }
}

fn is_peer_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}

/// Runs one request through `app`; the answer says `Connection: close` when the request's body
/// was not read to its end.
async fn answer<S>(app: S, request: hyper::Request<Incoming>) -> Result<Response, Infallible>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    if request.body().is_end_stream() {
        return app.oneshot(request.map(Body::new)).await;
    }
    let read = Arc::new(AtomicBool::new(false));
    let request = request.map(|inner| {
        Body::new(Tracked {
            inner,
            read: read.clone(),
        })
    });
    let mut response = app.oneshot(request).await?;
    if !read.load(Ordering::Acquire) {
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    Ok(response)
}

/// A request body that records when it has been read to its end.
struct Tracked {
    inner: Incoming,
    read: Arc<AtomicBool>,
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        let ended = match &polled {
            Poll::Ready(None) => true,
            Poll::Ready(Some(Ok(_))) => self.inner.is_end_stream(),
            _ => false,
        };
        if ended {
            self.read.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_cap_wins_and_the_derived_one_leaves_room_for_files() {
        assert_eq!(connection_cap(Some(10)), 10);
        assert_eq!(connection_cap(Some(0)), 1);
        let files = raise_open_file_limit();
        let cap = connection_cap(None) as u64;
        assert!(cap >= 64);
        assert!(cap <= files.saturating_sub(RESERVED_FILES).max(64));
    }
}
