//! One peer of a server, once its handshake is done, whatever carries it:
//! receive a frame, have the loop answer it, acknowledge, in order, until the
//! peer or the server ends the conversation.

use std::sync::Arc;

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::Message;

use crate::base::message::Payload;
use crate::base::options::Limits;
use crate::base::shutdown::{Shutdown, Stopping};
use crate::base::sketch::Reactive;
use crate::net::serve::dispatch::{Dispatch, Replies};
use crate::net::serve::end::End;
use crate::net::serve::keepalive::Keepalive;
use crate::net::wire::socket::Frames;

/// Acknowledgements written before they are sent even when more frames are
/// waiting, so that a peer that streams never waits long for a batch.
const ACK_BATCH: usize = 64;

/// What the peer's connection gave: a frame, an error, or its end.
type Next = Option<Result<Message, WsError>>;

/// A peer in conversation with a server's loop.
pub(crate) struct Peer<'a, S, F> {
    /// What the conversation runs on.
    socket: F,
    /// The path it connected to, such as `/datafeed`.
    channel: Arc<str>,
    /// Its way to the loop.
    dispatch: &'a Dispatch<S>,
    /// What it keeps between messages on that way.
    replies: Replies,
    /// Its keepalive.
    keepalive: Keepalive,
    /// Its acknowledgements written but not yet sent.
    acks: Batch,
    /// The peer's close frame (its code, if any), once it came.
    closing: Option<Option<CloseCode>>,
    /// Its messages acknowledged so far.
    handled: u64,
}

impl<'a, S: Reactive, F: Frames> Peer<'a, S, F> {
    /// A peer connected to `path`, talking to the loop through `dispatch`.
    pub(crate) fn new(socket: F, path: String, dispatch: &'a Dispatch<S>, limits: Limits) -> Self {
        Peer {
            socket,
            channel: path.into(),
            dispatch,
            replies: Replies::default(),
            keepalive: Keepalive::new(limits.ping_interval),
            acks: Batch::default(),
            closing: None,
            handled: 0,
        }
    }

    /// The conversation from its first message to its end, with the lines
    /// that begin and end it; how many of its messages were acknowledged.
    pub(crate) async fn run(mut self, shutdown: &Shutdown) -> u64 {
        tracing::info!("** new client connected, path={}", self.channel);
        // Made once, not per frame: waiting on the shared signal registers this
        // peer with it, and a registration per frame is a lock per frame.
        let mut stopping = shutdown.stopping();
        let end = loop {
            if let Err(end) = self.step(&mut stopping).await {
                break end;
            }
        };
        tracing::info!(
            "done processing messages: path={}, {} acknowledged, {end}",
            self.channel,
            self.handled
        );
        self.handled
    }

    /// One turn: the next frame, and the loop's answer if it is a message.
    async fn step(&mut self, stopping: &mut Stopping) -> Result<(), End> {
        let Some(next) = self.next(stopping).await? else {
            return Ok(()); // a keepalive check came first
        };
        let Some(message) = self.read(next).await? else {
            return Ok(()); // a control frame
        };
        let answer = self
            .dispatch
            .ask(&self.channel, message, &mut self.replies)
            .await;
        let reply = End::unless_reply(&mut self.socket, answer).await?;
        self.acks.feed(&mut self.socket, reply).await?;
        self.handled += 1;
        Ok(())
    }

    /// The peer's next frame, once the acknowledgements that wait are sent
    /// (unless it is streaming); `None` when a keepalive check came first.
    async fn next(&mut self, stopping: &mut Stopping) -> Result<Option<Next>, End> {
        let ready = self.acks.ready(&mut self.socket);
        self.acks
            .send_unless_streaming(&mut self.socket, &ready)
            .await?;
        let next = match ready {
            Some(next) => next,
            None => tokio::select! {
                // In this order, without drawing lots: the stop first (a flag
                // to look at), so that a peer that never stops sending cannot
                // keep the server from stopping; the keepalive last.
                biased;
                () = &mut *stopping, if self.closing.is_none() => {
                    return Err(End::shutdown(&mut self.socket).await);
                }
                next = self.socket.next() => next,
                _ = self.keepalive.due(), if self.keepalive.on() && self.closing.is_none() => {
                    self.keepalive.check(&mut self.socket).await?;
                    return Ok(None);
                }
            },
        };
        self.keepalive.heard();
        Ok(Some(next))
    }

    /// The message in the peer's frame for the loop; `None` for a control
    /// frame; the end for the end of the connection or a frame refused.
    async fn read(&mut self, next: Next) -> Result<Option<Payload>, End> {
        match next {
            None => Err(match self.closing {
                Some(code) => End::PeerClosed(code),
                None => End::Dropped,
            }),
            Some(Err(err)) => Err(End::of_error(&mut self.socket, err).await),
            Some(Ok(Message::Text(text))) => Ok(Some(Payload::Text(text))),
            Some(Ok(Message::Binary(bytes))) => Ok(Some(Payload::Binary(bytes))),
            Some(Ok(Message::Close(frame))) => {
                // tungstenite answers the close; keep reading until it is done.
                self.closing = Some(frame.map(|frame| frame.code));
                Ok(None)
            }
            // Pings are answered by tungstenite itself.
            Some(Ok(_)) => Ok(None),
        }
    }
}

/// Acknowledgements written but not yet sent: while the peer's next frame is
/// already here, they wait, so that a peer that streams gets them in batches
/// (one write for many); a peer that waits for each gets it at once.
#[derive(Default)]
struct Batch {
    /// How many wait.
    unsent: usize,
}

impl Batch {
    /// The peer's next frame if it is here already while acknowledgements
    /// wait (fewer than a batch); `None` when it is not, or need not be looked for.
    fn ready(&self, socket: &mut impl Frames) -> Option<Next> {
        if self.unsent > 0 && self.unsent < ACK_BATCH {
            socket.next().now_or_never()
        } else {
            None
        }
    }

    /// Sends the acknowledgements that wait, unless the frame `ready` is a
    /// message: then they wait for its acknowledgement too.
    async fn send_unless_streaming(
        &mut self,
        socket: &mut impl Frames,
        ready: &Option<Next>,
    ) -> Result<(), End> {
        let streaming = matches!(ready, Some(Some(Ok(Message::Text(_) | Message::Binary(_)))));
        if self.unsent > 0 && !streaming {
            socket
                .flush()
                .await
                .map_err(|err| End::Failed(err.to_string()))?;
            self.unsent = 0;
        }
        Ok(())
    }

    /// Writes the acknowledgement `reply`, to be sent with the batch.
    async fn feed(&mut self, socket: &mut impl Frames, reply: Payload) -> Result<(), End> {
        let ack = match reply {
            Payload::Text(text) => Message::Text(text),
            Payload::Binary(bytes) => Message::Binary(bytes),
        };
        socket
            .feed(ack)
            .await
            .map_err(|err| End::Failed(err.to_string()))?;
        self.unsent += 1;
        Ok(())
    }
}
