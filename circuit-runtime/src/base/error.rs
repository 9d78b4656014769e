//! The runtime's one error type.

use std::io;

use crate::base::losses::Losses;

/// Everything that can stop a sketch.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server's address is taken (or not ours to take).
    #[error("Cannot bind to this port! Is the server already running? ({addr}: {source})")]
    Bind {
        /// The address we tried to bind.
        addr: String,
        /// Why the operating system refused.
        source: io::Error,
    },
    /// The server's host is none of this machine's addresses (`EADDRNOTAVAIL`):
    /// a typo, another machine's address, or an interface that is down.
    #[error("cannot serve on {addr}: {ip} is not an address of this machine; give one of its own, or 0.0.0.0 for all of them ({source})")]
    NotOurs {
        /// The address we tried to bind, as given.
        addr: String,
        /// The IP address it resolved to.
        ip: std::net::IpAddr,
        /// Why the operating system refused.
        source: io::Error,
    },
    /// The host name of `--socket` does not resolve.
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        /// The host we tried to resolve.
        host: String,
        /// Why resolution failed.
        source: io::Error,
    },
    /// No server answered at the peer's address within the retry window.
    #[error("no server answered at {url} within {seconds}s ({reason})")]
    Unreachable {
        /// The peer's URL.
        url: String,
        /// How long we kept trying.
        seconds: f64,
        /// The last connection error.
        reason: String,
    },
    /// The peer answered and refused us: our token, or a certificate that
    /// failed its check. Not retried: trying again cannot mend it.
    #[error("{url}: {reason}")]
    Refused {
        /// The peer's URL (or name).
        url: String,
        /// Why, in words.
        reason: String,
    },
    /// A replay whose signals differ from the recording's (`--check`): the first differences.
    #[error("the replay differs from the recording:\n{0}")]
    Mismatch(String),
    /// A certificate or key file that cannot be used, named in the reason.
    #[error("TLS: {0}")]
    Tls(String),
    /// The peer went away before acknowledging a message.
    #[error("the server at {url} went away before acknowledging {message:?} ({reason})")]
    Lost {
        /// The peer's URL.
        url: String,
        /// The message that got no acknowledgement.
        message: String,
        /// What ended the connection.
        reason: String,
    },
    /// The run ended and said how it went, but lost messages on the way:
    /// dead-lettered, dropped or never delivered by its links, or ticks never
    /// acknowledged (each link's end-of-run line says which).
    #[error("{0}; the lines above say where")]
    Losses(Losses),
    /// A setting is out of range or inconsistent; reported by a sketch's `setup`.
    #[error("{0}")]
    Setup(String),
    /// A circuit file could not be read, or has mistakes (one per line, `FILE:LINE:COLUMN: …`).
    #[error("{0}")]
    Circuit(String),
    /// A recording (`--vcd FILE`) could not be written.
    #[error("cannot write {path}: {source}")]
    Record {
        /// The file we tried to write.
        path: String,
        /// Why writing failed.
        source: io::Error,
    },
    /// A program a circuit file starts (`command = [...]`) that failed: it
    /// could not start, was not ready in time, or ended for good.
    #[error("{0}")]
    Command(String),
    /// A link's spool (`--spool`) that cannot be used, named in the message.
    #[error("{0}")]
    Spool(String),
    /// Scenarios (`test FILE...`) that failed: how many; each said what above.
    #[error("{0}")]
    Failed(String),
    /// An I/O error outside any connection, such as starting the async runtime.
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl Error {
    /// The process exit code for this error: 2 for bad settings, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Setup(_) | Error::Circuit(_) => 2,
            _ => 1,
        }
    }
}

impl Losses {
    /// The run's verdict: fine when nothing was lost.
    ///
    /// # Errors
    /// [`Error::Losses`] (exit 1) saying what was lost.
    pub fn verdict(self) -> Result<()> {
        if self.total() == 0 {
            Ok(())
        } else {
            Err(Error::Losses(self))
        }
    }
}

/// The runtime's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
