//! One peer of a server, once its handshake is done, whatever carries it:
//! receive a frame, have the loop answer it, acknowledge, in order, until the
//! peer or the server ends the conversation.

use std::sync::Arc;

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::Message;

use crate::base::durable::Barrier;
use crate::base::message::{Ack, Payload, NO_ACK};
use crate::base::options::Limits;
use crate::base::shutdown::{Shutdown, Stopping};
use crate::base::sketch::Reactive;
use crate::net::send::identity::LinkId;
use crate::net::serve::dispatch::{Dispatch, Replies};
use crate::net::serve::end::End;
use crate::net::serve::keepalive::Keepalive;
use crate::net::serve::processed::{Processed, Seen};
use crate::net::wire::resume::Resume;
use crate::net::wire::socket::Frames;
use crate::observe::metrics;

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
    /// How many of them were refused (answered `error: …`): the first is
    /// logged, the others only counted, so that a peer sending nothing the
    /// loop can read does not flood the log.
    refused: u64,
    /// For a link that said where its stream resumes, the number of its
    /// next message and the server's memory of what the loop processed.
    numbered: Option<Numbered<'a>>,
    /// How many of its messages were answered from that memory, without
    /// running the loop (they were processed before).
    remembered: u64,
    /// When the sketch's links keep a spool, what its acknowledgements wait
    /// for: the messages its loop gave them being on disk.
    durable: Option<&'a Barrier>,
    /// Acknowledgements held until what they stand for is synced (the
    /// messages the loop gave spooled links, a memory kept on disk with
    /// `--spool`): written to the socket, even into its buffer, they could
    /// reach the peer first. Sent with the batch.
    held: Vec<Message>,
    /// Its path's series (`--metrics`), resolved when it connected.
    metered: metrics::Path,
}

/// A link's place in its stream, on one connection.
struct Numbered<'a> {
    /// The link.
    link: LinkId,
    /// The number of its next message.
    next: u64,
    /// Whether the next message is the link's retained one, unnumbered:
    /// run whatever the memory holds (`Circuit-Retained`).
    retained_first: bool,
    /// What the server's loop processed, for every link.
    processed: &'a Processed,
    /// Whether we said that an answer was forgotten (said once).
    forgot: bool,
}

/// What one peer's conversation came to, for the server's end-of-run line.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Tally {
    /// Messages acknowledged.
    pub(crate) handled: u64,
    /// Of them, those refused with `error: …`.
    pub(crate) refused: u64,
}

impl<'a, S: Reactive, F: Frames> Peer<'a, S, F> {
    /// A peer connected to `path`, talking to the loop through `dispatch`.
    pub(crate) fn new(
        socket: F,
        path: String,
        dispatch: &'a Dispatch<S>,
        limits: Limits,
        metered: metrics::Path,
    ) -> Self {
        Peer {
            socket,
            channel: path.into(),
            dispatch,
            replies: Replies::default(),
            keepalive: Keepalive::new(limits.ping_interval),
            acks: Batch::default(),
            closing: None,
            handled: 0,
            refused: 0,
            numbered: None,
            remembered: 0,
            durable: None,
            held: Vec::new(),
            metered,
        }
    }

    /// The sketch's links keep a spool: each batch of acknowledgements waits
    /// until what the loop gave them for its messages is on disk, so that an
    /// acknowledgement means stored. One sync serves the whole batch.
    pub(crate) fn durable(&mut self, barrier: Option<&'a Barrier>) {
        self.durable = barrier;
    }

    /// The peer is a link whose stream resumes at `resume`: each message it
    /// resends, processed before, is answered from `processed` as the first
    /// time, without running the loop again.
    pub(crate) fn resume(&mut self, resume: Resume, processed: &'a Processed) {
        self.numbered = Some(Numbered {
            link: resume.link,
            next: resume.next,
            retained_first: resume.retained,
            processed,
            forgot: false,
        });
    }

    /// The conversation from its first message to its end, with the lines
    /// that begin and end it; how many of its messages were acknowledged and refused.
    pub(crate) async fn run(mut self, shutdown: &Shutdown) -> Tally {
        tracing::info!("** new client connected, path={}", self.channel);
        // Made once, not per frame: waiting on the shared signal registers this
        // peer with it, and a registration per frame is a lock per frame.
        let mut stopping = shutdown.stopping();
        let end = self.converse(&mut stopping).await;
        let refused = match self.refused {
            0 => String::new(),
            n => format!(" ({n} refused)"),
        };
        let remembered = match self.remembered {
            0 => String::new(),
            n => format!(" ({n} answered from memory, already processed)"),
        };
        tracing::info!(
            "done processing messages: path={}, {} acknowledged{refused}{remembered}, {end}",
            self.channel,
            self.handled
        );
        Tally {
            handled: self.handled,
            refused: self.refused,
        }
    }

