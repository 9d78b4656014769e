//! A sketch's links in generated code: every field that holds links (a
//! `Link`, a `Vec<Link>` for fan-out, an `Option<Link>`), gathered for the
//! runtime to configure at the start and drain at the end, each named after
//! its field (`fan`; `buzzer.0`, `buzzer.1` for a `Vec`), which names its
//! lane in a recording (`fan.out`).

use crate::base::sketch::Outbound;
use crate::base::wiring::MessageType;
use crate::net::send::link::Link;

/// One link of a setting, by what it sends.
pub trait LinkValue {
    /// What the link sends.
    type Sends: 'static;
    /// What the link sends, for circuit files.
    const SENDS: MessageType = MessageType::of::<Self::Sends>();
}

impl<M: 'static> LinkValue for Link<M> {
    type Sends = M;
}

/// A field that holds links.
pub trait LinkField {
    /// Names the links it holds after the field, `name`, and adds them to `out`.
    fn gather_into<'a>(&'a self, name: &'static str, out: &mut Vec<&'a dyn Outbound>);
}

impl<M: 'static> LinkField for Link<M> {
    fn gather_into<'a>(&'a self, name: &'static str, out: &mut Vec<&'a dyn Outbound>) {
        self.name(|| name.to_owned());
        out.push(self);
    }
}

impl<M: 'static> LinkField for Vec<Link<M>> {
    fn gather_into<'a>(&'a self, name: &'static str, out: &mut Vec<&'a dyn Outbound>) {
        for (at, link) in self.iter().enumerate() {
            link.name(|| format!("{name}.{at}"));
            out.push(link);
        }
    }
}

impl<M: 'static> LinkField for Option<Link<M>> {
    fn gather_into<'a>(&'a self, name: &'static str, out: &mut Vec<&'a dyn Outbound>) {
        if let Some(link) = self {
            link.gather_into(name, out);
        }
    }
}

/// Every link held by `fields` (each with its field's name), in order.
pub fn gather<'a>(fields: &[(&'static str, &'a dyn LinkField)]) -> Vec<&'a dyn Outbound> {
    let mut links = Vec::new();
    for (name, field) in fields {
        field.gather_into(name, &mut links);
    }
    links
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_link_a_fan_out_and_an_absent_link_are_gathered_in_order() {
        let one = Link::new("ws://a:1/x").unwrap();
        let many = vec![
            Link::new("ws://b:1/x").unwrap(),
            Link::new("ws://c:1/x").unwrap(),
        ];
        let none: Option<Link> = None;
        let some = Some(Link::new("ws://d:1/x").unwrap());
        let links = gather(&[
            ("one", &one),
            ("many", &many),
            ("none", &none),
            ("some", &some),
        ]);
        let targets: Vec<&str> = links.iter().map(|link| link.target()).collect();
        assert_eq!(
            targets,
            ["ws://a:1/x", "ws://b:1/x", "ws://c:1/x", "ws://d:1/x"]
        );
        // Each named after its field, a fan-out's by place: the lanes of a recording.
        let lanes: Vec<&str> = [&one, &many[0], &many[1], some.as_ref().unwrap()]
            .iter()
            .map(|link| link.lane().unwrap_or("none"))
            .collect();
        assert_eq!(lanes, ["one.out", "many.0.out", "many.1.out", "some.out"]);
    }
}
