//! Multicast DNS (RFC 6762) with the `mdns-sd` crate: servers advertise
//! themselves as `_circuit._tcp.local.`, and a sketch's name is resolved by
//! browsing for it. Avahi, Bonjour and any zeroconf library see the same
//! records. The timers of a circuit across hosts are advertised too, as
//! `_circuit-timer._tcp.local.` (nothing to connect to: they say that they
//! run, and their goodbye that they ended). One responder runs per process
//! (its own thread, started on first use). Built with the `discovery`
//! feature; `mdns_absent.rs` stands in without.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use mdns_sd::{ResolvedService, ServiceDaemon, ServiceEvent, ServiceInfo};
use tokio::sync::{broadcast, watch};
use tokio::time::{timeout, Instant};

use crate::net::find::discovery::{
    self, Advert, Seen, Sighting, PROTOCOL_VERSION, SERVICE_TYPE, TIMER_TYPE,
};

/// How long a resolution in a directory that has just begun keeps listening
/// after the first instance of a name answered, so that a standby answering a
/// moment later is seen too.
const SETTLE: Duration = Duration::from_millis(150);

/// What the resolved service says, if it is one of ours.
fn seen_in(service: &ResolvedService) -> Seen {
    let instance = instance_of(service.get_fullname(), &service.ty_domain);
    let text = |key: &str| service.get_property_val_str(key).unwrap_or("").to_owned();
    let mut addrs: Vec<IpAddr> = service
        .get_addresses()
        .iter()
        .map(|scoped| scoped.to_ip_addr())
        .collect();
    // An IPv6 link-local address needs the interface it was seen on,
    // which a URL cannot carry: such addresses are left out.
    addrs.retain(|addr| match addr {
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) != 0xfe80,
        IpAddr::V4(_) => true,
    });
    // Loopback is this machine's own: of use only when it is all there is
    // (another host's 127.0.0.1 would be ours, perhaps another server).
    if addrs.iter().any(|addr| !addr.is_loopback()) {
        addrs.retain(|addr| !addr.is_loopback());
    }
    addrs.sort_by_key(|addr| (addr.is_ipv6(), *addr));
    let port = service.get_port();
    Seen::from_txt(instance.clone(), &instance, addrs, port, text)
}

/// A server's (or a timer's) advertisement, until it is withdrawn.
pub struct Advertised {
    /// Its full DNS-SD name, for the goodbye.
    fullname: String,
    /// Its instance name: the sketch's, or `name (N)` for a standby.
    instance: String,
    /// Before when its goodbye is not said (see [`HEARD`]).
    not_before: Instant,
}

/// How long a timer's record stays at least: mDNS announces a new record at
/// once and again a second later, so that a browser that missed the first
/// announcement still learns that the timer ran before it hears its goodbye
/// (a goodbye for a record never seen says nothing).
const HEARD: Duration = Duration::from_millis(1500);

impl Advertised {
    /// The instance name it was advertised under.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Says goodbye (records with a time to live of zero), so that browsers
    /// forget the sketch at once instead of when its records expire.
    pub async fn withdraw(&self) {
        tokio::time::sleep_until(self.not_before).await;
        let Ok(daemon) = daemon() else { return };
        if let Ok(status) = daemon.unregister(&self.fullname) {
            // The goodbye is sent by the responder's thread; wait for it a moment.
            let _ = timeout(Duration::from_secs(1), status.recv_async()).await;
        }
    }
}

/// This process's responder, started on first use.
fn daemon() -> Result<&'static ServiceDaemon, String> {
    static DAEMON: OnceLock<Result<ServiceDaemon, String>> = OnceLock::new();
    DAEMON
        .get_or_init(|| ServiceDaemon::new().map_err(|err| format!("mDNS is not available: {err}")))
        .as_ref()
        .map_err(Clone::clone)
}

