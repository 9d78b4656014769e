//! The recorder's side of a circuit across hosts: every sketch of the
//! circuit that serves on another host, found by discovery (the circuit's
//! name is in each advert), followed over its signal stream, its clock
//! exchanged with every second, its changes merged into this host's
//! recording (`observe::merge`). A sketch found late, or again after a
//! restart, joins when found; one whose stream is lost is marked gone; one
//! that cannot be reached is tried again every [`RETRY`], the others
//! followed meanwhile. A timer, which serves no peers, serves its stream
//! on a port of its own, named in its advert.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, timeout, Instant};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

use crate::net::find::discovery::{Seen, Sighting};
use crate::net::find::mdns;
use crate::net::wire::dial::dial;
use crate::net::wire::signal_frames::{Frame, PATH};
use crate::net::wire::socket::{close_politely, Socket};
use crate::observe::log;
use crate::observe::merge::{Exchange, Merger};
use crate::observe::trace::{Event, Trace};
use crate::observe::value::Value;

/// How long a change from elsewhere is held before it is placed, so that the
/// send it pairs with, streamed by another host, has come in too.
const HOLD: Duration = Duration::from_millis(100);

/// Time exchanges at the start, this far apart, for a first estimate soon.
const FIRST_EXCHANGES: (u32, Duration) = (5, Duration::from_millis(50));

/// How often a followed sketch's clock is exchanged with after the first ones.
const EXCHANGE_EVERY: Duration = Duration::from_secs(1);

/// How long a followed sketch may answer nothing (pings every second)
/// before its stream counts as lost: a machine whose cable was pulled
/// closes nothing.
const SILENT: Duration = Duration::from_secs(5);

/// How often a sketch seen but not followed (unreachable) is tried again.
const RETRY: Duration = Duration::from_secs(2);

/// At the end, how long the streams must have been quiet: the last messages
/// of the run, still on their way between hosts, are recorded.
const QUIET: Duration = Duration::from_millis(300);

/// At the end, the longest wait for the streams to be quiet and drained.
const AT_MOST: Duration = Duration::from_secs(3);

/// What a follower tells the gatherer.
enum Note {
    /// A sketch's stream began (which recording of its process).
    Hello { sketch: String, run: u64 },
    /// A change it streamed.
    Change {
        sketch: String,
        at: u64,
        name: String,
        value: Value,
        event: bool,
    },
    /// A time exchange with it.
    Exchange { sketch: String, exchange: Exchange },
    /// Its stream is lost.
    Lost { sketch: String },
    /// Every change it recorded before the gatherer asked has come.
    Drained { instance: String },
    /// Its follower ended (the instance may be tried again): whether it
    /// reached the sketch.
    Ended { instance: String, reached: bool },
}

/// The sketches of a circuit on other hosts, followed into this host's recording.
pub(crate) struct Gathering {
    /// The gatherer.
    task: JoinHandle<()>,
    /// Asks it to end: drain every stream, place what it holds, stop.
    finish: watch::Sender<bool>,
}

impl Gathering {
    /// Starts following every sketch of `circuit` named in `elsewhere` (each
    /// with its host's name), as discovery finds it, into `trace`.
    ///
    /// # Errors
    /// When this machine cannot do multicast DNS.
    pub(crate) fn start(
        circuit: &str,
        elsewhere: &[(String, String)],
        trace: Arc<Trace>,
    ) -> Result<Gathering, String> {
        let (mut now, sightings) = mdns::watch()?;
        let (timers_now, timers) = mdns::watch_timers()?;
        now.extend(timers_now.into_iter().filter_map(timer));
        let (finish, finishing) = watch::channel(false);
        let (notes_in, notes) = mpsc::channel(1024);
        // Asks every follower to drain its stream.
        let (drain, draining) = watch::channel(false);
        let gatherer = Gatherer {
            circuit: circuit.to_owned(),
            merger: Merger::new(Arc::clone(&trace), elsewhere),
            local: trace.watch().live,
            trace,
            seen: HashMap::new(),
            following: HashSet::new(),
            unreachable: HashSet::new(),
            held: VecDeque::new(),
            finishing,
            notes_in,
            draining,
        };
        let task = log::spawn(log::scoped(
            "record",
            gatherer.run(now, (sightings, timers), notes, drain),
        ));
        Ok(Gathering { task, finish })
    }

    /// Ends it once the streams have been quiet for a moment (the last
    /// messages of the run recorded) and have each sent what they had,
    /// within a few seconds: everything it holds is placed, and each host's
    /// offset logged.
    pub(crate) async fn finish(self) {
        let _ = self.finish.send(true);
        let _ = self.task.await;
    }
}

