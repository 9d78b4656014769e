//! A sketch's links at the edges of its run: given the sketch's token at the
//! start, drained at the end (for servers and timers alike).

use std::time::Duration;

use tokio::time::timeout;

use crate::base::options::Token;
use crate::base::sketch::Outbound;

/// How long a stopping sketch may take to deliver what its links still hold;
/// shorter than the 2 s a stop may take, so a stuck link is reported, not cut off.
const FLUSH: Duration = Duration::from_secs(1);

/// Has every link present the sketch's token, so that linked servers sharing it admit us.
pub(crate) fn present_token(links: &[&dyn Outbound], token: Option<&Token>) {
    if let Some(token) = token {
        for link in links {
            link.present(token);
        }
    }
}

/// Delivers what `links` still hold and closes them, for at most [`FLUSH`] each.
pub(crate) async fn drain(links: &[&dyn Outbound]) {
    for link in links {
        if timeout(FLUSH, link.finish()).await.is_err() {
            tracing::warn!(
                "link to {} did not take everything before the end",
                link.target()
            );
        }
    }
}
