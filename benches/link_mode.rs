//! The link mode: one `Link` streams messages to the echo sketch, directly on
//! loopback and through a TCP proxy that holds every chunk D ms each way (the
//! kernel here has no `netem`), for several windows of messages in flight.

use std::time::{Duration, Instant};

use circuit_runtime::base::LinkOptions;
use circuit_runtime::Link;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// One-way delays of the proxy, in ms; 0 is no proxy at all.
const DELAYS_MS: [u64; 3] = [0, 1, 5];

/// Messages/s of one link to `port` for each window and delay, medians of
/// `runs`; prints the table and the two bars of the default window.
pub fn run(port: u16, windows: &[usize], runs: usize) {
    let proxies: Vec<(u64, u16)> = DELAYS_MS
        .iter()
        .map(|&delay| {
            let through = if delay == 0 {
                port
            } else {
                proxy(port, Duration::from_millis(delay))
            };
            (delay, through)
        })
        .collect();
    println!();
    println!("link mode: one link streams to the echo sketch, messages/s, medians of {runs}");
    print!("{:<28}", "window");
    for (delay, _) in &proxies {
        let column = if *delay == 0 {
            "direct".to_owned()
        } else {
            format!("{delay} ms each way")
        };
        print!(" {column:>16}");
    }
    println!();
    let mut figures = Vec::new();
    for &window in windows {
        let mut row = Vec::new();
        for &(delay, through) in &proxies {
            let url = format!("ws://127.0.0.1:{through}/link");
            let rates: Vec<f64> = (0..runs)
                .map(|_| stream(&url, window, messages_for(window, delay)))
                .collect();
            row.push(crate::median(rates));
        }
        let name = if window == LinkOptions::WINDOW {
            format!("{window} (default)")
        } else {
            window.to_string()
        };
        print!("{name:<28}");
        for rate in &row {
            print!(" {rate:>16.0}");
        }
        println!();
        figures.push((window, row));
    }
    let rate = |window: usize, column: usize| {
        figures
            .iter()
            .find(|(w, _)| *w == window)
            .map_or(f64::NAN, |(_, row)| row[column])
    };
    let (direct, slow, one) = (
        rate(LinkOptions::WINDOW, 0),
        rate(LinkOptions::WINDOW, 2),
        rate(1, 2),
    );
    println!(
        "  default window through 5 ms each way: {:.2}× its direct rate (bar 0.50×), {:.0}× a window of 1 (bar 100×)",
        slow / direct,
        slow / one
    );
}

/// Enough messages for about a second at the rate the window allows (at
/// most a few million a second on loopback).
fn messages_for(window: usize, delay_ms: u64) -> usize {
    let round_trip = (2 * delay_ms) as f64 / 1000.0 + 0.000_1;
    let rate = (window as f64 / round_trip).min(2_000_000.0);
    rate.clamp(200.0, 2_000_000.0) as usize
}

/// Streams `messages` numbers through one link with `window`, after one
/// request that connects it; the rate from the first send to the last acknowledgement.
pub fn stream(url: &str, window: usize, messages: usize) -> f64 {
    crate::block_on(async {
        let link = Link::new(url).expect("a ws:// URL");
        link.configure(LinkOptions {
            window,
            ..LinkOptions::default()
        });
        link.request("hello").await.expect("the echo answers");
        let started = Instant::now();
        for number in 0..messages {
            link.send(number).await;
        }
        link.flush().await;
        let elapsed = started.elapsed();
        let report = link.report();
        assert_eq!(report.delivered, messages as u64 + 1, "{report:?}");
        link.close().await;
        messages as f64 / elapsed.as_secs_f64()
    })
}

/// Starts a proxy to `port` on its own thread that delivers every chunk
/// `delay` after it arrived, in both directions; returns its port.
pub fn proxy(port: u16, delay: Duration) -> u16 {
    let (bound, listening) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        crate::block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
            bound
                .send(listener.local_addr().expect("bound").port())
                .expect("the benchmark waits");
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
