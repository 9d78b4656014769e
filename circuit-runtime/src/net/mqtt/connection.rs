//! One connection to a broker over TCP or TLS, in MQTT 3.1.1 or 5 (see
//! `packets`): CONNECT and its CONNACK (a refusal told from an absence),
//! packets written in batches and read back one at a time.

use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::MaybeTlsStream;

use crate::net::mqtt::packets::{self, name};
pub(crate) use crate::net::mqtt::packets::{Accepted, Incoming, Publishing};
use crate::net::mqtt::url::{MqttUrl, Version, PASSWORD_VARIABLE};
use crate::net::wire::dial::DialError;
use crate::net::wire::tls;

/// How long one connection attempt (TCP, TLS, CONNECT and CONNACK) may take.
const ATTEMPT: Duration = Duration::from_secs(5);

/// The largest packet read from the broker: a publisher is sent only
/// CONNACK, PUBACK and PINGRESP, all of them tiny.
const MAX_INCOMING: usize = 64 * 1024;

/// A connection to a broker, logged in.
pub(crate) struct Connection {
    /// TCP, or TLS over it.
    stream: MaybeTlsStream<TcpStream>,
    /// Bytes read and not yet made into packets.
    inbound: BytesMut,
    /// Packets queued and not yet written.
    outbound: BytesMut,
    /// The protocol's version.
    version: Version,
}

/// The keepalive told the broker, for `ack_timeout` (`--ack-timeout`):
/// twice it, so that the ping of an idle connection, after one
/// `--ack-timeout` of silence (or half the keepalive), comes well before
/// the broker gives up on us (after one and a half).
pub(crate) fn keep_alive(ack_timeout: Duration) -> Duration {
    (ack_timeout * 2).max(Duration::from_secs(2))
}

/// How a session with a broker starts: who we are and how long the broker
/// waits for a packet before it drops us.
pub(crate) struct Login<'a> {
    /// The broker's URL: where, as whom, over what.
    pub(crate) url: &'a MqttUrl,
    /// The MQTT client identifier.
    pub(crate) client_id: &'a str,
    /// Whether the broker forgets the session when the connection ends.
    pub(crate) clean: bool,
    /// The keepalive told the broker.
    pub(crate) keep_alive: Duration,
}

impl Connection {
    /// Connects and logs in, within [`ATTEMPT`].
    ///
    /// # Errors
    /// [`DialError::Refused`] when the broker (or TLS) said no in a way
    /// trying again cannot mend; [`DialError::Absent`] otherwise.
    pub(crate) async fn open(login: &Login<'_>) -> Result<(Connection, Accepted), DialError> {
        timeout(ATTEMPT, Connection::open_now(login))
            .await
            .unwrap_or_else(|_| {
                Err(DialError::Absent(format!(
                    "no answer within {}s",
                    ATTEMPT.as_secs()
                )))
            })
    }

    /// [`Connection::open`] without its time limit.
    async fn open_now(login: &Login<'_>) -> Result<(Connection, Accepted), DialError> {
        let url = login.url;
        // Read first: a password file that cannot be read is no network failure.
        let password = url.password().map_err(DialError::Refused)?;
        let tcp = TcpStream::connect((url.host.as_str(), url.port))
            .await
            .map_err(|err| DialError::Absent(format!("IO error: {err}")))?;
        // PUBACKs are tiny and latency-bound: do not let Nagle hold them.
        let _ = tcp.set_nodelay(true);
        let stream = if url.tls {
            tls::connect(tcp, &url.host).await.map_err(|failed| {
                if failed.refused {
                    DialError::Refused(failed.reason)
                } else {
                    DialError::Absent(failed.reason)
                }
            })?
        } else {
            MaybeTlsStream::Plain(tcp)
        };
        let mut connection = Connection {
            stream,
            inbound: BytesMut::with_capacity(4096),
            outbound: BytesMut::with_capacity(64 * 1024),
            version: url.version.unwrap_or(Version::V311),
        };
        let password = password.unwrap_or_default();
        packets::connect(
            connection.version,
            &mut connection.outbound,
            login.client_id,
            login.clean,
            u16::try_from(login.keep_alive.as_secs().max(1)).unwrap_or(u16::MAX),
            url.user.as_deref().map(|user| (user, password.as_str())),
        );
        connection
            .flush()
            .await
            .map_err(|err| DialError::Absent(format!("IO error: {err}")))?;
        match connection.next().await {
            Ok(Incoming::ConnAck(Ok(accepted))) => Ok((connection, accepted)),
            Ok(Incoming::ConnAck(Err(DialError::Refused(why)))) => {
                Err(DialError::Refused(format!("{why}{}", hint(login))))
            }
            Ok(Incoming::ConnAck(Err(absent))) => Err(absent),
            Ok(other) => Err(DialError::Refused(format!(
                "the broker at {} answered CONNECT with {other:?}, not CONNACK: is it an MQTT {} broker?",
                url.authority(),
                name(connection.version)
            ))),
            Err(reason) => Err(DialError::Absent(reason)),
        }
    }

    /// Adds a PUBLISH to what the next [`Connection::flush`] writes.
    pub(crate) fn publish(&mut self, message: Publishing<'_>) {
        packets::publish(self.version, &mut self.outbound, message);
    }

    /// Adds a PINGREQ to what the next [`Connection::flush`] writes.
    pub(crate) fn ping(&mut self) {
        packets::ping(self.version, &mut self.outbound);
    }

    /// Bytes queued and not yet written.
    pub(crate) fn queued(&self) -> usize {
        self.outbound.len()
    }

    /// Writes what was queued, in one go.
    ///
    /// # Errors
    /// The connection failed.
    pub(crate) async fn flush(&mut self) -> std::io::Result<()> {
        if !self.outbound.is_empty() {
            self.stream.write_all(&self.outbound).await?;
            self.outbound.clear();
        }
        self.stream.flush().await
    }

    /// The next packet from the broker. Cancel-safe: what was read before a
    /// cancel stays for the next call.
    ///
    /// # Errors
    /// The connection ended or failed, or the broker sent what is no MQTT.
    pub(crate) async fn next(&mut self) -> Result<Incoming, String> {
        loop {
            if let Some(packet) = packets::read(self.version, &mut self.inbound, MAX_INCOMING)? {
                return Ok(packet);
            }
            match self.stream.read_buf(&mut self.inbound).await {
                Ok(0) => return Err("the broker closed the connection".to_owned()),
                Ok(_) => {}
                Err(err) => return Err(format!("IO error: {err}")),
            }
        }
    }

    /// Says goodbye (DISCONNECT) and closes, as politely as the broker lets us.
    pub(crate) async fn close(mut self) {
        packets::disconnect(self.version, &mut self.outbound);
        let _ = timeout(Duration::from_secs(1), async {
            let _ = self.flush().await;
            let _ = self.stream.shutdown().await;
        })
        .await;
    }
}

/// What to check after the broker refused `login`: the password's source,
/// the user, or the client identifier.
fn hint(login: &Login<'_>) -> String {
    let url = login.url;
    match &url.user {
        Some(user) => format!(
            " (user {user:?}, the password from {}; or the client identifier {:?}, ?client_id=ID)",
            url.password_file
                .as_ref()
                .map_or_else(|| PASSWORD_VARIABLE.to_owned(), |path| path.display().to_string()),
            login.client_id
        ),
        None => format!(
            " (does it ask for a user? mqtt://USER@HOST/…; or the client identifier {:?}, ?client_id=ID)",
            login.client_id
        ),
    }
}