/// The gatherer's state.
struct Gatherer {
    /// The circuit's name.
    circuit: String,
    /// Where the changes go.
    merger: Merger,
    /// This host's changes, for the sends among them.
    local: broadcast::Receiver<Event>,
    /// This host's recording.
    trace: Arc<Trace>,
    /// Sketches of the circuit seen elsewhere, by instance.
    seen: HashMap<String, Seen>,
    /// Instances followed now.
    following: HashSet<String>,
    /// Instances that could not be reached when tried last (said once).
    unreachable: HashSet<String>,
    /// Changes held for [`HOLD`], with when they came.
    held: VecDeque<(Instant, Note)>,
    /// Turns true when the recording ends.
    finishing: watch::Receiver<bool>,
    /// Where followers send their notes.
    notes_in: mpsc::Sender<Note>,
    /// Turns true when every follower is to drain its stream.
    draining: watch::Receiver<bool>,
}

impl Gatherer {
    /// Follows what discovery finds (servers, and timers) until asked to finish.
    async fn run(
        mut self,
        now: Vec<Seen>,
        (mut sightings, mut timers): (broadcast::Receiver<Sighting>, broadcast::Receiver<Sighting>),
        mut notes: mpsc::Receiver<Note>,
        drain: watch::Sender<bool>,
    ) {
        for seen in now {
            self.sighted(seen);
        }
        let mut retry = tokio::time::interval(RETRY);
        let mut finishing = self.finishing.clone();
        loop {
            let due = self.held.front().map(|(came, _)| *came + HOLD);
            tokio::select! {
                sighting = sightings.recv() => match sighting {
                    Ok(Sighting::Arrived(seen)) => self.sighted(seen),
                    Ok(Sighting::Left(instance)) => {
                        self.seen.remove(&instance);
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        if let Ok((now, _)) = mdns::watch() {
                            now.into_iter().for_each(|seen| self.sighted(seen));
                        }
                    }
                    // Discovery stopped telling: those followed still are.
                    Err(broadcast::error::RecvError::Closed) => sightings = broadcast::channel(1).1,
                },
                sighting = timers.recv() => match sighting {
                    Ok(Sighting::Arrived(seen)) => {
                        if let Some(seen) = timer(seen) {
                            self.sighted(seen);
                        }
                    }
                    Ok(Sighting::Left(instance)) => {
                        self.seen.remove(&timer_instance(&instance));
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        if let Ok((now, _)) = mdns::watch_timers() {
                            now.into_iter().filter_map(timer).for_each(|seen| self.sighted(seen));
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => timers = broadcast::channel(1).1,
                },
                Some(note) = notes.recv() => self.take(note),
                local = self.local.recv() => {
                    if let Ok(Event::Change(change)) = local {
                        if !self.merger.merges(&change.sketch) {
                            self.merger.local(&change);
                        }
                    }
                }
                () = async { sleep_until(due.unwrap_or_else(Instant::now)).await }, if due.is_some() => {
                    self.place_due(Instant::now());
                }
                _ = retry.tick() => {
                    let idle: Vec<Seen> = self
                        .seen
                        .values()
                        .filter(|seen| !self.following.contains(&seen.instance))
                        .cloned()
                        .collect();
                    for seen in idle {
                        self.follow(seen);
                    }
                }
                _ = finishing.changed() => break,
            }
        }
        self.wind_up(&mut notes, drain).await;
    }

    /// Takes in a sketch seen: one of the circuit's, elsewhere, followed at once.
    fn sighted(&mut self, seen: Seen) {
        if seen.circuit == self.circuit && self.merger.merges(&seen.sketch) {
            self.seen.insert(seen.instance.clone(), seen.clone());
            self.follow(seen);
        }
    }

    /// Starts following `seen`, unless it is followed already.
    fn follow(&mut self, seen: Seen) {
        if !self.following.insert(seen.instance.clone()) {
            return;
        }
        let trace = Arc::clone(&self.trace);
        let host = self
            .merger
            .host_of(&seen.sketch)
            .unwrap_or_default()
            .to_owned();
        let said = self.unreachable.contains(&seen.instance);
        log::spawn(follow(
            seen,
            host,
            trace,
            self.notes_in.clone(),
            self.draining.clone(),
            said,
        ));
    }

    /// Takes in what a follower says.
    fn take(&mut self, note: Note) {
        match note {
            Note::Hello { sketch, run } => self.merger.hello(&sketch, run),
            Note::Exchange { sketch, exchange } => self.merger.exchange(&sketch, exchange),
            Note::Ended { instance, reached } => {
                self.following.remove(&instance);
                if reached {
                    self.unreachable.remove(&instance);
                } else {
                    self.unreachable.insert(instance);
                }
            }
            Note::Drained { .. } => {}
            // Held, in order, so that a loss is marked after the changes before it.
            note @ (Note::Change { .. } | Note::Lost { .. }) => {
                self.held.push_back((Instant::now(), note));
            }
        }
    }

    /// Places every held note that came before `until` less [`HOLD`].
    fn place_due(&mut self, now: Instant) {
        while let Some((came, _)) = self.held.front() {
            if *came + HOLD > now {
                break;
            }
            if let Some((_, note)) = self.held.pop_front() {
                self.place(note);
            }
        }
    }

    /// Places one held note.
    fn place(&mut self, note: Note) {
        match note {
            Note::Change {
                sketch,
                at,
                name,
                value,
                event,
            } => self.merger.change(&sketch, at, &name, value, event),
            Note::Lost { sketch } => self.merger.gone(&sketch),
            _ => {}
        }
    }

    /// At the end: waits for the streams to be quiet, asks each to drain,
    /// waits for them (bounded), places everything and logs the offsets.
    async fn wind_up(&mut self, notes: &mut mpsc::Receiver<Note>, drain: watch::Sender<bool>) {
        let deadline = Instant::now() + AT_MOST;
        // Quiet: no change for a moment (the last messages reach their hosts).
        loop {
            let quiet = Instant::now() + QUIET;
            let wait = quiet
                .min(deadline)
                .saturating_duration_since(Instant::now());
            match timeout(wait, notes.recv()).await {
                Ok(Some(note)) => {
                    let change = matches!(note, Note::Change { .. });
                    self.take(note);
                    if !change {
                        continue;
                    }
                    if Instant::now() >= deadline {
                        break;
                    }
                }
                Ok(None) | Err(_) => break,
            }
            while let Ok(note) = notes.try_recv() {
                self.take(note);
            }
            if Instant::now() >= deadline {
                break;
            }
        }
        let _ = drain.send(true);
        let mut waiting: HashSet<String> = self.following.clone();
        while !waiting.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            match timeout(left.max(Duration::from_millis(500)), notes.recv()).await {
                Ok(Some(Note::Drained { instance } | Note::Ended { instance, .. })) => {
                    waiting.remove(&instance);
                }
                Ok(Some(note)) => self.take(note),
                Ok(None) | Err(_) => break,
            }
        }
        while let Ok(note) = notes.try_recv() {
            self.take(note);
        }
        while let Some((_, note)) = self.held.pop_front() {
            self.place(note);
        }
        let moved = self.merger.moved();
        if moved > 0 {
            tracing::info!(
                "{moved} messages received elsewhere placed just after their sends (within the clocks' uncertainty)"
            );
        }
        for (host, estimate) in self.merger.offsets() {
            match estimate {
                Some((offset, uncertainty)) => tracing::info!(
                    "{host}'s clock: {} ± {}",
                    millis(offset),
                    millis(i64::try_from(uncertainty).unwrap_or(i64::MAX)).trim_start_matches('+')
                ),
                None => tracing::info!("{host}'s clock: never exchanged with"),
            }
        }
    }
}

/// A timer seen, as one to follow: with the port of its signal stream (a
/// timer advertised with port 0 serves none), under an instance name of its
/// own, apart from the servers' (its directory is another).
fn timer(mut seen: Seen) -> Option<Seen> {
    if seen.port == 0 {
        return None;
    }
    seen.instance = timer_instance(&seen.instance);
    Some(seen)
}

/// The name a timer's instance is followed under: `clock` → `clock (timer)`.
fn timer_instance(instance: &str) -> String {
    format!("{instance} (timer)")
}

/// Nanoseconds as signed milliseconds, `+12.345 ms`.
pub(crate) fn millis(ns: i64) -> String {
    format!("{:+.3} ms", ns as f64 / 1e6)
}

/// Follows one sketch's stream until it is lost or the recording ends:
/// exchanges times with it, passes on its changes, drains it when asked.
async fn follow(
    seen: Seen,
    host: String,
    trace: Arc<Trace>,
    notes: mpsc::Sender<Note>,
    mut draining: watch::Receiver<bool>,
    said: bool,
) {
    let instance = seen.instance.clone();
    let sketch = seen.sketch.clone();
    let mut socket = None;
    let mut why = String::new();
    for url in seen.urls(PATH) {
        // A certificate is checked against the sketch's name, as a link's is.
        match dial(&url, Some(&seen.sketch), None, None).await {
            Ok(opened) => {
                tracing::info!("recording {sketch} (on {host}) from {url}");
                socket = Some(opened);
                break;
            }
            Err(err) => why = format!("{url}: {err}"),
        }
    }
    let reached = socket.is_some();
    match socket {
        Some(socket) => {
            match converse(socket, &sketch, &instance, &trace, &notes, &mut draining).await {
                StreamEnd::Drained => {}
                StreamEnd::Stopped => {
                    tracing::info!("{sketch} (on {host}) stopped: marked gone");
                    let _ = notes.send(Note::Lost { sketch }).await;
                }
                StreamEnd::Lost => {
                    tracing::warn!("lost {sketch}'s signal stream (on {host}): marked gone");
                    let _ = notes.send(Note::Lost { sketch }).await;
                }
            }
        }
        None if said => tracing::debug!("still cannot reach {sketch} for its signals ({why})"),
        None => tracing::warn!(
            "cannot reach {sketch} (on {host}) for its signals ({why}); trying again every {}s",
            RETRY.as_secs()
        ),
    }
    let _ = notes.send(Note::Ended { instance, reached }).await;
}

/// How a followed stream ended.
enum StreamEnd {
    /// The recording ended, with every change the sketch had.
    Drained,
    /// The sketch stopped, after it sent what it had (closed with 1001).
    Stopped,
    /// It broke off, or went silent.
    Lost,
}

/// One stream, until it ends or the recording does.
async fn converse(
    mut socket: Socket,
    sketch: &str,
    instance: &str,
    trace: &Trace,
    notes: &mpsc::Sender<Note>,
    draining: &mut watch::Receiver<bool>,
) -> StreamEnd {
    let mut pings = 0u32;
    let mut next_ping = Instant::now();
    // The ping whose answer says the stream is drained, once asked.
    let mut drain_ping: Option<u64> = None;
    let mut heard = Instant::now();
    loop {
        tokio::select! {
            () = sleep_until(next_ping) => {
                if heard.elapsed() > SILENT {
                    tracing::debug!("{sketch} answered nothing for {}s", SILENT.as_secs());
                    return StreamEnd::Lost;
                }
                let t0 = trace.wall_now();
                if socket.send(Message::text(Frame::Ping { t0 }.text())).await.is_err() {
                    return StreamEnd::Lost;
                }
                pings += 1;
                next_ping = Instant::now() + if pings < FIRST_EXCHANGES.0 { FIRST_EXCHANGES.1 } else { EXCHANGE_EVERY };
            }
            _ = draining.changed(), if drain_ping.is_none() => {
                let t0 = trace.wall_now();
                drain_ping = Some(t0);
                if socket.send(Message::text(Frame::Ping { t0 }.text())).await.is_err() {
                    return StreamEnd::Lost;
                }
            }
            incoming = socket.next() => {
                let text = match incoming {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(Some(close)))) if close.code == CloseCode::Away => {
                        return StreamEnd::Stopped;
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return StreamEnd::Lost,
                    Some(Ok(_)) => continue,
                };
                let t3 = trace.wall_now();
                heard = Instant::now();
                let note = match Frame::parse(text.as_str()) {
                    Ok(Frame::Hello { run, .. }) => Note::Hello { sketch: sketch.to_owned(), run },
                    Ok(Frame::Change { at, name, value, event }) => Note::Change {
                        sketch: sketch.to_owned(),
                        at,
                        name,
                        value,
                        event,
                    },
                    Ok(Frame::Pong { t0, t1, t2 }) => {
                        let exchange = Exchange { t0, t1, t2, t3 };
                        let _ = notes.send(Note::Exchange { sketch: sketch.to_owned(), exchange }).await;
                        if drain_ping == Some(t0) {
                            let _ = notes.send(Note::Drained { instance: instance.to_owned() }).await;
                            close_politely(&mut socket, CloseCode::Normal, "recorded").await;
                            return StreamEnd::Drained;
                        }
                        continue;
                    }
                    Ok(Frame::Ping { .. }) => continue,
                    Err(why) => {
                        tracing::warn!("{sketch}'s signal stream: {why}");
                        continue;
                    }
                };
                if notes.send(note).await.is_err() {
                    return StreamEnd::Lost;
                }
            }
        }
    }
}
