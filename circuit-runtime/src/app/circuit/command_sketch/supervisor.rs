//! The supervisor of a command sketch: starts its program and waits until
//! it is ready, restarts it when it ends as its `restart` says (backing off,
//! a few times a minute at most), and stops it: SIGTERM to its process
//! group, SIGKILL when it does not end in time.
//!
//! A program that does not become ready the first time fails the start, as
//! a sketch that cannot bind does; once it ran, one that ends for good
//! fails the run (unless it is a client that finished): the circuit stops
//! and says why.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{sleep, timeout, Instant};

pub(crate) use crate::app::circuit::command_sketch::child::Filled;
use crate::app::circuit::command_sketch::child::{Child, Signal};
use crate::app::circuit::command_sketch::placeholder::Word;
use crate::app::circuit::command_sketch::{CommandSketch, Restart};
use crate::base::error::{Error, Result};
use crate::base::shutdown::Shutdown;
use crate::base::sketch::{RunReport, Running};
use crate::observe::log;

/// How many restarts a minute a program may take before the circuit gives up on it.
const RESTARTS_PER_MINUTE: usize = 5;

/// The first wait before a restart, doubled for each restart of the last minute.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// The longest wait before a restart.
const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// How a program is started: its sketch, its words filled in, and where it
/// is ready.
pub(crate) struct Launch {
    /// Its name in the circuit.
    pub(crate) name: Arc<str>,
    /// What its table says.
    pub(crate) sketch: Arc<CommandSketch>,
    /// Its arguments and environment, placeholders filled in.
    pub(crate) filled: Filled,
    /// For a server: the address whose port accepting a connection says it
    /// is ready (when it has no `ready` line).
    pub(crate) listens: Option<std::net::SocketAddr>,
    /// How long it has between SIGTERM and SIGKILL, unless its table says.
    pub(crate) stop_timeout: Duration,
    /// The circuit's stop, fired when the program fails the run.
    pub(crate) circuit: Shutdown,
}

/// A started command sketch, supervised.
pub(crate) struct Started {
    /// Told to stop the program.
    stop: Shutdown,
    /// Becomes true once the supervisor is done: the program finished or failed.
    over: watch::Receiver<bool>,
    /// The supervisor, which says how the program's run went.
    supervising: tokio::task::JoinHandle<Result<()>>,
}

/// Starts `launch`'s program and waits until it is ready; then supervises it.
///
/// # Errors
/// [`Error::Command`] when it cannot start, ends before it is ready, or is
/// not ready in time (and then nothing of it is left running).
pub(crate) async fn start(launch: Launch) -> Result<Started> {
    let started = Instant::now();
    let child = match ready(&launch).await {
        Ok(child) => child,
        Err(why) => return Err(Error::Command(format!("{}: {why}", launch.name))),
    };
    tracing::info!(
        "started `{}` (pid {}): ready in {:.2} s",
        launch.shown(),
        child.pid(),
        started.elapsed().as_secs_f64(),
    );
    let stop = Shutdown::new();
    let (over_tx, over) = watch::channel(false);
    let supervision = Supervision {
        launch,
        stop: stop.clone(),
        restarts: VecDeque::new(),
    };
    let supervising = log::spawn(async move {
        let result = supervision.run(child).await;
        over_tx.send_replace(true);
        result
    });
    Ok(Started {
        stop,
        over,
        supervising,
    })
}

/// Starts the program once and waits until it is ready: its `ready` line,
/// else (a server) its port accepting a connection, else (a client) at once.
///
/// # Errors
/// Why it is not, in words: nothing of it is left running then.
async fn ready(launch: &Launch) -> std::result::Result<Child, String> {
    let sketch = &launch.sketch;
    let mut child = Child::spawn(&launch.name, sketch, launch.filled.clone())
        .map_err(|err| format!("cannot start {}: {err}", program_name(sketch)))?;
    let printed_ready = child.printed_ready();
    let waited = async {
        match (&sketch.ready, launch.listens) {
            (Some(_), _) => printed_ready.await,
            (None, Some(address)) => accepts(address).await,
            (None, None) => {}
        }
    };
    let outcome = tokio::select! {
        biased;
        // An exit seen first is the answer, even when it raced the line.
        status = exit_of(&mut child) => Err(format!(
            "{} {} before it was ready",
            program_name(sketch),
            ended(status)
        )),
        in_time = timeout(sketch.ready_timeout, waited) => in_time.map_err(|_| {
            let awaited = match (&sketch.ready, launch.listens) {
                (Some(line), _) => format!("no line with {line:?}"),
                (None, Some(address)) => format!("its port {} accepted no connection", address.port()),
                (None, None) => unreachable!("a client without a `ready` line is ready at once"),
            };
            format!(
                "{} was not ready within {:.1} s ({awaited}; `ready-timeout` gives it longer)",
                program_name(sketch),
                sketch.ready_timeout.as_secs_f64()
            )
        }),
    };
    match outcome {
        Ok(()) => Ok(child),
        Err(why) => {
            stop_child(&mut child, launch.stop_timeout(), &launch.name).await;
            Err(format!("{why}{}", child.last_lines()))
        }
    }
}

