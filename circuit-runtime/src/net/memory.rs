//! Wires inside one process: when both ends of a link or a timer live in the
//! same process (`up`, `circuit`), the bytes go through an in-memory pipe
//! instead of the kernel's loopback. The pipe carries the same WebSocket
//! frames, read by the same code: one acknowledgement per message, in order,
//! the same log lines, signals and end-of-run lines. `mem://NAME/PATH`
//! reaches the server registered as NAME in this process.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::{Mutex, OnceLock};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::MaybeTlsStream;

/// The URL scheme of an in-process wire.
pub const SCHEME: &str = "mem://";

/// Bytes a pipe holds in each direction before a writer waits.
const PIPE: usize = 256 * 1024;

/// The servers of this process that take in-process peers, by name.
fn servers() -> &'static Mutex<HashMap<String, mpsc::UnboundedSender<DuplexStream>>> {
    static SERVERS: OnceLock<Mutex<HashMap<String, mpsc::UnboundedSender<DuplexStream>>>> =
        OnceLock::new();
    SERVERS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Registers server `name`: the ends of the pipes its in-process peers open
/// arrive on the receiver, until it is dropped.
pub(crate) fn register(name: &str) -> mpsc::UnboundedReceiver<DuplexStream> {
    let (peers, arriving) = mpsc::unbounded_channel();
    servers()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(name.to_owned(), peers);
    arriving
}

/// Opens a pipe to server `name` of this process, if it is there.
pub(crate) fn connect(name: &str) -> Option<DuplexStream> {
    let servers = servers()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let server = servers.get(name)?;
    let (ours, theirs) = tokio::io::duplex(PIPE);
    server.send(theirs).ok()?;
    Some(ours)
}

/// What a client connection runs on: TCP (plain or TLS), or an in-process pipe.
// One per connection, inside its socket: boxing the larger variant would add
// a pointer chase to every read and write to save a few hundred bytes.
#[allow(clippy::large_enum_variant)]
pub enum Wire {
    /// Over the network (or loopback).
    Tcp(MaybeTlsStream<TcpStream>),
    /// Inside this process.
    Memory(DuplexStream),
}

impl AsyncRead for Wire {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Wire::Tcp(stream) => Pin::new(stream).poll_read(cx, buf),
            Wire::Memory(pipe) => Pin::new(pipe).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Wire {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Wire::Tcp(stream) => Pin::new(stream).poll_write(cx, buf),
            Wire::Memory(pipe) => Pin::new(pipe).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Wire::Tcp(stream) => Pin::new(stream).poll_flush(cx),
            Wire::Memory(pipe) => Pin::new(pipe).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Wire::Tcp(stream) => Pin::new(stream).poll_shutdown(cx),
            Wire::Memory(pipe) => Pin::new(pipe).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Wire::Tcp(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
            Wire::Memory(pipe) => Pin::new(pipe).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Wire::Tcp(stream) => stream.is_write_vectored(),
            Wire::Memory(pipe) => pipe.is_write_vectored(),
        }
    }
}
