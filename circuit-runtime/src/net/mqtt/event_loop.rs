//! One connection to a broker through rumqttc's event loop, whichever
//! version it speaks (MQTT 3.1.1 or 5): what it receives, reduced to what a
//! subscriber acts on, and the requests it sends (subscribe, publish,
//! acknowledge, disconnect). Acknowledgements are manual: a message is
//! acknowledged when its caller says so, not when it arrives.

use bytes::Bytes;
use rumqttc::v5::mqttbytes::v5;

use crate::net::mqtt::session::Session;
use crate::net::mqtt::url::{MqttUrl, Qos, Version};

/// Requests waiting for the event loop (rumqttc's channel capacity).
const REQUESTS: usize = 64;

/// What the event loop gave, as a subscriber sees it.
pub(crate) enum Event {
    /// The broker accepted the connection.
    Connected,
    /// The broker answered a subscription: `Err` with its reason when refused.
    Subscribed(Result<(), String>),
    /// A message published on a topic matching the subscription.
    Message(Delivery),
    /// Anything else (pings, acknowledgements of what we sent).
    Other,
    /// Our disconnect went out: the connection is over.
    Disconnected,
}

/// Why the connection failed.
pub(crate) enum Failure {
    /// The broker refused the connection (CONNACK): retrying cannot mend it.
    Refused(String),
    /// The broker is unreachable or the connection broke: worth retrying.
    Broken(String),
}

/// A message received, to be acknowledged once handled.
pub(crate) struct Delivery {
    /// The topic it was published on.
    pub(crate) topic: String,
    /// Its payload.
    pub(crate) payload: Bytes,
    /// MQTT 5's response topic and correlation data, when the publisher gave one.
    pub(crate) response: Option<(String, Option<Bytes>)>,
    /// The packet, for its acknowledgement (boxed: an MQTT 5 one is large).
    packet: Box<Packet>,
}

/// A received packet of either version.
enum Packet {
    /// MQTT 3.1.1.
    V311(rumqttc::Publish),
    /// MQTT 5.
    V5(v5::Publish),
}

/// The client side of a connection: what sends requests to its event loop.
#[derive(Clone)]
pub(crate) enum Client {
    /// MQTT 3.1.1.
    V311(rumqttc::AsyncClient),
    /// MQTT 5.
    V5(rumqttc::v5::AsyncClient),
}

/// The event loop of a connection: polled, it connects (again after a
/// failure), sends what the client asked, and gives what arrives.
pub(crate) enum Loop {
    /// MQTT 3.1.1 (boxed, as the other: an event loop is large).
    V311(Box<rumqttc::EventLoop>),
    /// MQTT 5.
    V5(Box<rumqttc::v5::EventLoop>),
}

/// A connection to the broker of `url` for `session`, with manual
/// acknowledgements and a session that outlives the connection; MQTT 5
/// unless the URL says `?version=3`. Nothing is sent before it is polled.
///
/// # Errors
/// TLS's client configuration cannot be made.
pub(crate) fn open(url: &MqttUrl, session: &Session) -> Result<(Client, Loop), String> {
    if url.version == Some(Version::V311) {
        let mut options = session.v311(url, false)?;
        options.set_manual_acks(true);
        let (client, events) = rumqttc::AsyncClient::new(options, REQUESTS);
        return Ok((Client::V311(client), Loop::V311(Box::new(events))));
    }
    let mut options = session.v5(url, false)?;
    options.set_manual_acks(true);
    let (client, events) = rumqttc::v5::AsyncClient::new(options, REQUESTS);
    Ok((Client::V5(client), Loop::V5(Box::new(events))))
}

impl Loop {
    /// The next event, or why the connection failed (the next poll then connects again).
    pub(crate) async fn poll(&mut self) -> Result<Event, Failure> {
        match self {
            Loop::V311(events) => match events.poll().await {
                Ok(rumqttc::Event::Incoming(packet)) => Ok(incoming_v311(packet)),
                Ok(rumqttc::Event::Outgoing(rumqttc::Outgoing::Disconnect)) => {
                    Ok(Event::Disconnected)
                }
                Ok(rumqttc::Event::Outgoing(_)) => Ok(Event::Other),
                Err(rumqttc::ConnectionError::ConnectionRefused(code)) => {
                    Err(Failure::Refused(refusal(&format!("{code:?}"))))
                }
                Err(err) => Err(Failure::Broken(err.to_string())),
            },
            Loop::V5(events) => match events.poll().await {
                Ok(rumqttc::v5::Event::Incoming(packet)) => Ok(incoming_v5(packet)),
                Ok(rumqttc::v5::Event::Outgoing(rumqttc::Outgoing::Disconnect)) => {
                    Ok(Event::Disconnected)
                }
                Ok(rumqttc::v5::Event::Outgoing(_)) => Ok(Event::Other),
                Err(rumqttc::v5::ConnectionError::ConnectionRefused(code)) => {
                    Err(Failure::Refused(refusal(&format!("{code:?}"))))
                }
                Err(err) => Err(Failure::Broken(err.to_string())),
            },
        }
    }
}