/// Its program as written: `python3`.
fn program_name(sketch: &CommandSketch) -> String {
    sketch
        .command
        .first()
        .and_then(Word::plain)
        .unwrap_or_default()
}

/// Resolves when a connection to `address` is accepted, trying again a
/// little later each time (20 ms, then up to 250 ms apart).
async fn accepts(address: std::net::SocketAddr) {
    let mut pause = Duration::from_millis(20);
    while tokio::net::TcpStream::connect(address).await.is_err() {
        sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(250));
    }
}

/// Waits until `child` ends: its status, or why it cannot be known.
async fn exit_of(child: &mut Child) -> std::result::Result<ExitStatus, String> {
    child.wait().await.map_err(|err| err.to_string())
}

/// "exited with status 1", "was killed by SIGKILL".
fn ended(status: std::result::Result<ExitStatus, String>) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Ok(status) => match (status.code(), status.signal()) {
            (Some(code), _) => format!("exited with status {code}"),
            (None, Some(signal)) => format!("was killed by {}", signal_name(signal)),
            (None, None) => format!("ended ({status})"),
        },
        Err(why) => format!("ended, its status unknown ({why})"),
    }
}

/// `SIGKILL` for 9.
fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGABRT => "SIGABRT",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGTERM => "SIGTERM",
        _ => return format!("signal {signal}"),
    };
    name.to_owned()
}

/// SIGTERM to `child`'s group, SIGKILL after `grace`; waits until it ended.
async fn stop_child(child: &mut Child, grace: Duration, name: &str) {
    if child.ended() {
        let _ = child.wait().await;
        return;
    }
    child.signal(Signal::Terminate);
    if timeout(grace, child.wait()).await.is_err() {
        tracing::warn!(
            "{name} did not end within {:.1} s of SIGTERM: killed",
            grace.as_secs_f64()
        );
        child.signal(Signal::Kill);
        let _ = child.wait().await;
    }
    // Whatever it left in its group went with it (`Child::wait`).
}

impl Launch {
    /// Its command line as written, placeholders filled in: `python3 pin.py --port 41234`.
    fn shown(&self) -> String {
        let program = self.sketch.command[0].plain().unwrap_or_default();
        let words = std::iter::once(&program).chain(&self.filled.args);
        let quoted: Vec<String> = words
            .map(|word| {
                if !word.is_empty() && !word.contains([' ', '"', '\'', '\\']) {
                    word.clone()
                } else {
                    format!("{word:?}")
                }
            })
            .collect();
        quoted.join(" ")
    }

    /// How long the program has between SIGTERM and SIGKILL.
    fn stop_timeout(&self) -> Duration {
        self.sketch.stop_timeout.unwrap_or(self.stop_timeout)
    }
}

/// The supervision of a program that became ready once.
struct Supervision {
    /// How it is started.
    launch: Launch,
    /// Fired to stop it.
    stop: Shutdown,
    /// When it was restarted within the last minute.
    restarts: VecDeque<Instant>,
}

/// What became of a program that ended by itself.
enum Next {
    /// Start it again after this wait.
    Restart(Duration),
    /// It is done: a client that finished, or a server that stays down.
    Done,
}

