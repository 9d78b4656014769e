//! The per-message path allocates no more than the frame itself needs: counted
//! with a global allocator that counts on the server's thread only. Measured
//! with metrics on (`--metrics`), the dearer path: its counters and
//! histograms take no allocation either (off, they are not touched).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use circuit_runtime::app::parse;
use circuit_runtime::net::Server;
use circuit_runtime::prelude::*;
use circuit_runtime::Reactive;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// Allocations (and reallocations) made on threads that count.
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// Whether this thread's allocations count: only the server's do.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

/// The system allocator, counting on the server's thread.
struct Counting;

// SAFETY: every call is passed on unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        System.realloc(ptr, layout, new_size)
    }
}

fn count() {
    if COUNTING.try_with(Cell::get).unwrap_or(false) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The count is global: one measurement at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Takes a number and acknowledges nothing (`n/a`), logging each one.
#[sketch(port = 0)]
struct Sink {
    total: u64,
}

impl Sink {
    #[reactive]
    fn take(&mut self, _channel: &str, number: u64) {
        self.total += number;
        // Filtered out (no subscriber here): must not be formatted.
        out!("took {number}, total {}", self.total);
    }
}

/// The sink again, with a loop that waits (`async fn`): served through the
/// queue of the task that owns it.
#[sketch(port = 0)]
struct WaitingSink {
    total: u64,
}

impl WaitingSink {
    #[reactive]
    async fn take(&mut self, _channel: &str, number: u64) {
        tokio::task::yield_now().await;
        self.total += number;
        out!("took {number}, total {}", self.total);
    }
}

/// What a sink has added up.
trait Total {
    fn total(&self) -> u64;
}

impl Total for Sink {
    fn total(&self) -> u64 {
        self.total
    }
}

impl Total for WaitingSink {
    fn total(&self) -> u64 {
        self.total
    }
}

/// Sends `rounds` messages one at a time, waiting for each acknowledgement;
/// as link `link` (its identity's first hex digit) when given, whose
/// messages the server remembers.
async fn round_trips(url: &str, rounds: u64, link: Option<char>) {
    let mut request = url.into_client_request().unwrap();
    if let Some(digit) = link {
        let headers = request.headers_mut();
        let identity = digit.to_string().repeat(32);
        headers.insert("Circuit-Link", identity.parse().unwrap());
        headers.insert("Circuit-Next", "1".parse().unwrap());
    }
    let (mut peer, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connects");
    for round in 0..rounds {
        peer.send(Message::text(round.to_string())).await.unwrap();
        match peer.next().await {
            Some(Ok(Message::Text(ack))) => assert_eq!(ack.as_str(), "n/a"),
            other => panic!("not an acknowledgement: {other:?}"),
        }
    }
    peer.close(None).await.unwrap();
}

#[test]
fn a_message_costs_the_server_no_allocation_of_its_own() {
    per_message::<Sink>(false);
}

#[test]
fn a_message_to_a_loop_that_waits_costs_no_allocation_either() {
    per_message::<WaitingSink>(false);
}

/// A link's message is remembered with its answer, to answer a resend; an
/// answer of fixed text (`n/a`) is kept without a copy.
#[test]
fn a_links_message_costs_the_server_no_allocation_of_its_own_either() {
    per_message::<Sink>(true);
}

/// Serves `S` on a thread of its own (whose allocations count if `counting`)
/// until told it is done; the thread hands the sketch back at the end.
fn serve_on_a_thread<S: Reactive>(
    counting: bool,
) -> (
    std::net::SocketAddr,
    std::sync::mpsc::Sender<()>,
    std::thread::JoinHandle<S>,
) {
    let (address, started) = std::sync::mpsc::channel();
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let server = std::thread::spawn(move || {
        COUNTING.with(|count| count.set(counting));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let (sketch, options) = parse::<S, _, _>(["-s", "127.0.0.1", "-p", "0"]).unwrap();
            let server = Server::start(sketch, &options).await.unwrap();
            address.send(server.local_addr()).unwrap();
            // Serve until the test is done measuring.
            let wait =
                tokio::task::spawn_blocking(move || finished.recv_timeout(Duration::from_secs(60)));
            let _ = wait.await;
            server.stop().await
        })
    });
    let address = started
        .recv_timeout(Duration::from_secs(20))
        .expect("the server starts");
    (address, done, server)
}