    /// The receive → loop → acknowledge cycle, until the peer or the server
    /// ends it. A message's way is written out in this one function, so that
    /// it builds no future but those it waits on; whatever ends the
    /// conversation is said elsewhere (`End`, `Keepalive`, [`Peer::other`]).
    async fn converse(&mut self, stopping: &mut Stopping) -> End {
        loop {
            let ready = self.acks.ready(&mut self.socket);
            if self.acks.due(&ready) {
                if !self.held.is_empty() {
                    if let Err(end) = self.release().await {
                        return end;
                    }
                }
                if let Err(err) = self.socket.flush().await {
                    return End::Failed(err.to_string());
                }
                self.acks.sent();
            }
            let next = match ready {
                Some(next) => next,
                None => tokio::select! {
                    // In this order, without drawing lots: the stop first (a flag
                    // to look at), so that a peer that never stops sending cannot
                    // keep the server from stopping; the keepalive last.
                    biased;
                    () = &mut *stopping, if self.closing.is_none() => {
                        // What the loop answered still goes, once stored.
                        let _ = self.release().await;
                        return End::shutdown(&mut self.socket).await;
                    }
                    next = self.socket.next() => next,
                    _ = self.keepalive.due(), if self.keepalive.on() && self.closing.is_none() => {
                        match self.keepalive.check(&mut self.socket).await {
                            Ok(()) => continue,
                            Err(end) => return end,
                        }
                    }
                },
            };
            self.keepalive.heard();
            let message = match next {
                Some(Ok(Message::Text(text))) => Payload::Text(text),
                Some(Ok(Message::Binary(bytes))) => Payload::Binary(bytes),
                other => match self.other(other).await {
                    Ok(()) => continue,
                    Err(end) => return end,
                },
            };
            let since = self.metered.received();
            let number = self.number_next();
            if let Some(number) = number {
                if let Some(reply) = self.remembered(number).await {
                    if let Err(err) = self.acknowledge(ack(reply), true).await {
                        return End::Failed(err.to_string());
                    }
                    self.answered();
                    continue;
                }
            }
            let answer = self.dispatch.ask(&self.channel, message, &mut self.replies);
            let outcome = answer.await;
            self.metered.looped(since);
            if let (Some(numbered), Some(number)) = (&self.numbered, number) {
                match &outcome {
                    // Kept to answer a resend: a clone of the answer's bytes,
                    // which may allocate once (the one cost of a link's message).
                    Some(Ack::Reply(reply)) => {
                        numbered.processed.done(numbered.link, number, reply)
                    }
                    _ => numbered.processed.undone(numbered.link, number),
                }
            }
            let reply = match outcome {
                Some(Ack::Reply(reply)) => reply,
                other => {
                    // The answers before this message still go, once stored.
                    let _ = self.release().await;
                    return match other {
                        Some(Ack::Unsupported) => End::unsupported(&mut self.socket).await,
                        Some(Ack::Panicked(_)) => End::panicked(&mut self.socket).await,
                        // The loop can no longer be reached: the server is stopping.
                        _ => End::shutdown(&mut self.socket).await,
                    };
                }
            };
            if is_refusal(&reply) {
                self.refusal(&reply);
            }
            if let Err(err) = self.acknowledge(ack(reply), number.is_some()).await {
                return End::Failed(err.to_string());
            }
            self.answered();
        }
    }

    /// The number of the message just received: a link's message has one, a
    /// plain peer's none (and costs nothing here); a link's retained
    /// message, sent first, is run but not remembered.
    fn number_next(&mut self) -> Option<u64> {
        let numbered = self.numbered.as_mut()?;
        if std::mem::replace(&mut numbered.retained_first, false) {
            return None;
        }
        numbered.next += 1;
        Some(numbered.next - 1)
    }

    /// Counts a message answered: its acknowledgement written (or held).
    fn answered(&mut self) {
        self.acks.written();
        self.handled += 1;
        self.metered.acked();
    }

    /// Writes acknowledgement `frame`; holds it instead, until
    /// [`Peer::release`], while the sketch's links keep a spool, or, for a
    /// link's (`numbered`), while the memory is kept on disk.
    async fn acknowledge(&mut self, frame: Message, numbered: bool) -> Result<(), WsError> {
        let memory_on_disk = numbered
            && self
                .numbered
                .as_ref()
                .is_some_and(|link| link.processed.is_durable());
        if memory_on_disk || self.durable.is_some() {
            self.held.push(frame);
            return Ok(());
        }
        self.socket.feed(frame).await
    }