/// The instance name a new server (or timer, in `directory`) of sketch
/// `name` takes: the name itself, or, when a live instance holds it already
/// (a standby starting beside its primary), the first free `name (2)`,
/// `name (3)`, … as DNS-SD would rename it.
async fn free_name(directory: &Directory, name: &str) -> Result<String, String> {
    tokio::time::sleep_until(directory.started + WARM_UP).await;
    let taken: Vec<String> = directory
        .answering(name)
        .into_iter()
        .map(|seen| seen.instance)
        .collect();
    if !taken.iter().any(|instance| instance == name) {
        return Ok(name.to_owned());
    }
    Ok((2..)
        .map(|n| format!("{name} ({n})"))
        .find(|candidate| !taken.contains(candidate))
        .unwrap_or_else(|| name.to_owned()))
}

/// Advertises a server, under its sketch's name or, when that is taken on
/// the network, the first free `name (N)`; its TXT record keeps `sketch=name`.
///
/// # Errors
/// When this machine cannot do multicast DNS, or the records are not valid.
pub async fn advertise(advert: &Advert) -> Result<Advertised, String> {
    let instance = free_name(directory()?, &advert.sketch).await?;
    // A host name of the sketch's own: processes in one machine (or one
    // network namespace each) must not claim the same one.
    let host = format!("{}-{}.local.", host_label(&instance), advert.port);
    register(advert, SERVICE_TYPE, instance, host, Instant::now()).await
}

/// Advertises a timer of a circuit across hosts while it runs, as
/// `_circuit-timer._tcp` (port 0: nothing to connect to), so that the parts it
/// feeds learn from its goodbye that it has ended. Its withdrawal waits until
/// the record was announced twice (see [`HEARD`]).
///
/// # Errors
/// When this machine cannot do multicast DNS, or the records are not valid.
pub async fn advertise_timer(advert: &Advert) -> Result<Advertised, String> {
    let instance = free_name(timers()?, &advert.sketch).await?;
    // No port tells two timers' host names apart: the process does.
    let host = format!(
        "{}-timer-{}.local.",
        host_label(&instance),
        std::process::id()
    );
    register(advert, TIMER_TYPE, instance, host, Instant::now() + HEARD).await
}

/// Registers `advert` as `instance` of `service_type` on `host`, its goodbye
/// said no sooner than `not_before`.
async fn register(
    advert: &Advert,
    service_type: &str,
    instance: String,
    host: String,
    not_before: Instant,
) -> Result<Advertised, String> {
    let daemon = daemon()?;
    let flag = |on: bool| if on { "1" } else { "0" };
    let properties = [
        ("sketch", advert.sketch.as_str()),
        ("kind", advert.kind.as_str()),
        ("takes", advert.takes.as_str()),
        ("circuit", advert.circuit.as_deref().unwrap_or("")),
        ("paths", "*"),
        ("tls", flag(advert.tls)),
        ("auth", flag(advert.auth)),
        ("v", PROTOCOL_VERSION),
    ];
    let ips = addresses(advert.ip);
    let info = ServiceInfo::new(
        service_type,
        &instance,
        &host,
        &ips[..],
        advert.port,
        &properties[..],
    )
    .map_err(|err| format!("cannot advertise {}: {err}", advert.sketch))?;
    let fullname = info.get_fullname().to_owned();
    daemon
        .register(info)
        .map_err(|err| format!("cannot advertise {}: {err}", advert.sketch))?;
    tracing::debug!("advertised {fullname} on port {}", advert.port);
    Ok(Advertised {
        fullname,
        instance,
        not_before,
    })
}

/// The addresses to advertise for a server bound to `bound`: that address,
/// or for `0.0.0.0` every IPv4 address of the machine (and for `::` every
/// address), those of the network first, loopback only when there is nothing else.
fn addresses(bound: Option<IpAddr>) -> Vec<IpAddr> {
    let every = match bound {
        Some(ip) if !ip.is_unspecified() => return vec![ip],
        Some(IpAddr::V6(_)) => None,
        _ => Some(false), // IPv4 only
    };
    let mut ips: Vec<IpAddr> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .filter(|interface| !interface.is_link_local())
        .map(|interface| interface.ip())
        .filter(|ip| every.is_none() || ip.is_ipv4())
        .collect();
    if ips.iter().any(|ip| !ip.is_loopback()) {
        ips.retain(|ip| !ip.is_loopback());
    }
    ips.sort_by_key(|ip| (ip.is_ipv6(), *ip));
    ips.dedup();
    ips
}

