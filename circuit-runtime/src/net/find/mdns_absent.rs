//! What stands in for `mdns.rs` in a build without circuit-runtime's
//! `discovery` feature: nothing is advertised or browsed, and asking for it
//! (a name to resolve, `--advertise`, `ls`) says which feature is missing.

use std::time::Duration;

use tokio::sync::broadcast;

use crate::base::features::{missing, Feature};
use crate::net::find::discovery::{Advert, Seen, Sighting};

/// No advertisement exists in this build: the type has no values.
pub enum Advertised {}

impl Advertised {
    /// Never called: there is no advertisement to call it on.
    pub fn instance(&self) -> &str {
        match *self {}
    }

    /// Never called: there is no advertisement to withdraw.
    pub async fn withdraw(&self) {
        match *self {}
    }
}

/// Nothing can be advertised without the feature.
///
/// # Errors
/// Always: the feature is missing.
pub async fn advertise(_advert: &Advert) -> Result<Advertised, String> {
    Err(missing(Feature::Discovery, "announcing a sketch by DNS-SD"))
}

/// No timer can be advertised without the feature.
///
/// # Errors
/// Always: the feature is missing.
pub async fn advertise_timer(_advert: &Advert) -> Result<Advertised, String> {
    Err(missing(Feature::Discovery, "announcing a timer by DNS-SD"))
}

/// No name can be resolved by multicast without the feature.
///
/// # Errors
/// Always: the feature is missing.
pub async fn resolve(name: &str, _within: Duration) -> Result<Vec<Seen>, String> {
    Err(missing(
        Feature::Discovery,
        &format!("finding the sketch {name:?} by its name"),
    ))
}

/// Nothing is seen without the feature.
///
/// # Errors
/// Always: the feature is missing.
pub fn watch() -> Result<(Vec<Seen>, broadcast::Receiver<Sighting>), String> {
    Err(missing(
        Feature::Discovery,
        "listing the sketches on the network",
    ))
}

/// No timer is seen without the feature.
///
/// # Errors
/// Always: the feature is missing.
pub fn watch_timers() -> Result<(Vec<Seen>, broadcast::Receiver<Sighting>), String> {
    Err(missing(
        Feature::Discovery,
        "seeing the timers of a circuit across hosts",
    ))
}
