//! One message at a time to a broker, each awaiting its PUBACK: what a
//! timer's ticks and the `probe` command publish. Connects within a
//! patience (a refusal at once), and sends a message again, with DUP and
//! the same packet identifier, after the connection carrying it failed.

use std::time::Duration;

use bytes::Bytes;
use tokio::time::{sleep, timeout, Instant};

use crate::net::mqtt::connection::{keep_alive, Connection, Incoming, Login, Publishing};
use crate::net::mqtt::publish::PUBACK;
use crate::net::mqtt::url::{MqttUrl, Qos};
use crate::net::wire::dial::{Backoff, DialError};

/// A publisher of one message at a time to the topic of a URL.
pub(crate) struct Requester {
    /// The broker and topic.
    url: MqttUrl,
    /// The MQTT client identifier.
    client_id: String,
    /// How long a PUBACK may take.
    ack_timeout: Duration,
    /// The connection, once made and until it fails.
    connection: Option<Connection>,
    /// The identifier of the next message.
    next_pkid: u16,
    /// Whether the broker forgets our session when a connection ends.
    clean: bool,
}

impl Requester {
    /// Not yet connected to `url`, as `client_id` unless the URL names one.
    pub(crate) fn new(url: MqttUrl, client_id: String, ack_timeout: Duration) -> Requester {
        Requester {
            client_id: url.client_id.clone().unwrap_or(client_id),
            url,
            ack_timeout,
            connection: None,
            next_pkid: 1,
            clean: false,
        }
    }

    /// A session the broker forgets when the connection ends: for a
    /// one-off client, whose identifier is not used again.
    pub(crate) fn forgotten(mut self) -> Requester {
        self.clean = true;
        self
    }

    /// Whether a connection is up.
    pub(crate) fn is_open(&self) -> bool {
        self.connection.is_some()
    }

    /// Connects, trying again with backoff for `patience`; a refusal (the
    /// login, TLS) at once, since trying again cannot mend it.
    ///
    /// # Errors
    /// The refusal, or why the last attempt failed.
    pub(crate) async fn open_within(&mut self, patience: Duration) -> Result<(), DialError> {
        let deadline = Instant::now() + patience;
        let mut backoff = Backoff::new();
        let mut said = false;
        loop {
            let login = Login {
                url: &self.url,
                client_id: &self.client_id,
                clean: self.clean,
                keep_alive: self.keep_alive(),
            };
            match Connection::open(&login).await {
                Ok((connection, _)) => {
                    self.connection = Some(connection);
                    return Ok(());
                }
                Err(DialError::Absent(why)) if Instant::now() < deadline => {
                    if !std::mem::replace(&mut said, true) {
                        tracing::info!(
                            "waiting up to {:.1}s for the broker at {} ({why})",
                            patience.as_secs_f64(),
                            self.url.authority()
                        );
                    }
                    let wait = backoff.next_wait();
                    sleep(wait.min(deadline.saturating_duration_since(Instant::now()))).await;
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// The identifier of a new message, for [`Requester::publish`].
    pub(crate) fn new_message(&mut self) -> u16 {
        let pkid = self.next_pkid;
        self.next_pkid = self.next_pkid.checked_add(1).unwrap_or(1);
        pkid
    }

    /// Publishes `text` as message `pkid` (with DUP when `again`) and
    /// waits for its PUBACK: the acknowledgement's text, [`PUBACK`]. At
    /// QoS 0, once written.
    ///
    /// # Errors
    /// Why the connection failed before the PUBACK; it is dropped then.
    pub(crate) async fn publish(
        &mut self,
        text: &str,
        pkid: u16,
        again: bool,
    ) -> Result<String, String> {
        let Some(connection) = self.connection.as_mut() else {
            return Err("not connected".to_owned());
        };
        let qos = self.url.qos;
        connection.publish(Publishing {
            topic: &self.url.topic,
            payload: Bytes::copy_from_slice(text.as_bytes()),
            qos,
            retain: self.url.retain,
            pkid,
            dup: again,
        });
        let answer = async {
            connection
                .flush()
                .await
                .map_err(|err| format!("IO error: {err}"))?;
            if qos == Qos::AtMostOnce {
                return Ok(PUBACK.to_owned());
            }
            loop {
                match connection.next().await? {
                    Incoming::PubAck {
                        pkid: acked,
                        refused,
                    } if acked == pkid => {
                        // A refusal is the broker's answer, as a sketch's `error: …`.
                        return Ok(refused.map_or_else(
                            || PUBACK.to_owned(),
                            |why| format!("error: the broker refused it: {why}"),
                        ));
                    }
                    // A PUBACK of an earlier message, sent again; a ping's answer.
                    Incoming::PubAck { .. } | Incoming::PingResp => {}
                    Incoming::Disconnect(why) => return Err(why),
                    other => {
                        return Err(format!(
                            "the broker sent a publisher {other:?}, which MQTT does not allow"
                        ))
                    }
                }
            }
        };
        let result = match timeout(self.ack_timeout, answer).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "no PUBACK within {:.1}s (--ack-timeout)",
                self.ack_timeout.as_secs_f64()
            )),
        };
        if result.is_err() {
            self.connection = None;
        }
        result
    }

    /// Waits `span` (a timer's period) while keeping the idle connection
    /// alive: a PINGREQ every half keepalive, so that the broker, which
    /// drops a client silent for one and a half, keeps us. A connection
    /// that ends meanwhile is dropped quietly, to be made again before the
    /// next message.
    pub(crate) async fn idle_for(&mut self, span: Duration) {
        let until = Instant::now() + span;
        let every = self.keep_alive() / 2;
        let Some(connection) = self.connection.as_mut() else {
            return sleep(span).await;
        };
        let ended = loop {
            let next_ping = (Instant::now() + every).min(until);
            tokio::select! {
                () = tokio::time::sleep_until(next_ping) => {
                    if next_ping >= until {
                        return;
                    }
                    connection.ping();
                    if let Err(err) = connection.flush().await {
                        break format!("IO error: {err}");
                    }
                }
                packet = connection.next() => match packet {
                    Ok(Incoming::PingResp | Incoming::PubAck { .. }) => {}
                    Ok(Incoming::Disconnect(why)) => break why,
                    Ok(other) => break format!("the broker sent a publisher {other:?}"),
                    Err(why) => break why,
                },
            }
        };
        tracing::debug!("the connection to the broker ended between two messages ({ended})");
        self.connection = None;
        tokio::time::sleep_until(until).await;
    }

    /// The keepalive told the broker.
    fn keep_alive(&self) -> Duration {
        keep_alive(self.ack_timeout)
    }

    /// Says goodbye to the broker, if connected.
    pub(crate) async fn close(&mut self) {
        if let Some(connection) = self.connection.take() {
            connection.close().await;
        }
    }
}