/// What a CONNACK's refusal `code` means for whoever reads the log.
fn refusal(code: &str) -> String {
    match code {
        "BadUserNamePassword" | "NotAuthorized" => format!(
            "the broker refused the login ({code}): check the user and its password (?password_file, or the environment variable {})",
            crate::net::mqtt::url::PASSWORD_VARIABLE
        ),
        "RefusedProtocolVersion" | "UnsupportedProtocolVersion" => format!(
            "the broker refused the connection ({code}): it may not speak MQTT 5; try ?version=3"
        ),
        _ => format!("the broker refused the connection ({code})"),
    }
}

/// An MQTT 3.1.1 packet received.
fn incoming_v311(packet: rumqttc::Packet) -> Event {
    match packet {
        rumqttc::Packet::ConnAck(_) => Event::Connected,
        rumqttc::Packet::SubAck(suback) => Event::Subscribed(
            match suback
                .return_codes
                .iter()
                .find(|code| matches!(code, rumqttc::SubscribeReasonCode::Failure))
            {
                Some(_) => Err("failure (0x80)".to_owned()),
                None => Ok(()),
            },
        ),
        rumqttc::Packet::Publish(publish) => Event::Message(Delivery {
            topic: publish.topic.clone(),
            payload: publish.payload.clone(),
            response: None,
            packet: Box::new(Packet::V311(publish)),
        }),
        _ => Event::Other,
    }
}

/// An MQTT 5 packet received.
fn incoming_v5(packet: v5::Packet) -> Event {
    match packet {
        v5::Packet::ConnAck(_) => Event::Connected,
        v5::Packet::SubAck(suback) => Event::Subscribed(
            match suback
                .return_codes
                .iter()
                .find(|code| !matches!(code, v5::SubscribeReasonCode::Success(_)))
            {
                Some(code) => Err(format!("{code:?}")),
                None => Ok(()),
            },
        ),
        v5::Packet::Publish(publish) => {
            let response = publish.properties.as_ref().and_then(|properties| {
                let topic = properties.response_topic.clone()?;
                Some((topic, properties.correlation_data.clone()))
            });
            Event::Message(Delivery {
                topic: String::from_utf8_lossy(&publish.topic).into_owned(),
                payload: publish.payload.clone(),
                response,
                packet: Box::new(Packet::V5(publish)),
            })
        }
        _ => Event::Other,
    }
}

impl Client {
    /// Asks to subscribe to `filter` at quality `qos`, without waiting
    /// (the event loop's own task asks, so it must not wait for itself).
    pub(crate) fn subscribe(&self, filter: &str, qos: Qos) -> Result<(), String> {
        match self {
            Client::V311(client) => client
                .try_subscribe(filter, qos_v311(qos))
                .map_err(|err| err.to_string()),
            Client::V5(client) => client
                .try_subscribe(filter, qos_v5(qos))
                .map_err(|err| err.to_string()),
        }
    }

    /// Publishes `payload` on `topic` at `qos`, with `correlation` data (MQTT 5 only).
    pub(crate) async fn publish(
        &self,
        topic: &str,
        qos: Qos,
        payload: Bytes,
        correlation: Option<Bytes>,
    ) -> Result<(), String> {
        match self {
            Client::V311(client) => client
                .publish_bytes(topic, qos_v311(qos), false, payload)
                .await
                .map_err(|err| err.to_string()),
            Client::V5(client) => {
                let properties = v5::PublishProperties {
                    correlation_data: correlation,
                    ..v5::PublishProperties::default()
                };
                client
                    .publish_with_properties(topic, qos_v5(qos), false, payload, properties)
                    .await
                    .map_err(|err| err.to_string())
            }
        }
    }

    /// Acknowledges `delivery` to the broker (its PUBACK), which then never sends it again.
    pub(crate) async fn ack(&self, delivery: &Delivery) -> Result<(), String> {
        match (self, &*delivery.packet) {
            (Client::V311(client), Packet::V311(publish)) => {
                client.ack(publish).await.map_err(|err| err.to_string())
            }
            (Client::V5(client), Packet::V5(publish)) => {
                client.ack(publish).await.map_err(|err| err.to_string())
            }
            _ => Err("a message acknowledged on a connection of another version".to_owned()),
        }
    }

    /// Asks the event loop to send DISCONNECT, without waiting.
    pub(crate) fn disconnect(&self) {
        // A full queue only means the connection ends without its goodbye.
        let _ = match self {
            Client::V311(client) => client.try_disconnect().map_err(|err| err.to_string()),
            Client::V5(client) => client.try_disconnect().map_err(|err| err.to_string()),
        };
    }
}

/// rumqttc's quality of service for MQTT 3.1.1.
fn qos_v311(qos: Qos) -> rumqttc::QoS {
    match qos {
        Qos::AtMostOnce => rumqttc::QoS::AtMostOnce,
        Qos::AtLeastOnce => rumqttc::QoS::AtLeastOnce,
    }
}

/// rumqttc's quality of service for MQTT 5.
fn qos_v5(qos: Qos) -> rumqttc::v5::mqttbytes::QoS {
    match qos {
        Qos::AtMostOnce => rumqttc::v5::mqttbytes::QoS::AtMostOnce,
        Qos::AtLeastOnce => rumqttc::v5::mqttbytes::QoS::AtLeastOnce,
    }
}
