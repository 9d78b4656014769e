//! A TCP proxy that holds every chunk for a delay each way: a peer that is
//! slow to connect and to answer, on loopback.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// Starts a proxy to `127.0.0.1:port` that delays each chunk by `delay`
/// each way, on a thread of its own for the rest of the test; its port.
pub fn delaying(port: u16, delay: Duration) -> u16 {
    let (bound, listening) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
            bound
                .send(listener.local_addr().expect("bound").port())
                .expect("the test waits");
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(("127.0.0.1", port)).await else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(delayed(client_read, server_write, delay));
                tokio::spawn(delayed(server_read, client_write, delay));
            }
        });
    });
    listening.recv().expect("the proxy listens")
}

/// Copies `from` to `to`, each chunk held until `delay` after it was read;
/// reading goes on meanwhile, so the delay is latency, not a bandwidth limit.
async fn delayed(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay: Duration,
) {
    let (chunks, mut due) = mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
    let writer = tokio::spawn(async move {
        while let Some((at, chunk)) = due.recv().await {
            tokio::time::sleep_until(at).await;
            if to.write_all(&chunk).await.is_err() {
                break;
            }
        }
    });
    let mut buffer = vec![0; 64 * 1024];
    while let Ok(read) = from.read(&mut buffer).await {
        if read == 0 {
            break;
        }
        let at = tokio::time::Instant::now() + delay;
        if chunks.send((at, buffer[..read].to_vec())).is_err() {
            break;
        }
    }
    drop(chunks);
    let _ = writer.await;
}
