//! The signal stream a sketch serves to whoever records its circuit on
//! another host (`/_circuit/signals`, through the same door as every peer:
//! its token, its TLS): the sketch's recent changes, then each new one, timed
//! by this host's wall clock, and an answer to each time exchange.

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

use crate::base::shutdown::Shutdown;
use crate::net::wire::signal_frames::Frame;
use crate::net::wire::socket::{close_politely, Frames};
use crate::observe::trace::{Change, Event, Trace};

/// Streams `sketch`'s changes to the recorder on `socket` until it leaves,
/// falls behind (it reconnects, and leaves out what it had), or we stop. A
/// process that records nothing yet starts recording (keeping its recent
/// changes, not a VCD file's all) when first asked.
pub(crate) async fn stream(mut socket: impl Frames, sketch: Arc<str>, mut shutdown: Shutdown) {
    let trace = match Trace::installed().filter(|trace| trace.keeps_changes()) {
        Some(trace) => Arc::clone(trace),
        None => Trace::install(false),
    };
    let mut watch = trace.watch();
    let hello = Frame::Hello {
        sketch: sketch.to_string(),
        run: trace.wall_at(0),
    };
    let mut past = vec![hello.text()];
    past.extend(
        watch
            .recent
            .iter()
            .filter_map(|change| frame(&trace, &sketch, change)),
    );
    for text in past {
        if socket.feed(Message::text(text)).await.is_err() {
            return;
        }
    }
    if socket.flush().await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            live = watch.live.recv() => match live {
                Ok(Event::Change(change)) => {
                    if let Some(text) = frame(&trace, &sketch, &change) {
                        if socket.send(Message::text(text)).await.is_err() {
                            return;
                        }
                    }
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => {
                    return close_politely(&mut socket, CloseCode::Again, "fell behind; reconnect").await;
                }
                Err(RecvError::Closed) => return close_politely(&mut socket, CloseCode::Normal, "").await,
            },
            incoming = socket.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    let t1 = trace.wall_now();
                    let Ok(Frame::Ping { t0 }) = Frame::parse(text.as_str()) else {
                        tracing::debug!("the signal stream's recorder sent {:?}; only pings are read", text.as_str());
                        continue;
                    };
                    // Every change recorded before the ping goes first, so
                    // that the answer tells the recorder it has them all.
                    match pending(&mut socket, &mut watch.live, &trace, &sketch).await {
                        Pending::Sent => {}
                        Pending::Behind => {
                            return close_politely(&mut socket, CloseCode::Again, "fell behind; reconnect").await;
                        }
                        Pending::Gone => return,
                    }
                    let pong = Frame::Pong { t0, t1, t2: trace.wall_now() };
                    if socket.send(Message::text(pong.text())).await.is_err() {
                        return;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            () = shutdown.wait() => {
                // The last changes of the run, recorded before the stop, go
                // first: a part that ends before the recorder's has sent them all.
                let (code, why) = match pending(&mut socket, &mut watch.live, &trace, &sketch).await {
                    Pending::Sent => (CloseCode::Away, "sketch stopping"),
                    Pending::Behind => (CloseCode::Again, "fell behind; reconnect"),
                    Pending::Gone => return,
                };
                return close_politely(&mut socket, code, why).await;
            }
        }
    }
}

/// What became of the changes waiting to be streamed.
enum Pending {
    /// Each was given to the socket (not flushed).
    Sent,
    /// Some were lost: the stream fell behind.
    Behind,
    /// The recorder left.
    Gone,
}

/// Gives `socket` every change of `sketch` waiting in `live`, without waiting for more.
async fn pending(
    socket: &mut impl Frames,
    live: &mut broadcast::Receiver<Event>,
    trace: &Trace,
    sketch: &str,
) -> Pending {
    loop {
        match live.try_recv() {
            Ok(Event::Change(change)) => {
                if let Some(text) = frame(trace, sketch, &change) {
                    if socket.feed(Message::text(text)).await.is_err() {
                        return Pending::Gone;
                    }
                }
            }
            Ok(_) => {}
            Err(TryRecvError::Lagged(_)) => return Pending::Behind,
            Err(TryRecvError::Empty | TryRecvError::Closed) => return Pending::Sent,
        }
    }
}

/// The frame of `change`, if it is `sketch`'s: timed by the wall clock.
fn frame(trace: &Trace, sketch: &str, change: &Change) -> Option<String> {
    if *change.sketch != *sketch {
        return None;
    }
    let frame = Frame::Change {
        at: trace.wall_at(change.at),
        name: change.name.to_owned(),
        value: change.value.clone(),
        event: is_event(change.name),
    };
    Some(frame.text())
}

/// Whether signal `name` is an event lane (each value kept, repeats and all):
/// what a sketch received, what its links sent.
fn is_event(name: &str) -> bool {
    name == crate::observe::inputs::LANE || crate::observe::outputs::is_lane(name)
}
