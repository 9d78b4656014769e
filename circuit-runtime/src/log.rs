//! The `[ name ] text` log format on top of `tracing`, and which sketch is speaking.
//!
//! The sketch's name travels in a task-local, so `out!` needs no argument and
//! one process can run several sketches (the `circuit` command) without mixing
//! up their lines.

use std::fmt;
use std::future::Future;

use tracing::{Event, Level, Subscriber};
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// The name shown for lines logged outside any sketch.
const NO_SKETCH: &str = "circuit";

tokio::task_local! {
    static SKETCH: &'static str;
}

/// The name of the sketch whose task is running, or `circuit` outside one.
pub fn current() -> &'static str {
    SKETCH.try_with(|name| *name).unwrap_or(NO_SKETCH)
}

/// Runs `future` as sketch `name`: every line it logs carries that name.
pub fn scoped<F: Future>(name: &'static str, future: F) -> impl Future<Output = F::Output> {
    SKETCH.scope(name, future)
}

/// Spawns `future` as a task of the sketch that is running now.
pub fn spawn<F>(future: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(scoped(current(), future))
}

/// Installs the global subscriber: `RUST_LOG` filters (default `info`), `quiet`
/// silences the per-message lines (target `circuit::msg`). Lines go to stdout
/// through a buffer drained by a thread of its own, so a slow terminal or pipe
/// never stalls a loop; the buffer is lossless (a full one makes logging wait).
///
/// Keep the returned guard until the end: dropping it writes what is still
/// buffered. Calling `init` again is harmless: the first subscriber stays, and
/// the later call returns `None`.
#[must_use = "dropping the guard at once stops the log writer"]
pub fn init(quiet: bool) -> Option<WorkerGuard> {
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    if quiet {
        filter = filter.add_directive(
            "circuit::msg=off"
                .parse()
                .expect("a constant directive parses"),
        );
    }
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .finish(crate::progress::Console);
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .event_format(LineFormat)
        .try_init()
        .is_ok()
        .then_some(guard)
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
        write!(writer, "[ {} ] ", current())?;
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
        assert_eq!(current(), "circuit");
        let inner = scoped("iopin", async {
            let child = spawn(async { current() }).await.unwrap();
            (current(), child)
        })
        .await;
        assert_eq!(inner, ("iopin", "iopin"));
    }
}
