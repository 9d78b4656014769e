//! Drives a timer sketch such as the clock: on every tick, ask the loop for a
//! message, send it to the server, and wait for the acknowledgement.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::time::{sleep, timeout};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use crate::cli::Options;
use crate::client::{dial_within, Socket};
use crate::log;
use crate::server::flush;
use crate::shutdown::Shutdown;
use crate::sketch::Timed;
use crate::{Error, Result};

/// How long the server may take to acknowledge one tick.
const ACK: Duration = Duration::from_secs(10);

/// What a timer sketch did, for summaries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimerReport {
    /// Ticks sent to the server.
    pub sent: u64,
    /// Acknowledgements received back.
    pub acked: u64,
}

/// Runs `setup`, connects to `ws://SOCKET:PORT/CHANNEL`, and ticks until the
/// loop returns `None` or `shutdown` fires (then it closes with 1001).
///
/// # Errors
/// [`Error::Setup`] when `setup` rejects the settings, [`Error::Unreachable`]
/// when no server answers within `--retry-for`, [`Error::Lost`] when the
/// server goes away or does not acknowledge a tick within 10 s.
pub async fn drive<S: Timed>(
    sketch: S,
    options: &Options,
    shutdown: Shutdown,
) -> Result<TimerReport> {
    log::scoped(S::NAME, drive_here(sketch, options, shutdown)).await
}

async fn drive_here<S: Timed>(
    mut sketch: S,
    options: &Options,
    mut shutdown: Shutdown,
) -> Result<TimerReport> {
    sketch.begin()?;
    let url = format!("ws://{}:{}{}", options.socket, options.port, S::CHANNEL);
    let mut socket = tokio::select! {
        socket = dial_within(&url, options.retry_for) => socket.map_err(|reason| Error::Unreachable {
            url: url.clone(),
            seconds: options.retry_for.as_secs_f64(),
            reason,
        })?,
        _ = shutdown.wait() => return Ok(TimerReport::default()),
    };
    let period = sketch.period();
    let mut report = TimerReport::default();
    let mut tick = 0;
    while let Some(message) = sketch.tick(tick).await {
        if tick > 0 && !period.is_zero() {
            tokio::select! {
                _ = sleep(period) => {}
                _ = shutdown.wait() => break,
            }
        }
        let lost = |reason: String| Error::Lost {
            url: url.clone(),
            message: message.clone(),
            reason,
        };
        socket
            .send(Message::text(message.as_str()))
            .await
            .map_err(|err| lost(err.to_string()))?;
        crate::out!("> {message}");
        report.sent += 1;
        let (ack, stopping) = tokio::select! {
            ack = timeout(ACK, acknowledgement(&mut socket)) => {
                let ack = ack.map_err(|_| lost(format!("no acknowledgement within {}s", ACK.as_secs())))?;
                (Some(ack.map_err(lost)?), false)
            }
            // The tick is out: a shutdown still gives its answer a moment to arrive.
            _ = shutdown.wait() => {
                let ack = timeout(Duration::from_secs(1), acknowledgement(&mut socket)).await;
                (ack.ok().and_then(Result::ok), true)
            }
        };
        if let Some(ack) = ack {
            crate::out!("< {ack}");
            report.acked += 1;
        }
        if stopping {
            break;
        }
        tick += 1;
    }
    let frame = CloseFrame {
        code: if shutdown.is_triggered() {
            CloseCode::Away
        } else {
            CloseCode::Normal
        },
        reason: "".into(),
    };
    if socket.close(Some(frame)).await.is_ok() {
        let _ = timeout(Duration::from_secs(1), async {
            while let Some(Ok(_)) = socket.next().await {}
        })
        .await;
    }
    flush(&sketch.links()).await;
    Ok(report)
}

/// The next text (or binary) frame from the server: the acknowledgement.
async fn acknowledgement(socket: &mut Socket) -> Result<String, String> {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => return Ok(text.as_str().to_owned()),
            Some(Ok(Message::Binary(bytes))) => {
                return Ok(String::from_utf8_lossy(&bytes).into_owned())
            }
            Some(Ok(Message::Close(frame))) => {
                return Err(match frame {
                    Some(frame) => {
                        format!("closed with {}: {}", u16::from(frame.code), frame.reason)
                    }
                    None => "closed".to_owned(),
                })
            }
            Some(Ok(_)) => continue,
            Some(Err(err)) => return Err(err.to_string()),
            None => return Err("connection ended".to_owned()),
        }
    }
}
