//! Which sketches of a circuit run elsewhere, as discovery sees them: every
//! server and timer of a circuit across hosts is advertised while it runs and
//! says goodbye when it ends, so a part of the circuit learns when the
//! sketches it waits for have come and gone.

use tokio::sync::broadcast::{self, error::RecvError};

use crate::net::find::discovery::{Seen, Sighting};
use crate::net::find::mdns;

/// Sketches of one circuit, elsewhere, followed from their first record to
/// their goodbye.
pub(crate) struct Elsewhere {
    /// The circuit they are part of (`circuit=` in their TXT records).
    circuit: String,
    /// Each sketch waited for.
    awaited: Vec<Awaited>,
    /// Changes among servers.
    servers: broadcast::Receiver<Sighting>,
    /// Changes among timers.
    timers: broadcast::Receiver<Sighting>,
}

/// One sketch waited for.
struct Awaited {
    /// Its name in the circuit.
    sketch: String,
    /// Whether it is a timer (advertised as one), else a server.
    timer: bool,
    /// Whether any instance of it was ever seen: one not seen yet has not
    /// started, rather than ended.
    seen: bool,
    /// Its instances seen now, by instance name (a standby is a second one).
    live: Vec<String>,
}

impl Awaited {
    /// Whether it ran and has no instance left.
    fn ended(&self) -> bool {
        self.seen && self.live.is_empty()
    }
}

impl Elsewhere {
    /// Starts following `sketches` (each a name, and whether it is a timer) of
    /// `circuit`: what discovery holds now, and every change from now on, so
    /// that a sketch that comes and goes before anyone asks is not missed.
    ///
    /// # Errors
    /// When this machine cannot do multicast DNS.
    pub(crate) fn follow(circuit: &str, sketches: &[(String, bool)]) -> Result<Elsewhere, String> {
        let (servers_now, servers) = mdns::watch()?;
        let (timers_now, timers) = mdns::watch_timers()?;
        let mut elsewhere = Elsewhere::new(circuit, sketches, servers, timers);
        elsewhere.take_in(false, &servers_now);
        elsewhere.take_in(true, &timers_now);
        Ok(elsewhere)
    }

    /// Follows `sketches` of `circuit` through the changes `servers` and
    /// `timers` tell, none seen yet.
    fn new(
        circuit: &str,
        sketches: &[(String, bool)],
        servers: broadcast::Receiver<Sighting>,
        timers: broadcast::Receiver<Sighting>,
    ) -> Elsewhere {
        Elsewhere {
            circuit: circuit.to_owned(),
            awaited: sketches
                .iter()
                .map(|(sketch, timer)| Awaited {
                    sketch: sketch.clone(),
                    timer: *timer,
                    seen: false,
                    live: Vec::new(),
                })
                .collect(),
            servers,
            timers,
        }
    }

    /// The sketches that have not ended yet, by name.
    pub(crate) fn running(&self) -> Vec<&str> {
        self.awaited
            .iter()
            .filter(|awaited| !awaited.ended())
            .map(|awaited| awaited.sketch.as_str())
            .collect()
    }

    /// Waits until every sketch followed has been seen and has said goodbye
    /// (or its records expired), each instance of it; never, when discovery
    /// stops telling.
    pub(crate) async fn all_ended(&mut self) {
        while !self.running().is_empty() {
            let (timer, change) = tokio::select! {
                change = self.servers.recv() => (false, change),
                change = self.timers.recv() => (true, change),
            };
            match change {
                Ok(Sighting::Arrived(seen)) => self.arrived(timer, &seen),
                Ok(Sighting::Left(instance)) => self.left(timer, &instance),
                // Changes were missed: what discovery holds now says who is left.
                Err(RecvError::Lagged(_)) => self.resync(timer),
                Err(RecvError::Closed) => std::future::pending().await,
            }
        }
    }

    /// Takes in what discovery holds now of servers (or timers).
    fn take_in(&mut self, timer: bool, now: &[Seen]) {
        for seen in now {
            self.arrived(timer, seen);
        }
    }