/// `iopin (2)` → `iopin-2`: letters, digits and `-` only.
fn host_label(name: &str) -> String {
    let label: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let words: Vec<&str> = label.split('-').filter(|word| !word.is_empty()).collect();
    words.join("-")
}

/// How long a new directory listens before a server picks its instance name,
/// so that it sees who holds the name already. A new process hears the first
/// answers about a second after it began browsing (with the second query of
/// mDNS's schedule; see the discovery benchmark).
const WARM_UP: Duration = Duration::from_millis(1500);

/// What this process has seen of the network: every instance of one
/// service type (`_circuit._tcp`, or `_circuit-timer._tcp`) that answered,
/// kept up to date by one browse that lasts as long as the process (mDNS
/// announces arrivals and goodbyes by itself).
struct Directory {
    /// The service type it browses.
    service_type: &'static str,
    /// The instances seen, by instance name.
    seen: Mutex<HashMap<String, Seen>>,
    /// Bumped on every change, for resolutions waiting for a name.
    changed: watch::Sender<u64>,
    /// Every change, for `ls --watch`.
    sightings: broadcast::Sender<Sighting>,
    /// When browsing began.
    started: Instant,
}

/// This process's directory of servers, browsing from its first use on.
fn directory() -> Result<&'static Directory, String> {
    static SERVERS: OnceLock<Result<Directory, String>> = OnceLock::new();
    browsing(&SERVERS, SERVICE_TYPE)
}

/// This process's directory of timers, browsing from its first use on.
fn timers() -> Result<&'static Directory, String> {
    static TIMERS: OnceLock<Result<Directory, String>> = OnceLock::new();
    browsing(&TIMERS, TIMER_TYPE)
}

/// The directory kept in `cell`, browsing `service_type` from its first use on.
fn browsing(
    cell: &'static OnceLock<Result<Directory, String>>,
    service_type: &'static str,
) -> Result<&'static Directory, String> {
    cell.get_or_init(|| {
        let events = daemon()?
            .browse(service_type)
            .map_err(|err| format!("cannot browse for sketches: {err}"))?;
        let directory = Directory {
            service_type,
            seen: Mutex::new(HashMap::new()),
            changed: watch::channel(0).0,
            sightings: broadcast::channel(256).0,
            started: Instant::now(),
        };
        std::thread::Builder::new()
            .name("circuit-discovery".into())
            .spawn(move || {
                // Ends with the responder, when the process does. The first
                // call waits until the directory is made, then finds it.
                while let Ok(event) = events.recv() {
                    if let Ok(directory) = browsing(cell, service_type) {
                        directory.note(event);
                    }
                }
            })
            .map_err(|err| format!("cannot start browsing: {err}"))?;
        Ok(directory)
    })
    .as_ref()
    .map_err(Clone::clone)
}

impl Directory {
    /// Takes in one event of the browse.
    fn note(&self, event: ServiceEvent) {
        let sighting = match event {
            ServiceEvent::ServiceResolved(service) => {
                let seen = seen_in(&service);
                self.lock().insert(seen.instance.clone(), seen.clone());
                Sighting::Arrived(seen)
            }
            ServiceEvent::ServiceRemoved(_, fullname) => {
                let instance = instance_of(&fullname, self.service_type);
                if self.lock().remove(&instance).is_none() {
                    return;
                }
                Sighting::Left(instance)
            }
            _ => return,
        };
        self.changed.send_modify(|version| *version += 1);
        let _ = self.sightings.send(sighting);
    }

