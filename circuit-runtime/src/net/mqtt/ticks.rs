//! A timer sketch ticking to a broker (`--to mqtt://HOST/TOPIC`): each
//! tick is published at QoS 1 and its PUBACK is the tick's acknowledgement
//! (`< ok`). A broker that goes away gets the unacknowledged tick again,
//! with DUP, once it is back within `--retry-for`; a broker that refuses
//! the login ends the run at once (exit 1).

use crate::base::error::{Error, Result};
use crate::base::options::Options;
use crate::base::shutdown::Shutdown;
use crate::base::sketch::Timed;
use crate::net::mqtt::request::Requester;
use crate::net::mqtt::session::client_id;
use crate::net::mqtt::url::MqttUrl;
use crate::net::send::tally::{acked, ended, TimerReport};
use crate::net::wire::dial::DialError;
use crate::observe::progress::Progress;
use crate::observe::signal::signal;
use crate::observe::{health, log, metrics};

/// Ticks `sketch` to the topic of `url` until its loop or `shutdown` says so.
///
/// # Errors
/// [`Error::Refused`] when the broker refuses the login, [`Error::Unreachable`]
/// when it does not answer within `--retry-for`, [`Error::Lost`] when it
/// goes away holding a tick and does not come back within `--retry-for`.
pub(crate) async fn drive<S: Timed>(
    mut sketch: S,
    url: MqttUrl,
    options: &Options,
    mut shutdown: Shutdown,
) -> Result<TimerReport> {
    let target = url.to_string();
    let patience = options.retry_for;
    let mut broker = Requester::new(
        url,
        client_id(&log::current(), "ticks"),
        options.links.ack_timeout,
    );
    // Why a connection could not be made, as the run's error.
    let failed = |err: DialError, lost: Option<(&str, &str)>| match (err, lost) {
        (DialError::Refused(reason), _) => Error::Refused {
            url: target.clone(),
            reason,
        },
        (DialError::Absent(reason), None) => Error::Unreachable {
            url: target.clone(),
            seconds: patience.as_secs_f64(),
            reason,
        },
        (DialError::Absent(_), Some((message, reason))) => Error::Lost {
            url: target.clone(),
            message: message.to_owned(),
            reason: format!(
                "{reason}; it did not come back within {:.1}s",
                patience.as_secs_f64()
            ),
        },
    };
    tokio::select! {
        opened = broker.open_within(patience) => opened.map_err(|err| failed(err, None))?,
        () = shutdown.wait() => return Ok(TimerReport::default()),
    }
    let period = sketch.period();
    let mut stopping = shutdown.stopping();
    let progress = Progress::start(sketch.total());
    let mut report = TimerReport::default();
    health::sketch_up();
    let ticks = metrics::Sketch::named(&log::current()).ticks();
    let mut tick = 0;
    loop {
        let Some(message) = sketch.tick(tick).await else {
            break;
        };
        if tick > 0 && !period.is_zero() {
            tokio::select! {
                () = broker.idle_for(period) => {}
                _ = &mut stopping => break,
            }
        }
        report.sent += 1;
        ticks.sent();
        progress.sent();
        signal("tick", tick);
        let pkid = broker.new_message();
        let mut again = false;
        let ack = loop {
            if !broker.is_open() {
                tokio::select! {
                    opened = broker.open_within(patience) => opened.map_err(|err| {
                        failed(err, Some((&message, "the broker went away")))
                    })?,
                    () = shutdown.wait() => break None,
                }
            }
            crate::out!("> {message}{}", if again { " (resent)" } else { "" });
            match broker.publish(&message, pkid, again).await {
                Ok(ack) => break Some(ack),
                Err(reason) => {
                    tracing::warn!(
                        "lost the broker at {target} ({reason}); reconnecting to resend {message:?}"
                    );
                    report.resent += 1;
                    again = true;
                }
            }
        };
        let Some(ack) = ack else { break };
        acked(&ack, &mut report, &progress);
        tick += 1;
    }
    broker.close().await;
    drop(progress);
    Ok(ended(sketch, options, report).await)
}
