//! What a link's queue carries to its delivering task (a message, a flush,
//! a close) and why a request can go unanswered: shared by the link, its
//! spool and the task, none of which the others need to import for it.

use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Where the peer's answer to one message goes, for [`Link::request`](crate::Link::request).
pub(crate) type Answer = Option<oneshot::Sender<Result<String, LinkError>>>;

/// What the delivering task is asked to do, in order.
pub(crate) enum Command {
    /// Deliver this text frame; answer the acknowledgement, if asked. The
    /// number is its record's in the link's spool (0 without one).
    Send(Utf8Bytes, Answer, u64),
    /// Say when everything queued before this is settled.
    Flush(oneshot::Sender<()>),
    /// As `Flush`, then close the connection (the next send opens a new one).
    Close(oneshot::Sender<()>),
}

/// Why a [`Link::request`](crate::Link::request) got no answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The peer got the message and answered with an error.
    #[error("the peer refused it: {0}")]
    Refused(String),
    /// Connections kept ending before the peer acknowledged it.
    #[error("not delivered: {attempts} connections ended before its acknowledgement ({reason})")]
    DeadLettered {
        /// The failed attempts (`--link-attempts`).
        attempts: u32,
        /// How the last one ended.
        reason: String,
    },
    /// The queue was full and the message dropped (`--when-full drop`, or
    /// a stopping sketch whose `--stop-timeout` ran out).
    #[error("the link's queue is full: the message was dropped")]
    Full,
    /// The link stopped before an answer came.
    #[error("the link stopped before an answer came")]
    Stopped,
    /// Its peer, at this URL, is outside the process, whose simulated clock
    /// (`--sim`) it does not follow: nothing was sent.
    #[error("not sent: {0} is outside the process, which simulated time (--sim) cannot reach")]
    OffClock(String),
}