    /// What it holds now, by instance name, and every change from now on.
    fn watch(&self) -> (Vec<Seen>, broadcast::Receiver<Sighting>) {
        let changes = self.sightings.subscribe();
        let mut seen: Vec<Seen> = self.lock().values().cloned().collect();
        seen.sort_by(|a, b| a.instance.cmp(&b.instance));
        (seen, changes)
    }

    /// The instances seen; a panic elsewhere while it was held leaves it usable.
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Seen>> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The instances that answer to `name`, in the order to try them.
    fn answering(&self, name: &str) -> Vec<Seen> {
        let mut found: Vec<Seen> = self
            .lock()
            .values()
            // Its address records may come after the rest.
            .filter(|seen| seen.answers_to(name) && !seen.addrs.is_empty())
            .cloned()
            .collect();
        found.sort_by(|a, b| {
            (a.instance != name, &a.instance).cmp(&(b.instance != name, &b.instance))
        });
        found
    }
}

/// `iopin (2)._circuit._tcp.local.` → `iopin (2)` (for `service_type`
/// `_circuit._tcp.local.`).
fn instance_of(fullname: &str, service_type: &str) -> String {
    fullname
        .strip_suffix(service_type)
        .unwrap_or(fullname)
        .trim_end_matches('.')
        .replace("\\ ", " ")
        .replace("\\.", ".")
}

/// Every sketch that answers to `name` (its instance name, or `sketch=` in
/// its TXT record), in the order to try them: the instance called `name`
/// first, then the others by name. Waits at most `within` for the first one,
/// and a moment longer for others.
///
/// # Errors
/// When none answered in time, saying which sketches were seen instead.
pub async fn resolve(name: &str, within: Duration) -> Result<Vec<Seen>, String> {
    let directory = directory()?;
    let mut changes = directory.changed.subscribe();
    let deadline = Instant::now() + within;
    loop {
        let found = directory.answering(name);
        if !found.is_empty() {
            tracing::debug!(
                "{name} answered {}ms after browsing began",
                directory.started.elapsed().as_millis()
            );
            // A directory that has just begun may not have heard every
            // instance yet: a standby answering a moment later is worth
            // knowing about. One browsing for a while knows them all.
            let settle = (Instant::now() + SETTLE)
                .min(directory.started + WARM_UP)
                .min(deadline);
            while timeout(
                settle.saturating_duration_since(Instant::now()),
                changes.changed(),
            )
            .await
            .is_ok_and(|changed| changed.is_ok())
            {}
            return Ok(directory.answering(name));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || !matches!(timeout(left, changes.changed()).await, Ok(Ok(()))) {
            break;
        }
    }
    let mut others: Vec<String> = directory.lock().keys().cloned().collect();
    others.sort();
    let seen = if others.is_empty() {
        "no sketch answered at all".to_owned()
    } else {
        format!("seen instead: {}", others.join(", "))
    };
    // A server bound to localhost is not heard here: unadvertised by
    // default, and advertised on request on its own machine's loopback alone.
    Err(format!(
        "no sketch called {name:?} answered within {:.1}s (--resolve-timeout); {seen}; {}",
        within.as_secs_f64(),
        discovery::BOUND_TO_LOCALHOST
    ))
}

/// The servers seen so far, by instance name, and every change from now on.
///
/// # Errors
/// When this machine cannot do multicast DNS.
pub fn watch() -> Result<(Vec<Seen>, broadcast::Receiver<Sighting>), String> {
    Ok(directory()?.watch())
}

/// The timers of circuits across hosts seen so far, by instance name, and
/// every change from now on.
///
/// # Errors
/// When this machine cannot do multicast DNS.
pub fn watch_timers() -> Result<(Vec<Seen>, broadcast::Receiver<Sighting>), String> {
    Ok(timers()?.watch())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_labels_are_plain() {
        assert_eq!(host_label("iopin (2)"), "iopin-2");
        assert_eq!(host_label("buzzer"), "buzzer");
    }
}
