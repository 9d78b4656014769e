//! One connection to a broker, spoken with rumqttc's MQTT 3.1.1 packet
//! codec over TCP or TLS: CONNECT and its CONNACK (a refusal told from an
//! absence), packets written in batches and read back one at a time.

use std::time::Duration;

use bytes::BytesMut;
use rumqttc::mqttbytes::v4::{ConnAck, Connect, ConnectReturnCode, Packet};
use rumqttc::mqttbytes::Error as CodecError;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::MaybeTlsStream;

use crate::net::mqtt::url::MqttUrl;
use crate::net::wire::dial::DialError;
use crate::net::wire::tls;

/// How long one connection attempt (TCP, TLS, CONNECT and CONNACK) may take.
const ATTEMPT: Duration = Duration::from_secs(5);

/// The largest packet read from the broker: a publisher is sent only
/// CONNACK, PUBACK and PINGRESP, all of them tiny.
const MAX_INCOMING: usize = 64 * 1024;

/// What the broker's CONNACK said besides yes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Accepted {
    /// Whether the broker kept our session from an earlier connection.
    pub(crate) session_present: bool,
}

/// A connection to a broker, logged in.
pub(crate) struct Connection {
    /// TCP, or TLS over it.
    stream: MaybeTlsStream<TcpStream>,
    /// Bytes read and not yet made into packets.
    inbound: BytesMut,
    /// Packets queued and not yet written.
    outbound: BytesMut,
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
        };
        let mut connect = Connect::new(login.client_id);
        connect.clean_session = login.clean;
        connect.keep_alive = u16::try_from(login.keep_alive.as_secs().max(1)).unwrap_or(u16::MAX);
        if let Some(user) = &url.user {
            connect.set_login(user.as_str(), password.unwrap_or_default());
        }
        connection.queue(&Packet::Connect(connect));
        connection
            .flush()
            .await
            .map_err(|err| DialError::Absent(format!("IO error: {err}")))?;
        match connection.next_packet().await {
            Ok(Packet::ConnAck(ack)) => {
                let accepted = answered(&ack, login)?;
                Ok((connection, accepted))
            }
            Ok(other) => Err(DialError::Refused(format!(
                "the broker at {} answered CONNECT with {other:?}, not CONNACK: is it an MQTT broker?",
                url.authority()
            ))),
            Err(reason) => Err(DialError::Absent(reason)),
        }
    }

    /// Adds `packet` to what the next [`Connection::flush`] writes.
    pub(crate) fn queue(&mut self, packet: &Packet) {
        // Only a packet over MQTT's limit fails, which the caller checked.
        let _ = packet.write(&mut self.outbound, usize::MAX);
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
    pub(crate) async fn next_packet(&mut self) -> Result<Packet, String> {
        loop {
            match Packet::read(&mut self.inbound, MAX_INCOMING) {
                Ok(packet) => return Ok(packet),
                Err(CodecError::InsufficientBytes(_)) => {}
                Err(err) => return Err(format!("the broker sent what is no MQTT 3.1.1 ({err})")),
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
        self.queue(&Packet::Disconnect);
        let _ = timeout(Duration::from_secs(1), async {
            let _ = self.flush().await;
            let _ = self.stream.shutdown().await;
        })
        .await;
    }
}

/// What the broker's CONNACK means: a session, or why not.
fn answered(ack: &ConnAck, login: &Login<'_>) -> Result<Accepted, DialError> {
    let url = login.url;
    let refused = |why: String| {
        Err(DialError::Refused(format!(
            "the broker refused the login: {why}"
        )))
    };
    match ack.code {
        ConnectReturnCode::Success => Ok(Accepted {
            session_present: ack.session_present,
        }),
        ConnectReturnCode::BadUserNamePassword => refused(match &url.user {
            Some(user) => format!(
                "bad user name or password (user {user:?}; the password from {})",
                url.password_file.as_ref().map_or_else(
                    || crate::net::mqtt::url::PASSWORD_VARIABLE.to_owned(),
                    |path| path.display().to_string()
                )
            ),
            None => "it asks for a user and password (mqtt://USER@HOST/…, ?password_file=PATH)"
                .to_owned(),
        }),
        // What mosquitto answers a wrong password with, under MQTT 3.1.1.
        ConnectReturnCode::NotAuthorized => refused(match &url.user {
            Some(user) => format!("not authorized (is the password of {user:?} right?)"),
            None => "not authorized (does it ask for a user? mqtt://USER@HOST/…)".to_owned(),
        }),
        ConnectReturnCode::BadClientId => refused(format!(
            "the client identifier {:?} (choose another with ?client_id=ID)",
            login.client_id
        )),
        ConnectReturnCode::RefusedProtocolVersion => {
            refused("it does not speak MQTT 3.1.1".to_owned())
        }
        ConnectReturnCode::ServiceUnavailable => Err(DialError::Absent(
            "the broker is unavailable (CONNACK: server unavailable)".to_owned(),
        )),
    }
}
