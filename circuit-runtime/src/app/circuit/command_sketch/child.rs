//! One run of a command sketch's program: started in a process group of its
//! own (so that a stop reaches whatever it starts, and Ctrl-C on the
//! terminal reaches `up` alone, which stops it in order), killed by the
//! kernel if `up` dies first, its output logged line by line under the
//! sketch's name, its last lines kept to say why it failed.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::sync::watch;

use crate::app::circuit::command_sketch::CommandSketch;
use crate::observe::log;

/// How many of its last lines a program's failure shows.
const LAST_LINES: usize = 12;

/// A running program.
pub(super) struct Child {
    /// The process.
    process: tokio::process::Child,
    /// Its process group's id: its own pid.
    group: i32,
    /// Its last lines of output, stdout and stderr as they came.
    last: Arc<Mutex<VecDeque<String>>>,
    /// Becomes true once it printed its `ready` line.
    ready_line: watch::Receiver<bool>,
    /// The tasks that log its output, done once it closed both.
    output: Vec<tokio::task::JoinHandle<()>>,
    /// Whether what it left in its group was killed, once it ended.
    group_killed: bool,
    /// Kills its group should `up` die first (see [`Watcher`]).
    watcher: Option<Watcher>,
}

/// What a program is started with: its arguments and environment, filled in.
#[derive(Clone, Debug)]
pub(crate) struct Filled {
    /// Its arguments, after the program.
    pub(crate) args: Vec<String>,
    /// Variables added to its environment.
    pub(crate) env: Vec<(String, String)>,
}

