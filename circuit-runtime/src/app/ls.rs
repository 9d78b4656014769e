//! `ls`: the sketches this machine can see on the network by DNS-SD, like
//! `avahi-browse _circuit._tcp` or `ros2 node list`; `--watch` follows
//! arrivals and departures until Ctrl-C.

use std::collections::BTreeMap;
use std::time::Duration;

use clap::{ArgMatches, Command};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::{sleep_until, Instant};

use crate::app::flags::{in_seconds, seconds_flag, switch, with_default};
use crate::app::process::run_until_interrupted;
use crate::base::error::{Error, Result};
use crate::base::features::{require, Feature};
use crate::net::find::discovery::{Seen, Sighting};
use crate::net::find::mdns;

/// `--watch`: follow arrivals and departures.
const WATCH: &str = "watch";
/// `--for SECONDS`: how long to listen before listing.
const FOR: &str = "for";
/// How long `ls` listens unless `--for` says otherwise.
const LISTEN: Duration = Duration::from_secs(2);

/// The `ls` subcommand of every program.
pub(crate) fn command() -> Command {
    Command::new("ls")
        .about("Lists the sketches seen on the network (DNS-SD, _circuit._tcp): name, address, kind, circuit")
        .arg(
            switch(WATCH)
                .help("Keep listening, and print each arrival (+) and departure (-) until Ctrl-C"),
        )
        .arg(seconds_flag(FOR).help(with_default(
            "How long to listen before listing",
            in_seconds(LISTEN),
        )))
}

/// Lists what answers within `--for`, then follows changes with `--watch`.
///
/// # Errors
/// [`Error::Io`] when this machine cannot do multicast DNS.
pub(crate) fn run(matches: &mut ArgMatches) -> Result<()> {
    require(Feature::Discovery, "ls").map_err(Error::Setup)?;
    let watch = matches.get_flag(WATCH);
    let listen: Duration = matches.remove_one(FOR).unwrap_or(LISTEN);
    run_until_interrupted("ls", false, Duration::ZERO, |mut shutdown| async move {
        let (now, mut changes) =
            mdns::watch().map_err(|err| Error::Io(std::io::Error::other(err)))?;
        let mut seen: BTreeMap<String, Seen> = now
            .into_iter()
            .map(|seen| (seen.instance.clone(), seen))
            .collect();
        let until = Instant::now() + listen;
        loop {
            tokio::select! {
                change = changes.recv() => match change {
                    Ok(change) => note(&mut seen, change),
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => break,
                },
                () = sleep_until(until) => break,
                () = shutdown.wait() => return Ok(()),
            }
        }
        println!("{}", header());
        for seen in seen.values() {
            println!("{}", row(seen));
        }
        if seen.is_empty() {
            println!("(no sketch answered within {:.1}s)", listen.as_secs_f64());
        }
        if !watch {
            return Ok(());
        }
        loop {
            tokio::select! {
                change = changes.recv() => match change {
                    Ok(Sighting::Arrived(arrived)) => {
                        // Its records may come in parts: one line when it arrives.
                        if !seen.contains_key(&arrived.instance) {
                            println!("+ {}", row(&arrived));
                        }
                        seen.insert(arrived.instance.clone(), arrived);
                    }
                    Ok(Sighting::Left(instance)) => {
                        if seen.remove(&instance).is_some() {
                            println!("- {instance}");
                        }
                    }
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => break,
                },
                () = shutdown.wait() => break,
            }
        }
        Ok(())
    })
}

/// Takes in one change while listening.
fn note(seen: &mut BTreeMap<String, Seen>, change: Sighting) {
    match change {
        Sighting::Arrived(arrived) => {
            seen.insert(arrived.instance.clone(), arrived);
        }
        Sighting::Left(instance) => {
            seen.remove(&instance);
        }
    }
}

/// The columns of a listing.
fn header() -> String {
    format!(
        "{:<20} {:<22} {:<20} {:<12} {}",
        "NAME", "ADDRESS", "KIND (TAKES)", "CIRCUIT", "TLS AUTH"
    )
}

/// One sketch as a line of the listing.
fn row(seen: &Seen) -> String {
    let yes = |on: bool| if on { "yes" } else { "no" };
    let kind = if seen.takes.is_empty() {
        seen.kind.clone()
    } else {
        format!("{} ({})", seen.kind, seen.takes)
    };
    let circuit = if seen.circuit.is_empty() {
        "-"
    } else {
        &seen.circuit
    };
    format!(
        "{:<20} {:<22} {:<20} {:<12} {:<3} {}",
        seen.instance,
        seen.endpoint(),
        kind,
        circuit,
        yes(seen.tls),
        yes(seen.auth)
    )
}