/// Serves `S` on a counting thread; fails if a message costs it an
/// allocation, from a plain peer or (`link`) from a link.
fn per_message<S: Reactive + Total>(link: bool) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    circuit_runtime::__private::enable_metrics();
    // The server runs on a thread of its own, whose allocations count.
    let (address, done, server) = serve_on_a_thread::<S>(true);
    let url = format!("ws://{address}/numbers");
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut links = ['a', 'b'].into_iter();
    let mut measure = |rounds: u64| {
        let link = links.next().filter(|_| link);
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        client
            .block_on(async {
                tokio::time::timeout(Duration::from_secs(30), round_trips(&url, rounds, link)).await
            })
            .expect("the round trips end in time");
        ALLOCATIONS.load(Ordering::Relaxed) - before
    };
    // A connection costs what it costs (handshake, buffers, task); the
    // difference between a long and a short conversation is the per-message cost.
    let short = measure(100);
    let long = measure(2_100);
    done.send(()).unwrap();
    let sink = server.join().expect("the server thread ends");
    assert_eq!(
        sink.total(),
        (0..100).sum::<u64>() + (0..2_100).sum::<u64>(),
        "every message reached the loop"
    );
    // The metrics counted every message of this sketch's path.
    let (scraped, _) = circuit_runtime::__private::encode_metrics(false).expect("metrics are on");
    let acks = format!(
        "circuit_acks_sent_total{{sketch=\"{}\",path=\"/numbers\"}} ",
        S::NAME
    );
    assert!(
        scraped.lines().any(|line| line.starts_with(&acks)),
        "{scraped}"
    );
    let per_message = long.saturating_sub(short) as f64 / 2_000.0;
    eprintln!("{}: server allocations: {short} for 100 messages, {long} for 2100: {per_message:.3} per message", S::NAME);
    assert!(
        per_message < 0.05,
        "{per_message:.3} allocations per message on the server ({short} for 100, {long} for 2100)"
    );
}

#[test]
fn a_link_message_costs_no_allocation_beyond_its_frame() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    circuit_runtime::__private::enable_metrics();
    // The peer runs on a thread that does not count; the link on one that does.
    let (address, done, peer) = serve_on_a_thread::<Sink>(false);
    let link = Link::new(&format!("ws://{address}/numbers")).unwrap();
    let counting = std::thread::spawn(move || {
        COUNTING.with(|counting| counting.set(true));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let measure = |messages: u64| {
            let before = ALLOCATIONS.load(Ordering::Relaxed);
            runtime.block_on(async {
                let sending = async {
                    for number in 0..messages {
                        link.send(number).await;
                    }
                    link.flush().await;
                };
                tokio::time::timeout(Duration::from_secs(30), sending)
                    .await
                    .expect("delivered in time");
            });
            ALLOCATIONS.load(Ordering::Relaxed) - before
        };
        // The first messages pay for the connection and the buffers.
        let _connecting = measure(100);
        let short = measure(100);
        let long = measure(2_100);
        (short, long, link.report())
    });
    let (short, long, report) = counting.join().expect("the link thread ends");
    done.send(()).unwrap();
    let sink = peer.join().expect("the peer thread ends");
    assert_eq!(report.delivered, 2_300);
    assert_eq!(
        sink.total,
        2 * (0..100).sum::<u64>() + (0..2_100).sum::<u64>()
    );
    let per_message = long.saturating_sub(short) as f64 / 2_000.0;
    eprintln!(
        "link: {short} allocations for 100 messages, {long} for 2100: {per_message:.3} per message"
    );
    assert!(
        per_message < 0.05,
        "{per_message:.3} allocations per link message ({short} for 100, {long} for 2100)"
    );
}
