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

/// Starts the writing thread.
///
/// # Errors
/// When the operating system cannot start a thread.
pub(crate) fn start() -> io::Result<(Queued, Flushed)> {
    let (queue, notes) = mpsc::sync_channel(QUEUED_LINES);
    let (finished, done) = mpsc::channel();
    thread::Builder::new()
        .name("circuit-log".into())
        .spawn(move || write_lines(&notes, &finished))?;
    Ok((Queued(queue.clone()), Flushed { queue, done }))
}

/// The writing thread: each line as it comes, the console flushed once per
/// batch of lines that were waiting together.
fn write_lines(notes: &Receiver<Note>, finished: &mpsc::Sender<()>) {
    let mut console = Console;
    while let Ok(note) = notes.recv() {
        let mut next = Some(note);
        while let Some(note) = next.take() {
            match note {
                Note::Line(line) => {
                    let _ = console.write_all(&line);
                }
                Note::End => {
                    let _ = console.flush();
                    let _ = finished.send(());
                    return;
                }
            }
            next = notes.try_recv().ok();
        }
        let _ = console.flush();
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
    use super::*;

    #[test]
    fn every_line_is_queued_whole_and_the_end_waits_for_them() {
        let (queued, flushed) = start().expect("a thread");
        let mut writer = queued.make_writer();
        for n in 0..1000 {
            writer
                .write_all(format!("line {n}\n").as_bytes())
                .expect("queued");
        }
        drop(flushed);
        // The thread has ended: nothing more can be queued.
        assert!((&queued).write(b"late\n").is_err());
    }
}
