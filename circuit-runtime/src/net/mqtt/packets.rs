//! The packets a publisher exchanges with a broker, in MQTT 3.1.1 or 5
//! (rumqttc's codecs): CONNECT and what its CONNACK means, PUBLISH, PINGREQ
//! and DISCONNECT written, and what comes back read into one shape
//! whatever the version, so that the connection and the link's task speak
//! of acknowledgements, not of versions.

use bytes::{Bytes, BytesMut};
use rumqttc::mqttbytes::v4;
use rumqttc::v5::mqttbytes::v5;

use crate::net::mqtt::url::{Qos, Version};
use crate::net::wire::dial::DialError;

/// How long a broker keeps a session after its connection ended, for MQTT
/// 5 (3.1.1 keeps it until it is cleaned): a day covers a restart.
const SESSION_EXPIRY_SECS: u32 = 24 * 60 * 60;

/// What a broker sent a publisher.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Incoming {
    /// The CONNACK: accepted, with what it said, or refused (a refusal or an absence).
    ConnAck(Result<Accepted, DialError>),
    /// The PUBACK of message `pkid`; with MQTT 5, its refusal (a reason
    /// code of 0x80 or more) in words.
    PubAck {
        /// The message's identifier.
        pkid: u16,
        /// Why the broker refused it, if it did.
        refused: Option<String>,
    },
    /// The answer to our ping.
    PingResp,
    /// The broker ends the connection, for this reason.
    Disconnect(String),
    /// Something a broker does not send a publisher.
    Unexpected(String),
}

/// What the broker's CONNACK said besides yes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Accepted {
    /// Whether the broker kept our session from an earlier connection.
    pub(crate) session_present: bool,
    /// MQTT 5: the most QoS 1 messages the broker takes unacknowledged.
    pub(crate) receive_max: Option<u16>,
}

/// Writes the CONNECT of `client_id`, logging in as `login` if given.
pub(crate) fn connect(
    version: Version,
    out: &mut BytesMut,
    client_id: &str,
    clean: bool,
    keep_alive: u16,
    login: Option<(&str, &str)>,
) {
    match version {
        Version::V311 => {
            let mut connect = v4::Connect::new(client_id);
            connect.clean_session = clean;
            connect.keep_alive = keep_alive;
            if let Some((user, password)) = login {
                connect.set_login(user, password);
            }
            let _ = v4::Packet::Connect(connect).write(out, usize::MAX);
        }
        Version::V5 => {
            let mut properties = v5::ConnectProperties::new();
            if !clean {
                properties.session_expiry_interval = Some(SESSION_EXPIRY_SECS);
            }
            let connect = v5::Connect {
                keep_alive,
                client_id: client_id.to_owned(),
                clean_start: clean,
                properties: Some(properties),
            };
            let login = login.map(|(user, password)| v5::Login::new(user, password));
            let _ = v5::Packet::Connect(connect, None, login).write(out, None);
        }
    }
}

/// One PUBLISH of `payload` to `topic`; `pkid` and `dup` count at QoS 1 only.
pub(crate) struct Publishing<'a> {
    /// The topic.
    pub(crate) topic: &'a str,
    /// The message.
    pub(crate) payload: Bytes,
    /// At most or at least once.
    pub(crate) qos: Qos,
    /// The retain flag.
    pub(crate) retain: bool,
    /// The packet identifier.
    pub(crate) pkid: u16,
    /// Whether it was sent before, on an earlier connection.
    pub(crate) dup: bool,
}

/// Writes one PUBLISH.
pub(crate) fn publish(version: Version, out: &mut BytesMut, message: Publishing<'_>) {
    let once = message.qos == Qos::AtLeastOnce;
    match version {
        Version::V311 => {
            let qos = if once {
                rumqttc::mqttbytes::QoS::AtLeastOnce
            } else {
                rumqttc::mqttbytes::QoS::AtMostOnce
            };
            let mut publish = v4::Publish::from_bytes(message.topic, qos, message.payload);
            publish.retain = message.retain;
            if once {
                publish.pkid = message.pkid;
                publish.dup = message.dup;
            }
            let _ = v4::Packet::Publish(publish).write(out, usize::MAX);
        }
        Version::V5 => {
            let qos = if once {
                rumqttc::v5::mqttbytes::QoS::AtLeastOnce
            } else {
                rumqttc::v5::mqttbytes::QoS::AtMostOnce
            };
            let mut publish = v5::Publish::new(message.topic, qos, message.payload, None);
            publish.retain = message.retain;
            if once {
                publish.pkid = message.pkid;
                publish.dup = message.dup;
            }
            let _ = v5::Packet::Publish(publish).write(out, None);
        }
    }
}

/// Writes a PINGREQ.
pub(crate) fn ping(version: Version, out: &mut BytesMut) {
    match version {
        Version::V311 => {
            let _ = v4::Packet::PingReq.write(out, usize::MAX);
        }
        Version::V5 => {
            let _ = v5::Packet::PingReq(v5::PingReq).write(out, None);
        }
    }
}