    /// After missed changes: the instances live are those discovery holds now.
    fn resync(&mut self, timer: bool) {
        let now = if timer {
            mdns::watch_timers()
        } else {
            mdns::watch()
        };
        let Ok((now, _)) = now else { return };
        for awaited in self.awaited.iter_mut().filter(|a| a.timer == timer) {
            awaited.live.clear();
        }
        self.take_in(timer, &now);
        for awaited in &self.awaited {
            if awaited.timer == timer && awaited.ended() {
                tracing::info!("{} has ended", awaited.sketch);
            }
        }
    }

    /// An instance of a server (or timer) arrived, or changed.
    fn arrived(&mut self, timer: bool, seen: &Seen) {
        if seen.circuit != self.circuit {
            return;
        }
        let Some(awaited) = self
            .awaited
            .iter_mut()
            .find(|awaited| awaited.timer == timer && awaited.sketch == seen.sketch)
        else {
            return;
        };
        if !awaited.live.contains(&seen.instance) {
            awaited.live.push(seen.instance.clone());
        }
        if !awaited.seen {
            tracing::debug!("{} runs, as {:?}", awaited.sketch, seen.instance);
            awaited.seen = true;
        }
    }

    /// An instance of a server (or timer) said goodbye, or its records expired.
    fn left(&mut self, timer: bool, instance: &str) {
        for awaited in self.awaited.iter_mut().filter(|a| a.timer == timer) {
            let before = awaited.live.len();
            awaited.live.retain(|live| live != instance);
            if awaited.live.len() < before && awaited.live.is_empty() {
                tracing::info!("{} has ended", awaited.sketch);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn seen(instance: &str, sketch: &str, circuit: &str) -> Seen {
        Seen {
            instance: instance.into(),
            sketch: sketch.into(),
            kind: "iopin".into(),
            takes: String::new(),
            circuit: circuit.into(),
            tls: false,
            auth: false,
            addrs: vec!["10.0.0.2".parse().unwrap()],
            port: 4242,
        }
    }

    /// Whether `all_ended` returns on what was told so far.
    async fn ended(elsewhere: &mut Elsewhere) -> bool {
        tokio::time::timeout(Duration::from_millis(50), elsewhere.all_ended())
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn a_sketch_ends_when_every_instance_of_it_said_goodbye_after_it_was_seen() {
        let (servers, servers_rx) = broadcast::channel(16);
        let (timers, timers_rx) = broadcast::channel(16);
        let followed = [("iopin".to_owned(), false), ("clock".to_owned(), true)];
        let mut elsewhere = Elsewhere::new("demo", &followed, servers_rx, timers_rx);
        // Not seen yet: not started, rather than ended.
        assert!(!ended(&mut elsewhere).await);
        // A server of that name in another circuit, or a timer's goodbye
        // before it was seen, says nothing about these.
        servers
            .send(Sighting::Arrived(seen("iopin", "iopin", "other")))
            .unwrap();
        timers.send(Sighting::Left("clock".into())).unwrap();
        assert!(!ended(&mut elsewhere).await);
        assert_eq!(elsewhere.running(), ["iopin", "clock"]);
        // The pin and its standby, and the clock, come; the clock goes.
        servers
            .send(Sighting::Arrived(seen("iopin", "iopin", "demo")))
            .unwrap();
        servers
            .send(Sighting::Arrived(seen("iopin (2)", "iopin", "demo")))
            .unwrap();
        timers
            .send(Sighting::Arrived(seen("clock", "clock", "demo")))
            .unwrap();
        // A server's goodbye of the same name is not the timer's.
        servers.send(Sighting::Left("clock".into())).unwrap();
        assert!(!ended(&mut elsewhere).await);
        timers.send(Sighting::Left("clock".into())).unwrap();
        assert!(!ended(&mut elsewhere).await);
        assert_eq!(elsewhere.running(), ["iopin"]);
        // One instance of the pin left; the standby still runs.
        servers.send(Sighting::Left("iopin".into())).unwrap();
        assert!(!ended(&mut elsewhere).await);
        servers.send(Sighting::Left("iopin (2)".into())).unwrap();
        assert!(ended(&mut elsewhere).await);
        assert!(elsewhere.running().is_empty());
    }
}
