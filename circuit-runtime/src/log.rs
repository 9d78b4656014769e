//! The `[ name ] text` log format on top of `tracing`, and which sketch is speaking.
//!
//! The sketch's name travels in a task-local, so `out!` needs no argument and
//! one process can run several sketches (the `circuit` command) without mixing
//! up their lines.

use std::fmt;
use std::future::Future;

use tracing::{Event, Level, Subscriber};
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
/// silences the per-message lines (target `circuit::msg`).
///
/// Calling it again is harmless: the first subscriber stays.
pub fn init(quiet: bool) {
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    if quiet {
        filter = filter.add_directive(
            "circuit::msg=off"
                .parse()
                .expect("a constant directive parses"),
        );
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout)
        .event_format(LineFormat)
        .try_init();
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
