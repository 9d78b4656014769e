//! The `[ name ] text` log format on top of `tracing`, and which sketch is speaking.
//!
//! The sketch's name travels in a task-local, so `out!` needs no argument and
//! one process can run several sketches (the `circuit` command) without mixing
//! up their lines.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, LazyLock};

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

use crate::base::clock::simulated_time;
use crate::base::error::{Error, Result};
use crate::observe::writer::{self, Flushed};

/// The target of the per-message lines (`out!`), which `-q` silences:
/// `RUST_LOG=circuit::msg=off` does the same.
pub const MESSAGES: &str = "circuit::msg";

/// The name shown for lines logged outside any sketch, made once.
static NO_SKETCH: LazyLock<Arc<str>> = LazyLock::new(|| Arc::from("circuit"));

tokio::task_local! {
    // Shared: a circuit's sketches get their names when it is read, not when compiled.
    static SKETCH: Arc<str>;
}

/// The name of the sketch whose task is running, or `circuit` outside one
/// (a shared name: no allocation).
pub fn current() -> Arc<str> {
    SKETCH
        .try_with(Arc::clone)
        .unwrap_or_else(|_| Arc::clone(&NO_SKETCH))
}

/// Runs `future` as sketch `name`: every line it logs carries that name.
pub fn scoped<F: Future>(name: impl Into<Arc<str>>, future: F) -> impl Future<Output = F::Output> {
    SKETCH.scope(name.into(), future)
}

/// Spawns `future` as a task of the sketch that is running now.
pub fn spawn<F>(future: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(scoped(current(), future))
}

/// Installs the global subscriber: `RUST_LOG` filters (default `info`; with
/// `debug`, the runtime says when it connects, retries and closes, with the
/// close codes), `quiet` silences the per-message lines (target
/// [`MESSAGES`]). Lines go to stdout through a buffer drained by a thread of
/// its own, so a slow terminal or pipe never stalls a loop; the buffer is
/// lossless (a full one makes logging wait).
///
/// Keep the returned guard until the end: dropping it writes what is still
/// buffered. Calling `init` again is harmless: the first subscriber stays, and
/// the later call returns `None`.
///
/// # Errors
/// [`Error::Setup`] when `RUST_LOG` is set but is not a valid filter, so that
/// a typo is a usage error instead of silently logging at the default level.
pub fn init(quiet: bool) -> Result<Option<Flushed>> {
    // `target=level` directives, comma-separated, as `RUST_LOG` is usually
    // written; without regular expressions, which would cost every sketch's
    // build more than the rest of its logging.
    let mut filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => spec
            .parse::<Targets>()
            .map_err(|err| Error::Setup(format!("RUST_LOG={spec:?} is not a log filter: {err}")))?,
        _ => Targets::new().with_default(LevelFilter::INFO),
    };
    if quiet {
        filter = filter.with_target(MESSAGES, LevelFilter::OFF);
    }
    let (writer, guard) = writer::start()?;
    let lines = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .event_format(LineFormat);
    let installed = tracing_subscriber::registry()
        .with(filter)
        .with(lines)
        .try_init()
        .is_ok();
    Ok(installed.then_some(guard))
}

/// Who is told of every log line as it is logged, written as the terminal
/// shows it without its time (`[ buzzer ] buzz #2: bzzz`, `[ pin ] warning: …`).
pub(crate) type Tee = Box<dyn Fn(&str) + Send + Sync>;

/// As [`init`], with every line also told to `tee`; on the terminal only
/// when `print`. A scenario's `log` expectations read the lines this way
/// (and when it has none, `quiet` spares the per-message lines' formatting).
///
/// # Errors
/// As [`init`].
pub(crate) fn init_teed(print: bool, quiet: bool, tee: Tee) -> Result<Option<Flushed>> {
    let mut filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => spec
            .parse::<Targets>()
            .map_err(|err| Error::Setup(format!("RUST_LOG={spec:?} is not a log filter: {err}")))?,
        _ => Targets::new().with_default(LevelFilter::INFO),
    };
    if quiet {
        filter = filter.with_target(MESSAGES, LevelFilter::OFF);
    }
    let (lines, guard) = if print {
        let (writer, guard) = writer::start()?;
        let lines = tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .event_format(LineFormat);
        (Some(lines), Some(guard))
    } else {
        (None, None)
    };
    let installed = tracing_subscriber::registry()
        .with(filter)
        .with(lines)
        .with(Teed(tee))
        .try_init()
        .is_ok();
    Ok(guard.filter(|_| installed))
}

/// The layer that tells a [`Tee`] of every line.
struct Teed(Tee);

impl<S: Subscriber> tracing_subscriber::Layer<S> for Teed {
    fn on_event(&self, event: &Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        thread_local! {
            // One line's text, kept between lines: a line costs no allocation.
            static LINE: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
        }
        LINE.with(|line| {
            let Ok(mut line) = line.try_borrow_mut() else {
                return; // a line logged while telling of one: not a sketch's
            };
            line.clear();
            line.push_str("[ ");
            match SKETCH.try_with(|name| line.push_str(name)) {
                Ok(()) => {}
                Err(_) => line.push_str(&NO_SKETCH),
            }
            line.push_str(" ] ");
            match *event.metadata().level() {
                Level::ERROR => line.push_str("error: "),
                Level::WARN => line.push_str("warning: "),
                _ => {}
            }
            event.record(&mut Message(&mut line));
            (self.0)(&line);
        });
    }
}

/// Writes an event's fields as the terminal shows them: the message, then
/// any other field as `name=value`.
struct Message<'a>(&'a mut String);

impl tracing::field::Visit for Message<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        use fmt::Write;
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}

/// Formats an event as `[ name ] text`, with `warning: ` or `error: ` before
/// the text when the level calls for it.
struct LineFormat;

impl<S, N> FormatEvent<S, N> for LineFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        if let Some(at) = simulated_time() {
            // Simulated time, from the start of the run: the only clock that means anything.
            write!(writer, "{:>10.3}s ", at.as_secs_f64())?;
        }
        // Written from the task's own name: no reference count touched per line.
        match SKETCH.try_with(|name| write!(writer, "[ {name} ] ")) {
            Ok(written) => written?,
            Err(_) => write!(writer, "[ {} ] ", *NO_SKETCH)?,
        }
        match *event.metadata().level() {
            Level::ERROR => writer.write_str("error: ")?,
            Level::WARN => writer.write_str("warning: ")?,
            _ => {}
        }
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_name_follows_the_task() {
        assert_eq!(&*current(), "circuit");
        let inner = scoped("iopin", async {
            let child = spawn(async { current() }).await.unwrap();
            (current(), child)
        })
        .await;
        assert_eq!((&*inner.0, &*inner.1), ("iopin", "iopin"));
    }
}
