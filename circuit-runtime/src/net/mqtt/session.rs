//! The options of a connection to a broker through rumqttc's event loop
//! (subscriptions and signals; links speak the protocol themselves): where,
//! as whom, over what, and the client identifier that lets a broker keep a
//! sketch's session from one run to the next.

use std::time::Duration;

use crate::net::mqtt::url::MqttUrl;

/// How often an idle connection pings its broker.
const KEEP_ALIVE: Duration = Duration::from_secs(30);

/// What every connection to `url` has in common, whatever its version.
pub(crate) struct Session {
    /// The MQTT client identifier.
    pub(crate) client_id: String,
    /// The user and password, when the URL names a user.
    pub(crate) credentials: Option<(String, String)>,
    /// The largest packet either side may send, in bytes.
    pub(crate) max_packet: usize,
}

impl Session {
    /// The session of `sketch`'s `role` (`subscriber`, `signals`) with the
    /// broker of `url`: its client identifier is `?client_id` or, so that a
    /// restarted sketch finds its session (and the messages queued for it)
    /// again, `circuit-SKETCH-ROLE`.
    ///
    /// # Errors
    /// The password file cannot be read.
    pub(crate) fn new(
        url: &MqttUrl,
        sketch: &str,
        role: &str,
        max_packet: usize,
    ) -> Result<Session, String> {
        let client_id = url
            .client_id
            .clone()
            .unwrap_or_else(|| client_id(sketch, role));
        let credentials = match (&url.user, url.password()?) {
            (Some(user), password) => Some((user.clone(), password.unwrap_or_default())),
            (None, _) => None,
        };
        Ok(Session {
            client_id,
            credentials,
            max_packet,
        })
    }

    /// rumqttc's options for MQTT 3.1.1.
    ///
    /// # Errors
    /// TLS's client configuration cannot be made (`--ca` unreadable).
    pub(crate) fn v311(&self, url: &MqttUrl, clean: bool) -> Result<rumqttc::MqttOptions, String> {
        let mut options = rumqttc::MqttOptions::new(&self.client_id, &url.host, url.port);
        options
            .set_keep_alive(KEEP_ALIVE)
            .set_clean_session(clean)
            .set_max_packet_size(self.max_packet, self.max_packet)
            .set_transport(transport(url)?);
        if let Some((user, password)) = &self.credentials {
            options.set_credentials(user, password);
        }
        Ok(options)
    }

    /// rumqttc's options for MQTT 5.
    ///
    /// # Errors
    /// TLS's client configuration cannot be made (`--ca` unreadable).
    pub(crate) fn v5(
        &self,
        url: &MqttUrl,
        clean: bool,
    ) -> Result<rumqttc::v5::MqttOptions, String> {
        let mut options = rumqttc::v5::MqttOptions::new(&self.client_id, &url.host, url.port);
        let max_packet = u32::try_from(self.max_packet).unwrap_or(u32::MAX);
        options
            .set_keep_alive(KEEP_ALIVE)
            .set_clean_start(clean)
            .set_max_packet_size(Some(max_packet))
            .set_transport(transport(url)?);
        if !clean {
            // A session outlives a connection only if it says how long:
            // a day covers a restart, and ends what nobody comes back to.
            options.set_session_expiry_interval(Some(24 * 60 * 60));
        }
        if let Some((user, password)) = &self.credentials {
            options.set_credentials(user, password);
        }
        Ok(options)
    }
}

/// `circuit-SKETCH-ROLE`, with what a broker may refuse in an identifier
/// (MQTT 3.1.1 promises only letters and digits) replaced by `-`.
pub(crate) fn client_id(sketch: &str, role: &str) -> String {
    format!("circuit-{sketch}-{role}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Plain TCP, or TLS with this process's client configuration (`--ca`).
#[cfg(feature = "tls")]
fn transport(url: &MqttUrl) -> Result<rumqttc::Transport, String> {
    if !url.tls {
        return Ok(rumqttc::Transport::tcp());
    }
    let config = crate::net::wire::tls::client()?;
    Ok(rumqttc::Transport::tls_with_config(
        rumqttc::TlsConfiguration::Rustls(config),
    ))
}

/// Plain TCP: `mqtts://` was refused when its URL was parsed.
#[cfg(not(feature = "tls"))]
fn transport(_url: &MqttUrl) -> Result<rumqttc::Transport, String> {
    Ok(rumqttc::Transport::tcp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_id_is_the_sketch_and_its_role() {
        assert_eq!(client_id("iopin", "subscriber"), "circuit-iopin-subscriber");
        assert_eq!(
            client_id("pin (2).x", "signals"),
            "circuit-pin--2--x-signals"
        );
    }
}
