//! The accept loop: each connection served by hyper's HTTP/1 server with
//! the axum router as its service, small buffers, and a graceful stop on
//! SIGINT or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::http::{self, App};
use crate::fail::{plain, Fail};

/// SO_SNDBUF asked for on every accepted socket (Linux doubles it for its
/// bookkeeping: `getsockopt` reads 128 KiB back). The default starts at
/// 16 KiB but autotunes up to `net.ipv4.tcp_wmem`'s maximum (4 MiB): a
/// client that stops reading could park megabytes there, out of the
/// reach of the loss accounting.
pub const SEND_BUFFER: usize = 64 * 1024;

/// hyper's write buffer per connection: it takes body chunks from the
/// channel while it holds less than this (so at most this plus one
/// batch). hyper's default is about 400 KiB.
pub const HYPER_BUFFER: usize = 64 * 1024;

/// How long a stop waits for the connections to end before the process
/// exits anyway (a client that does not read holds its connection open).
const GRACE: Duration = Duration::from_secs(2);

/// Binds `listen`, says where it serves on stderr, and serves until
/// SIGINT or SIGTERM.
pub async fn serve(app: Arc<App>, listen: SocketAddr) -> Result<(), Fail> {
    let listener =
        TcpListener::bind(listen).await.map_err(|e| Fail(format!("cannot listen on {listen}: {}", plain(&e))))?;
    let addr = listener.local_addr().map_err(|e| Fail(format!("cannot listen on {listen}: {}", plain(&e))))?;
    let signal_err = |e: std::io::Error| Fail(format!("cannot install a signal handler: {}", plain(&e)));
    let mut interrupt = signal(SignalKind::interrupt()).map_err(signal_err)?;
    let mut terminate = signal(SignalKind::terminate()).map_err(signal_err)?;
    // Not eprintln!, which panics when stderr is closed.
    let _ = writeln!(std::io::stderr(), "ringlog: serving {} on http://{addr}/", app.path.display());

    let router = http::router(app.clone());
    let (stopping_tx, stopping) = watch::channel(false);
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tune(&stream);
                    conns.spawn(connection(stream, router.clone(), stopping.clone()));
                }
                // A connection reset before it was accepted, or out of file
                // descriptors: go on (after a pause, in the second case).
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            _ = interrupt.recv() => break,
            _ = terminate.recv() => break,
        }
    }
    drop(listener);
    // Feeds cut their streams (within feed::CHECK), idle connections close.
    app.stop.store(true, Ordering::Relaxed);
    let _ = stopping_tx.send(true);
    let _ = tokio::time::timeout(GRACE, async { while conns.join_next().await.is_some() {} }).await;
    Ok(())
}

/// The accepted socket's options: no Nagle delay (records go out as they
/// come), and a bounded send buffer ([`SEND_BUFFER`]). Failures are
/// ignored: the defaults work, with more buffering.
fn tune(stream: &TcpStream) {
    let _ = stream.set_nodelay(true);
    let _ = socket2::SockRef::from(stream).set_send_buffer_size(SEND_BUFFER);
}

/// Serves one connection until it ends; on a stop, lets the response in
/// progress finish (streams are cut by their feeds) and closes.
async fn connection(stream: TcpStream, router: Router, mut stopping: watch::Receiver<bool>) {
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).max_buf_size(HYPER_BUFFER);
    let conn = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(router));
    tokio::pin!(conn);
    let stop = async move {
        let _ = stopping.wait_for(|s| *s).await;
    };
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = stop => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}
