//! What stands in for `supervisor.rs` in a build without circuit-runtime's
//! `commands` feature: a circuit file with a command sketch is refused when
//! it is checked, so nothing here ever starts.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::app::circuit::command_sketch::CommandSketch;
use crate::base::error::{Error, Result};
use crate::base::features::{missing, Feature};
use crate::base::shutdown::Shutdown;
use crate::base::sketch::{RunReport, Running};

/// What a program would be started with.
#[allow(dead_code)] // read by the supervisor of a build with the feature
#[derive(Clone, Debug)]
pub(crate) struct Filled {
    /// Its arguments, after the program.
    pub(crate) args: Vec<String>,
    /// Variables added to its environment.
    pub(crate) env: Vec<(String, String)>,
}

/// How a program would be started.
#[allow(dead_code)] // read by the supervisor of a build with the feature
pub(crate) struct Launch {
    /// Its name in the circuit.
    pub(crate) name: Arc<str>,
    /// What its table says.
    pub(crate) sketch: Arc<CommandSketch>,
    /// Its arguments and environment.
    pub(crate) filled: Filled,
    /// Where it would be ready.
    pub(crate) listens: Option<std::net::SocketAddr>,
    /// How long it would have between SIGTERM and SIGKILL.
    pub(crate) stop_timeout: Duration,
    /// The circuit's stop.
    pub(crate) circuit: Shutdown,
}

/// No program runs in this build: the type has no values.
pub(crate) enum Started {}

/// Nothing can be started without the feature.
///
/// # Errors
/// Always: the feature is missing.
pub(crate) async fn start(_launch: Launch) -> Result<Started> {
    Err(Error::Setup(missing(Feature::Commands, "a command sketch")))
}

impl Running for Started {
    fn done(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        match *self {}
    }

    fn stop(self: Box<Self>) -> Pin<Box<dyn Future<Output = Result<RunReport>> + Send>> {
        match *self {}
    }
}