impl Supervision {
    /// Supervises `child` until it is stopped, finishes or fails for good.
    async fn run(mut self, mut child: Child) -> Result<()> {
        loop {
            let status = tokio::select! {
                status = exit_of(&mut child) => status,
                () = self.stop.wait() => {
                    stop_child(&mut child, self.launch.stop_timeout(), &self.launch.name).await;
                    return Ok(());
                }
            };
            let failed = status.as_ref().map_or(true, |status| !status.success());
            let how = ended(status);
            let mut wait = match self.next(failed, &how, &child) {
                Ok(Next::Done) => return Ok(()),
                Ok(Next::Restart(wait)) => wait,
                Err(why) => return Err(self.fail(why)),
            };
            // Started again until it is ready, each failed start counted.
            child = loop {
                tokio::select! {
                    () = sleep(wait) => {}
                    () = self.stop.wait() => return Ok(()),
                }
                self.restarts.push_back(Instant::now());
                let restarted = Instant::now();
                match ready(&self.launch).await {
                    Ok(again) => {
                        tracing::info!(
                            "restarted: ready {:.2} s after it started (pid {})",
                            restarted.elapsed().as_secs_f64(),
                            again.pid()
                        );
                        break again;
                    }
                    Err(why) => {
                        self.forget_old_restarts();
                        if self.restarts.len() >= RESTARTS_PER_MINUTE {
                            return Err(self.fail(format!(
                                "{why}; after {} restarts within a minute: not restarted again",
                                self.restarts.len()
                            )));
                        }
                        wait = self.backoff();
                        tracing::warn!("{why}; restarting in {:.2} s", wait.as_secs_f64());
                    }
                }
            };
        }
    }

    /// What to do now that the program ended by itself (`how`, a failure or
    /// not), as its `restart` says.
    ///
    /// # Errors
    /// Why the run fails: a failure not restarted, or too many restarts.
    fn next(
        &mut self,
        failed: bool,
        how: &str,
        child: &Child,
    ) -> std::result::Result<Next, String> {
        let name = &self.launch.name;
        let program = program_name(&self.launch.sketch);
        let restart = self.launch.sketch.restart;
        let serves = self.launch.listens.is_some();
        let restarts = match (restart, failed) {
            (Restart::Always, _) | (Restart::OnFailure, true) => true,
            (Restart::Never | Restart::OnFailure, false) => false,
            (Restart::Never, true) => {
                return Err(format!(
                    "{program} {how} (restart = \"never\"){}",
                    child.last_lines()
                ))
            }
        };
        if !restarts {
            if serves {
                tracing::warn!(
                    "{program} {how} while the circuit runs: it stays down (restart = \"{}\"); links to {name} wait for it",
                    restart.name()
                );
            } else {
                tracing::info!("{program} {how}: done");
            }
            return Ok(Next::Done);
        }
        self.forget_old_restarts();
        if self.restarts.len() >= RESTARTS_PER_MINUTE {
            return Err(format!(
                "{program} {how}, after {} restarts within a minute: not restarted again{}",
                self.restarts.len(),
                child.last_lines()
            ));
        }
        let wait = self.backoff();
        tracing::warn!(
            "{program} {how}; restarting in {:.2} s (restart = \"{}\", {} of {RESTARTS_PER_MINUTE} a minute)",
            wait.as_secs_f64(),
            restart.name(),
            self.restarts.len() + 1,
        );
        Ok(Next::Restart(wait))
    }

    /// The wait before the next restart: doubled for each of the last minute.
    fn backoff(&self) -> Duration {
        let doublings = u32::try_from(self.restarts.len())
            .unwrap_or(u32::MAX)
            .min(16);
        FIRST_BACKOFF
            .saturating_mul(1 << doublings)
            .min(MAX_BACKOFF)
    }

    /// Forgets the restarts older than a minute.
    fn forget_old_restarts(&mut self) {
        let now = Instant::now();
        while let Some(first) = self.restarts.front() {
            if now.duration_since(*first) < Duration::from_secs(60) {
                break;
            }
            self.restarts.pop_front();
        }
    }

    /// The run's failure: logged, the circuit told to stop.
    fn fail(&self, why: String) -> Error {
        // Said first: `why` ends with the program's last lines.
        tracing::error!("the circuit stops: {why}");
        self.launch.circuit.trigger();
        Error::Command(format!("{}: {why}", self.launch.name))
    }
}

impl Running for Started {
    fn done(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            let _ = self.over.wait_for(|over| *over).await;
        })
    }

    fn stop(self: Box<Self>) -> Pin<Box<dyn Future<Output = Result<RunReport>> + Send>> {
        Box::pin(async move {
            self.stop.trigger();
            match self.supervising.await {
                Ok(result) => result.map(|()| RunReport::default()),
                Err(err) => Err(Error::Command(format!("its supervisor failed: {err}"))),
            }
        })
    }
}