    /// Waits until everything the loop handed the sketch's spooled links is
    /// on disk, syncs the memory (one sync for every connection waiting),
    /// then writes the acknowledgements held for them; a memory that cannot
    /// be written ends the conversation unacknowledged, so that the link resends.
    #[cold]
    async fn release(&mut self) -> Result<(), End> {
        if self.held.is_empty() {
            return Ok(());
        }
        if let Some(barrier) = self.durable {
            barrier.passed().await;
        }
        let synced = match self.numbered.as_ref() {
            Some(link) => link.processed.sync().await,
            None => true,
        };
        if !synced {
            return Err(End::Failed(
                "the server's memory cannot be written".to_owned(),
            ));
        }
        for frame in std::mem::take(&mut self.held) {
            self.socket
                .feed(frame)
                .await
                .map_err(|err| End::Failed(err.to_string()))?;
        }
        Ok(())
    }

    /// The answer to message `number` of the peer's link when the loop
    /// processed it before (on another connection, or before its sender
    /// restarted); `None` when it is new, and now taken to be run. A message
    /// processed so long ago that its answer is forgotten is answered
    /// `n/a`, said once, and not run again. A message that another connection
    /// of the link is running waits for its answer.
    #[cold]
    async fn remembered(&mut self, number: u64) -> Option<Payload> {
        let numbered = self.numbered.as_mut()?;
        loop {
            let changed = numbered.processed.changed();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let answer = match numbered.processed.seen(numbered.link, number) {
                Seen::New => return None,
                Seen::Answered(answer) => answer,
                Seen::Forgotten => {
                    if !std::mem::replace(&mut numbered.forgot, true) {
                        tracing::warn!(
                            "message {number} of link {} on {} was processed long ago and its answer is forgotten: answered {NO_ACK}, not run again",
                            numbered.link,
                            self.channel
                        );
                    }
                    Payload::fixed(NO_ACK)
                }
                Seen::Running => {
                    changed.await;
                    continue;
                }
            };
            self.remembered += 1;
            return Some(answer);
        }
    }

    /// Counts a refusal (an `error: …` acknowledgement), and logs the
    /// peer's first: one line says what is wrong, the count says how often.
    #[cold]
    fn refusal(&mut self, reply: &Payload) {
        self.refused += 1;
        self.metered.refused();
        if self.refused == 1 {
            tracing::warn!(
                "refused a message from the peer on {}: {reply} (its further refusals are counted, not logged)",
                self.channel
            );
        }
    }

    /// What a frame that is no message means: nothing to do (a ping, which
    /// tungstenite answers; the peer's close frame, answered too, after which
    /// we read on until the close is done), or the end of the conversation.
    async fn other(&mut self, next: Next) -> Result<(), End> {
        match next {
            None => Err(match self.closing {
                Some(code) => End::PeerClosed(code),
                None => End::Dropped,
            }),
            Some(Err(err)) => Err(End::of_error(&mut self.socket, err).await),
            Some(Ok(Message::Close(frame))) => {
                self.closing = Some(frame.map(|frame| frame.code));
                Ok(())
            }
            Some(Ok(_)) => Ok(()),
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

    /// Whether the acknowledgements that wait are to be sent now: there are
    /// some, and the frame `ready` is not a message (whose acknowledgement
    /// they would wait for).
    fn due(&self, ready: &Option<Next>) -> bool {
        let streaming = matches!(ready, Some(Some(Ok(Message::Text(_) | Message::Binary(_)))));
        self.unsent > 0 && !streaming
    }

    /// The acknowledgements that waited are sent.
    fn sent(&mut self) {
        self.unsent = 0;
    }

    /// One more acknowledgement is written, to be sent with the batch.
    fn written(&mut self) {
        self.unsent += 1;
    }
}

/// Whether `reply` refuses the message: `error: …`, as the loop's glue
/// answers text its type cannot read, and as a loop's `Err` is sent (a
/// link counts the same answers as refused).
fn is_refusal(reply: &Payload) -> bool {
    matches!(reply, Payload::Text(text) if text.as_str().starts_with("error: "))
}

/// The frame that acknowledges with the loop's `reply`.
fn ack(reply: Payload) -> Message {
    match reply {
        Payload::Text(text) => Message::Text(text),
        Payload::Binary(bytes) => Message::Binary(bytes),
    }
}
