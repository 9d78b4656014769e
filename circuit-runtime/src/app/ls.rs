//! `ls`: the sketches this machine can see on the network by DNS-SD, like
//! `avahi-browse _circuit._tcp` or `ros2 node list`; `--watch` follows
//! arrivals, departures and moves (a restart at another address) until Ctrl-C.

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
                .help("Keep listening, and print each arrival (+), departure (-) and move to another address (~) until Ctrl-C"),
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
                        if let Some(line) = news(seen.get(&arrived.instance), &arrived) {
                            println!("{line}");
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

/// What `ls --watch` says when `arrived` is seen, `before` being what was
/// known of its instance: `+ ROW` for a new one, `~ ROW` for one at another
/// address (a restart on a new port keeps its name, and a restart without a
/// goodbye comes before the old records expire), nothing for more of its
/// records coming in (an address added, its TXT again).
fn news(before: Option<&Seen>, arrived: &Seen) -> Option<String> {
    match before {
        None => Some(format!("+ {}", row(arrived))),
        Some(before) if before.endpoint() != arrived.endpoint() => {
            Some(format!("~ {}", row(arrived)))
        }
        Some(_) => None,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn echo(addr: &str, port: u16) -> Seen {
        Seen {
            instance: "echo".into(),
            sketch: "echo".into(),
            kind: "echo".into(),
            takes: "Payload".into(),
            circuit: String::new(),
            tls: false,
            auth: false,
            addrs: vec![addr.parse().unwrap()],
            port,
        }
    }

    #[test]
    fn a_sketch_seen_at_another_address_is_said_to_have_moved() {
        let first = echo("10.0.0.1", 4000);
        assert!(news(None, &first).unwrap().starts_with("+ echo "));
        // The same records again, or one more address of it, say nothing new.
        assert_eq!(news(Some(&first), &first), None);
        let mut more = first.clone();
        more.addrs.push("fe80::1".parse().unwrap());
        assert_eq!(news(Some(&first), &more), None);
        // Restarted on a new port, or on another host, under the same name.
        let moved = news(Some(&first), &echo("10.0.0.1", 4001)).unwrap();
        assert!(
            moved.starts_with("~ echo ") && moved.contains("10.0.0.1:4001"),
            "{moved}"
        );
        assert!(news(Some(&first), &echo("10.0.0.2", 4000))
            .unwrap()
            .starts_with("~ echo "));
    }
}