/// Writes a DISCONNECT (normal, for MQTT 5).
pub(crate) fn disconnect(version: Version, out: &mut BytesMut) {
    match version {
        Version::V311 => {
            let _ = v4::Packet::Disconnect.write(out, usize::MAX);
        }
        Version::V5 => {
            let normal = v5::Disconnect::new(v5::DisconnectReasonCode::NormalDisconnection);
            let _ = v5::Packet::Disconnect(normal).write(out, None);
        }
    }
}

/// The next packet in `inbound`, at most `max` bytes: `None` until it is
/// all there (nothing is taken from `inbound` then).
///
/// # Errors
/// What is not MQTT of `version`.
pub(crate) fn read(
    version: Version,
    inbound: &mut BytesMut,
    max: usize,
) -> Result<Option<Incoming>, String> {
    let not_mqtt = |err: &dyn std::fmt::Debug| {
        format!(
            "the broker sent what is no MQTT {} ({err:?})",
            name(version)
        )
    };
    match version {
        Version::V311 => match v4::Packet::read(inbound, max) {
            Ok(packet) => Ok(Some(from_v4(packet))),
            Err(rumqttc::mqttbytes::Error::InsufficientBytes(_)) => Ok(None),
            Err(err) => Err(not_mqtt(&err)),
        },
        Version::V5 => {
            let max = u32::try_from(max).unwrap_or(u32::MAX);
            match v5::Packet::read(inbound, Some(max)) {
                Ok(packet) => Ok(Some(from_v5(packet))),
                Err(rumqttc::v5::mqttbytes::Error::InsufficientBytes(_)) => Ok(None),
                Err(err) => Err(not_mqtt(&err)),
            }
        }
    }
}

/// How a version is named in messages.
pub(crate) fn name(version: Version) -> &'static str {
    match version {
        Version::V311 => "3.1.1",
        Version::V5 => "5",
    }
}

/// An MQTT 3.1.1 packet, in the common shape.
fn from_v4(packet: v4::Packet) -> Incoming {
    use v4::ConnectReturnCode as Code;
    match packet {
        v4::Packet::ConnAck(ack) => Incoming::ConnAck(match ack.code {
            Code::Success => Ok(Accepted {
                session_present: ack.session_present,
                receive_max: None,
            }),
            Code::ServiceUnavailable => Err(DialError::Absent(
                "the broker is unavailable (CONNACK: server unavailable)".to_owned(),
            )),
            // What mosquitto answers a wrong password with, under MQTT 3.1.1.
            Code::NotAuthorized => Err(refused("not authorized")),
            Code::BadUserNamePassword => Err(refused("bad user name or password")),
            Code::BadClientId => Err(refused("the client identifier")),
            Code::RefusedProtocolVersion => Err(refused("it does not speak MQTT 3.1.1")),
        }),
        v4::Packet::PubAck(ack) => Incoming::PubAck {
            pkid: ack.pkid,
            refused: None,
        },
        v4::Packet::PingResp => Incoming::PingResp,
        v4::Packet::Disconnect => Incoming::Disconnect("the broker disconnected us".to_owned()),
        other => Incoming::Unexpected(format!("{other:?}")),
    }
}

/// An MQTT 5 packet, in the common shape.
fn from_v5(packet: v5::Packet) -> Incoming {
    use v5::ConnectReturnCode as Code;
    match packet {
        v5::Packet::ConnAck(ack) => Incoming::ConnAck(match ack.code {
            Code::Success => Ok(Accepted {
                session_present: ack.session_present,
                receive_max: ack.properties.and_then(|properties| properties.receive_max),
            }),
            Code::ServiceUnavailable
            | Code::ServerUnavailable
            | Code::ServerBusy
            | Code::ConnectionRateExceeded
            | Code::QuotaExceeded
            | Code::UnspecifiedError => Err(DialError::Absent(format!(
                "the broker cannot take us now (CONNACK: {:?})",
                ack.code
            ))),
            Code::NotAuthorized => Err(refused("not authorized")),
            Code::BadUserNamePassword => Err(refused("bad user name or password")),
            Code::BadClientId | Code::ClientIdentifierNotValid => {
                Err(refused("the client identifier"))
            }
            Code::RefusedProtocolVersion | Code::UnsupportedProtocolVersion => {
                Err(refused("it does not speak MQTT 5 (try ?version=3)"))
            }
            code => Err(refused(&format!("{code:?}"))),
        }),
        v5::Packet::PubAck(ack) => {
            use v5::PubAckReason as Reason;
            let refused = match ack.reason {
                Reason::Success | Reason::NoMatchingSubscribers => None,
                reason => Some(match ack.properties.and_then(|p| p.reason_string) {
                    Some(why) => format!("{reason:?}: {why}"),
                    None => format!("{reason:?}"),
                }),
            };
            Incoming::PubAck {
                pkid: ack.pkid,
                refused,
            }
        }
        v5::Packet::PingResp(_) => Incoming::PingResp,
        v5::Packet::Disconnect(disconnect) => Incoming::Disconnect(format!(
            "the broker disconnected us ({:?})",
            disconnect.reason_code
        )),
        other => Incoming::Unexpected(format!("{other:?}")),
    }
}

/// A CONNACK that says no, for `why`: trying again cannot mend it.
fn refused(why: &str) -> DialError {
    DialError::Refused(format!("the broker refused the login: {why}"))
}
