//! A recording asked for on the command line (`--vcd FILE`, `--web ADDR`):
//! started before the run, saved after it.

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use crate::base::error::{Error, Result};
use crate::observe::trace::Trace;
use crate::observe::vcd;

/// The process's recording and, when asked for, the VCD file it ends in.
pub struct Recording {
    /// The process's recorder.
    trace: Arc<Trace>,
    /// The VCD file, created at the start (so a bad path fails before the run, not after).
    vcd: Option<(PathBuf, File)>,
}

impl Recording {
    /// Starts recording when a VCD file (`vcd`) or a live view (`live`) was asked for.
    ///
    /// # Errors
    /// [`Error::Record`] when the VCD file cannot be created.
    pub fn start(vcd: Option<PathBuf>, live: bool) -> Result<Option<Recording>> {
        if vcd.is_none() && !live {
            return Ok(None);
        }
        let vcd = match vcd {
            Some(path) => match File::create(&path) {
                Ok(file) => Some((path, file)),
                Err(source) => {
                    return Err(Error::Record {
                        path: path.display().to_string(),
                        source,
                    })
                }
            },
            None => None,
        };
        Ok(Some(Recording {
            trace: Trace::install(vcd.is_some()),
            vcd,
        }))
    }

    /// The recorder, for a live view.
    pub fn trace(&self) -> Arc<Trace> {
        Arc::clone(&self.trace)
    }

    /// Ends the run (with its summary line, for live views) and writes the VCD file.
    ///
    /// # Errors
    /// [`Error::Record`] when the file cannot be written.
    pub fn finish(self, summary: Option<&str>) -> Result<()> {
        if let Some(summary) = summary {
            self.trace.end(summary);
        }
        if let Some((path, file)) = self.vcd {
            let written =
                vcd::write(&self.trace.declared(), &self.trace.kept(), file).map_err(|source| {
                    Error::Record {
                        path: path.display().to_string(),
                        source,
                    }
                })?;
            tracing::info!("wrote {written} signal changes to {}", path.display());
        }
        Ok(())
    }
}
