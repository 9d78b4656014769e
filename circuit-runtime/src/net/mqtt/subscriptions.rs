//! A server's `--subscribe` URLs together: started with the server, each
//! feeding its loop (`subscribe`), ended before the sketch is handed back,
//! with an end-of-run line each; and the first failure for good (a
//! refusal by a broker), which ends the run.

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::base::error::{Error, Result};
use crate::base::options::Options;
use crate::base::shutdown::Shutdown;
use crate::base::sketch::Reactive;
use crate::net::serve::dispatch::Dispatch;

/// The running subscriptions of one server.
pub(crate) struct Subscriptions {
    /// Each subscription's task, giving its end-of-run line.
    tasks: Vec<JoinHandle<String>>,
    /// Why a subscription failed for good, once one has.
    failed: watch::Receiver<Option<(String, String)>>,
}

impl Subscriptions {
    /// Starts every `--subscribe` of `options` for the loop behind
    /// `dispatch`, each subscribed (or retrying an unreachable broker) when
    /// this returns.
    ///
    /// # Errors
    /// A broker's refusal (the login, a subscription), or, in a build
    /// without the `mqtt` feature, that it is needed.
    #[cfg_attr(not(feature = "mqtt"), allow(unused_variables))]
    pub(crate) async fn start<S: Reactive>(
        options: &Options,
        sketch: &Arc<str>,
        dispatch: &Dispatch<S>,
        shutdown: &Shutdown,
    ) -> Result<Subscriptions> {
        let (failed, watching) = watch::channel(None);
        if options.subscribe.is_empty() {
            return Ok(Subscriptions {
                tasks: Vec::new(),
                failed: watching,
            });
        }
        #[cfg(feature = "mqtt")]
        {
            use crate::net::mqtt::reply;
            use crate::net::mqtt::subscribe::{subscribe, Setup};
            use crate::net::mqtt::url::{MqttUrl, TopicUse};
            let setup = Setup {
                sketch: Arc::clone(sketch),
                reply_topic: options.reply_topic.clone(),
                max_message: options.limits.max_message,
                failed: Arc::new(failed),
            };
            // Every mistake is found before any broker is asked.
            let mut urls = Vec::new();
            for text in &options.subscribe {
                let url = MqttUrl::parse(text, TopicUse::Subscribe).map_err(Error::Setup)?;
                if let Some(template) = &options.reply_topic {
                    reply::outside(template, &url.topic).map_err(Error::Setup)?;
                }
                urls.push(url);
            }
            let mut tasks = Vec::new();
            for url in urls {
                let task = subscribe(url, &setup, dispatch.clone(), shutdown.clone()).await;
                match task {
                    Ok(task) => tasks.push(task),
                    Err(err) => {
                        // The ones started already end with the server's shutdown.
                        for task in tasks {
                            task.abort();
                        }
                        return Err(err);
                    }
                }
            }
            Ok(Subscriptions {
                tasks,
                failed: watching,
            })
        }
        #[cfg(not(feature = "mqtt"))]
        {
            drop(failed);
            Err(Error::Setup(
                crate::base::features::require(crate::base::features::Feature::Mqtt, "--subscribe")
                    .err()
                    .unwrap_or_default(),
            ))
        }
    }

    /// Waits until a subscription fails for good; its error. Never, without one.
    pub(crate) async fn failed(&mut self) -> Error {
        loop {
            if let Some(why) = self.failed.borrow_and_update().clone() {
                return refused(why);
            }
            if self.failed.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Whether a subscription failed for good; its error.
    pub(crate) fn failure(&self) -> Option<Error> {
        self.failed.borrow().clone().map(refused)
    }

    /// Waits for every subscription to end (the server's shutdown ends
    /// them), so that none holds the loop any more; their end-of-run lines.
    pub(crate) async fn finish(self) -> Vec<String> {
        let mut lines = Vec::new();
        for task in self.tasks {
            if let Ok(line) = task.await {
                lines.push(line);
            }
        }
        lines
    }
}

/// The error of a subscription refused by its broker: its URL and why.
fn refused((url, reason): (String, String)) -> Error {
    Error::Refused { url, reason }
}