impl Child {
    /// Starts `sketch`'s program, called `name` in the log, with `filled`.
    ///
    /// # Errors
    /// When the operating system cannot start it.
    pub(super) fn spawn(
        name: &Arc<str>,
        sketch: &CommandSketch,
        filled: Filled,
    ) -> io::Result<Child> {
        let mut command = Command::new(&sketch.program);
        command
            .args(&filled.args)
            .current_dir(&sketch.dir)
            .envs(filled.env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // A group of its own: signalled as one, and away from the terminal's Ctrl-C.
            .process_group(0)
            // Should `up` drop it without stopping it (a panic), nothing is left running.
            .kill_on_drop(true);
        if !sketch.path.is_empty() {
            command.env("PATH", path_with(&sketch.path));
        }
        die_with_parent(&mut command);
        let mut process = command.spawn()?;
        let group = process
            .id()
            .and_then(|pid| i32::try_from(pid).ok())
            .ok_or_else(|| io::Error::other("the program ended as it started"))?;
        let last = Arc::new(Mutex::new(VecDeque::with_capacity(LAST_LINES)));
        let (said_ready, ready_line) = watch::channel(false);
        let said_ready = Arc::new(said_ready);
        let mut output = Vec::new();
        if let Some(stdout) = process.stdout.take() {
            let lines = Lines::new(sketch, &last, &said_ready);
            output.push(tokio::spawn(log::scoped(
                Arc::clone(name),
                lines.log(stdout),
            )));
        }
        if let Some(stderr) = process.stderr.take() {
            let lines = Lines::new(sketch, &last, &said_ready);
            output.push(tokio::spawn(log::scoped(
                Arc::clone(name),
                lines.log(stderr),
            )));
        }
        Ok(Child {
            process,
            group,
            last,
            ready_line,
            output,
            group_killed: false,
            watcher: Watcher::spawn(group),
        })
    }

    /// Waits until it ends, and for the last of its output; kills whatever
    /// it left running in its group.
    pub(super) async fn wait(&mut self) -> io::Result<ExitStatus> {
        let status = self.process.wait().await?;
        // A program that ends by itself (it failed, or was killed) may leave
        // children behind, holding its port or its output: they go with it,
        // whether it is restarted, stays down or fails the circuit.
        if !self.group_killed {
            self.group_killed = true;
            self.signal(Signal::Kill);
        }
        if let Some(watcher) = self.watcher.take() {
            watcher.dismiss().await;
        }
        // Its output ends when every process of its group closed it: a
        // child it left behind may hold it open, so the wait is bounded.
        for task in self.output.drain(..) {
            let _ = tokio::time::timeout(std::time::Duration::from_millis(500), task).await;
        }
        Ok(status)
    }

    /// Its process id (and its group's).
    pub(super) fn pid(&self) -> i32 {
        self.group
    }

    /// Whether it ended, without waiting.
    pub(super) fn ended(&mut self) -> bool {
        matches!(self.process.try_wait(), Ok(Some(_)))
    }

    /// Resolves once it printed its `ready` line (never, without one).
    pub(super) fn printed_ready(&self) -> impl std::future::Future<Output = ()> + use<> {
        let mut ready_line = self.ready_line.clone();
        async move {
            if ready_line.wait_for(|ready| *ready).await.is_err() {
                // Its output closed without the line.
                std::future::pending::<()>().await;
            }
        }
    }

    /// Sends `signal` to its whole process group.
    pub(super) fn signal(&self, signal: Signal) {
        signal_group(self.group, signal);
    }

    /// Its last lines, indented under a heading, for a failure's message;
    /// empty when it printed nothing.
    pub(super) fn last_lines(&self) -> String {
        let last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.is_empty() {
            return " (it printed nothing)".to_owned();
        }
        let lines: Vec<String> = last.iter().map(|line| format!("\n    {line}")).collect();
        format!("; its last lines:{}", lines.concat())
    }
}

/// A signal a stop sends.
#[derive(Clone, Copy, Debug)]
pub(super) enum Signal {
    /// Asks it to stop.
    Terminate,
    /// Stops it.
    Kill,
}

/// Sends `signal` to process group `group`. The group may be gone already:
/// then there is nobody left to stop, which is what was wanted.
#[allow(unsafe_code)]
fn signal_group(group: i32, signal: Signal) {
    let number = match signal {
        Signal::Terminate => libc::SIGTERM,
        Signal::Kill => libc::SIGKILL,
    };
    // SAFETY: kill(2) takes plain integers and touches no memory of ours; a
    // negative pid names the process group (never -1, as `group` is a pid > 0).
    unsafe {
        libc::kill(-group, number);
    }
}

/// A shell that kills a program's process group when `up` dies first,
/// whatever killed it (even `kill -9`). The parent-death signal reaches the
/// program alone; this reaches the children it started too. The shell
/// waits for a line on a pipe whose other end only `up` holds: the pipe
/// closing without one (`up` is gone) is its cue. Once the group has ended,
/// `up` sends the line and the shell leaves.
struct Watcher {
    /// The shell.
    shell: tokio::process::Child,
}

impl Watcher {
    /// Watches process group `group`; `None`, with a warning, when no shell starts.
    fn spawn(group: i32) -> Option<Watcher> {
        let started = Command::new("/bin/sh")
            .args([
                "-c",
                "read -r ended || kill -KILL -\"$0\"",
                &group.to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own group: neither the terminal's Ctrl-C nor the program's stop reaches it.
            .process_group(0)
            .spawn();
        match started {
            Ok(shell) => Some(Watcher { shell }),
            Err(err) => {
                tracing::warn!(
                    "no watcher for process group {group} ({err}): should `up` be killed, what the program started may stay"
                );
                None
            }
        }
    }

    /// Tells the shell the group has ended, and waits for it to leave.
    async fn dismiss(mut self) {
        use tokio::io::AsyncWriteExt;
        if let Some(mut pipe) = self.shell.stdin.take() {
            let _ = pipe.write_all(b"ended\n").await;
        }
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), self.shell.wait()).await;
    }
}

/// Asks the kernel to kill the program when `up` dies (Linux's parent-death
/// signal), so that even `kill -9` of `up` leaves no program running.
#[allow(unsafe_code)]
fn die_with_parent(command: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        let parent = i32::try_from(std::process::id()).unwrap_or(0);
        // SAFETY: runs in the child between fork and exec, where only
        // async-signal-safe calls are allowed: prctl(2) and getppid(2) are,
        // and building the error allocates nothing.
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                    return Err(io::Error::last_os_error());
                }
                // `up` died before the request was made: nobody would send it.
                if libc::getppid() != parent {
                    return Err(io::Error::from_raw_os_error(libc::ESRCH));
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = command;
}

/// `PATH` with `first` before it.
fn path_with(first: &[std::path::PathBuf]) -> OsString {
    let rest = std::env::var_os("PATH").unwrap_or_default();
    let all = first.iter().cloned().chain(std::env::split_paths(&rest));
    std::env::join_paths(all).unwrap_or(rest)
}

/// The target of a program's lines. `-q` leaves them alone: a program
/// outside cannot tell which of its lines are per message; `RUST_LOG` can
/// (`circuit::program=off`).
pub(crate) const OUTPUT: &str = "circuit::program";

/// The logging of one of a program's outputs.
struct Lines {
    /// Its last lines, shared with the other output.
    last: Arc<Mutex<VecDeque<String>>>,
    /// The part of a line that says it is ready.
    ready: Option<String>,
    /// Told when that line comes.
    said_ready: Arc<watch::Sender<bool>>,
}

impl Lines {
    /// The logging of an output of `sketch`'s program.
    fn new(
        sketch: &CommandSketch,
        last: &Arc<Mutex<VecDeque<String>>>,
        said_ready: &Arc<watch::Sender<bool>>,
    ) -> Lines {
        Lines {
            last: Arc::clone(last),
            ready: sketch.ready.clone(),
            said_ready: Arc::clone(said_ready),
        }
    }

    /// Logs each line of `output` until it closes.
    async fn log(self, output: impl AsyncRead + Unpin) {
        let mut lines = BufReader::new(output).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let line = without_name(&line);
            tracing::info!(target: OUTPUT, "{line}");
            if self
                .ready
                .as_deref()
                .is_some_and(|ready| line.contains(ready))
            {
                self.said_ready.send_replace(true);
            }
            let mut last = self
                .last
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.len() == LAST_LINES {
                last.pop_front();
            }
            last.push_back(line.to_owned());
        }
    }
}

/// A line without the `[ name ] ` a sketch's line starts with: the log
/// puts the circuit's name for it there.
fn without_name(line: &str) -> &str {
    line.strip_prefix("[ ")
        .and_then(|rest| rest.split_once(" ] "))
        .filter(|(name, _)| !name.is_empty() && !name.contains(' '))
        .map_or(line, |(_, said)| said)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sketchs_own_name_is_left_to_the_log() {
        assert_eq!(
            without_name("[ iopin ] serving on localhost:8765"),
            "serving on localhost:8765"
        );
        assert_eq!(without_name("[ x y ] z"), "[ x y ] z");
        assert_eq!(without_name("plain"), "plain");
    }
}
