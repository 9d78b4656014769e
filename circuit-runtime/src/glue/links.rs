//! A sketch's links in generated code: every field that holds links (a
//! `Link`, a `Vec<Link>` for fan-out, an `Option<Link>`), gathered for the
//! runtime to configure at the start and drain at the end.

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
    /// Adds the links it holds to `out`.
    fn gather_into<'a>(&'a self, out: &mut Vec<&'a dyn Outbound>);
}

impl<M: 'static> LinkField for Link<M> {
    fn gather_into<'a>(&'a self, out: &mut Vec<&'a dyn Outbound>) {
        out.push(self);
    }
}

impl<M: 'static> LinkField for Vec<Link<M>> {
    fn gather_into<'a>(&'a self, out: &mut Vec<&'a dyn Outbound>) {
        out.extend(self.iter().map(|link| link as &dyn Outbound));
    }
}

impl<M: 'static> LinkField for Option<Link<M>> {
    fn gather_into<'a>(&'a self, out: &mut Vec<&'a dyn Outbound>) {
        out.extend(self.iter().map(|link| link as &dyn Outbound));
    }
}

/// Every link held by `fields`, in order.
pub fn gather<'a>(fields: &[&'a dyn LinkField]) -> Vec<&'a dyn Outbound> {
    let mut links = Vec::new();
    for field in fields {
        field.gather_into(&mut links);
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
        let links = gather(&[&one, &many, &none, &some]);
        let targets: Vec<&str> = links.iter().map(|link| link.target()).collect();
        assert_eq!(
            targets,
            ["ws://a:1/x", "ws://b:1/x", "ws://c:1/x", "ws://d:1/x"]
        );
    }
}
