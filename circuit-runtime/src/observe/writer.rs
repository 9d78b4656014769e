//! The log lines' own thread: a sketch hands each formatted line to a queue
//! and goes on, while this thread writes the lines to the console, so that a
//! slow terminal or pipe never stalls a loop. Lossless: a full queue makes the
//! logger wait instead of dropping lines.

use std::io::{self, Write};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::thread;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

use crate::observe::console::Console;

/// Lines queued before a logger waits: a burst of this many costs no one a
/// write of their own.
const QUEUED_LINES: usize = 128_000;

/// How long the end of a run waits for the queued lines to be written.
const LAST_LINES: Duration = Duration::from_secs(1);

/// What the writing thread is given.
enum Note {
    /// One formatted log line.
    Line(Vec<u8>),
    /// Write what is queued, say so, and end.
    End,
}

/// Where the log layer writes: the queue of the writing thread.
#[derive(Clone)]
pub(crate) struct Queued(SyncSender<Note>);

/// Kept until the end of a run: dropping it waits (a moment at most) until
/// every queued line is written.
pub struct Flushed {
    /// The queue, for the last note.
    queue: SyncSender<Note>,
    /// Answers once the thread has written everything before the last note.
    done: Receiver<()>,
}

/// Starts the thread that writes the log lines to the console.
///
/// # Errors
/// When the operating system cannot start a thread.
pub(crate) fn start() -> io::Result<(Queued, Flushed)> {
    start_to(Console)
}

/// Starts a thread that writes the lines queued to `sink`.
fn start_to(sink: impl Write + Send + 'static) -> io::Result<(Queued, Flushed)> {
    let (queue, notes) = mpsc::sync_channel(QUEUED_LINES);
    let (finished, done) = mpsc::channel();
    thread::Builder::new()
        .name("circuit-log".into())
        .spawn(move || {
            write_lines(notes, sink);
            // Said once the queue is gone: nothing can be queued after this.
            let _ = finished.send(());
        })?;
    Ok((Queued(queue.clone()), Flushed { queue, done }))
}

/// The writing thread: each line as it comes, the sink flushed once per
/// batch of lines that were waiting together, until the last note.
fn write_lines(notes: Receiver<Note>, mut sink: impl Write) {
    while let Ok(note) = notes.recv() {
        let mut next = Some(note);
        while let Some(note) = next.take() {
            match note {
                Note::Line(line) => {
                    let _ = sink.write_all(&line);
                }
                Note::End => {
                    let _ = sink.flush();
                    return;
                }
            }
            next = notes.try_recv().ok();
        }
        let _ = sink.flush();
    }
}

impl Drop for Flushed {
    fn drop(&mut self) {
        if self.queue.send(Note::End).is_ok() {
            match self.done.recv_timeout(LAST_LINES) {
                Ok(()) | Err(RecvTimeoutError::Disconnected | RecvTimeoutError::Timeout) => {}
            }
        }
    }
}

impl Write for &Queued {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        self.0
            .send(Note::Line(line.to_vec()))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the log thread has ended"))?;
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Queued {
    type Writer = &'a Queued;

    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A sink the test can read.
    #[derive(Clone, Default)]
    struct Kept(Arc<Mutex<Vec<u8>>>);

    impl Write for Kept {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_is_written_whole_in_order_before_the_end() {
        let kept = Kept::default();
        let (queued, flushed) = start_to(kept.clone()).expect("a thread");
        let mut writer = queued.make_writer();
        let lines: String = (0..1000).map(|n| format!("line {n}\n")).collect();
        for line in lines.split_inclusive('\n') {
            writer.write_all(line.as_bytes()).expect("queued");
        }
        drop(flushed);
        assert_eq!(
            String::from_utf8(kept.0.lock().unwrap().clone()).unwrap(),
            lines
        );
        // The thread has ended: nothing more can be queued.
        assert!((&queued).write(b"late\n").is_err());
    }
}
