//! The placeholders of a command sketch's words: `{port}`, `{host}`,
//! `{port:NAME}`, `{url:NAME}` and `{url:NAME/PATH}`, read once when the
//! file is checked and filled in when the program starts (`{{` and `}}`
//! write a brace).

/// One word of a command (or an environment variable's value), as written:
/// text and placeholders, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Word(pub(crate) Vec<Piece>);

/// A part of a [`Word`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Piece {
    /// Text, as written (braces unescaped).
    Text(String),
    /// `{port}`: the port the circuit picked for this sketch.
    Port,
    /// `{host}`: the address this sketch should bind.
    Host,
    /// `{port:NAME}`: the port sketch NAME of the circuit listens on.
    PortOf(String),
    /// `{url:NAME}` or `{url:NAME/PATH}`: where sketch NAME listens, on a path.
    UrlOf {
        /// The sketch.
        sketch: String,
        /// The path, `/` unless written.
        path: String,
    },
}

/// What the placeholders of a sketch's words stand for when it starts.
pub(crate) trait Filling {
    /// Its own port (`{port}`).
    fn port(&self) -> u16;
    /// The address it binds (`{host}`).
    fn host(&self) -> &str;
    /// The port of sketch `sketch` (`{port:NAME}`).
    fn port_of(&self, sketch: &str) -> u16;
    /// The URL of sketch `sketch` on `path` (`{url:NAME/PATH}`).
    fn url_of(&self, sketch: &str, path: &str) -> String;
}

impl Word {
    /// Reads `text`'s placeholders.
    ///
    /// # Errors
    /// The first placeholder that is not one, or a brace left open.
    pub(crate) fn parse(text: &str) -> Result<Word, String> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(at) = rest.find(['{', '}']) {
            literal.push_str(&rest[..at]);
            let brace = &rest[at..];
            if brace.starts_with("{{") || brace.starts_with("}}") {
                literal.push_str(&brace[..1]);
                rest = &brace[2..];
                continue;
            }
            if brace.starts_with('}') {
                return Err(format!(
                    "{text:?} has a `}}` that closes nothing; write `}}}}` for a brace"
                ));
            }
            let Some(end) = brace.find('}') else {
                return Err(format!(
                    "{text:?} has a `{{` that is never closed; write `{{{{` for a brace"
                ));
            };
            if !literal.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut literal)));
            }
            pieces.push(Piece::parse(&brace[1..end])?);
            rest = &brace[end + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Word(pieces))
    }

    /// The word, its placeholders filled in by `filling`.
    pub(crate) fn fill(&self, filling: &dyn Filling) -> String {
        let mut word = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Text(text) => word.push_str(text),
                Piece::Port => word.push_str(&filling.port().to_string()),
                Piece::Host => word.push_str(filling.host()),
                Piece::PortOf(sketch) => word.push_str(&filling.port_of(sketch).to_string()),
                Piece::UrlOf { sketch, path } => word.push_str(&filling.url_of(sketch, path)),
            }
        }
        word
    }

    /// The word as text when it holds no placeholder.
    pub(crate) fn plain(&self) -> Option<String> {
        match self.0.as_slice() {
            [] => Some(String::new()),
            [Piece::Text(text)] => Some(text.clone()),
            _ => None,
        }
    }
}

impl Piece {
    /// The placeholder between the braces of `{inside}`.
    fn parse(inside: &str) -> Result<Piece, String> {
        const KNOWN: &str = "{port}, {host}, {port:NAME}, {url:NAME} or {url:NAME/PATH}";
        match inside.split_once(':') {
            None if inside == "port" => Ok(Piece::Port),
            None if inside == "host" => Ok(Piece::Host),
            Some(("port", sketch)) if !sketch.is_empty() && !sketch.contains('/') => {
                Ok(Piece::PortOf(sketch.to_owned()))
            }
            Some(("url", named)) if !named.is_empty() && !named.starts_with('/') => {
                Ok(match named.split_once('/') {
                    Some((sketch, path)) => Piece::UrlOf {
                        sketch: sketch.to_owned(),
                        path: format!("/{path}"),
                    },
                    None => Piece::UrlOf {
                        sketch: named.to_owned(),
                        path: "/".to_owned(),
                    },
                })
            }
            _ => Err(format!(
                "`{{{inside}}}` is no placeholder: a command sketch's words take {KNOWN} (and `{{{{` for a brace)"
            )),
        }
    }

    /// The sketch of the circuit it names, if it names one.
    pub(crate) fn names(&self) -> Option<&str> {
        match self {
            Piece::PortOf(sketch) | Piece::UrlOf { sketch, .. } => Some(sketch),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Here;

    impl Filling for Here {
        fn port(&self) -> u16 {
            4000
        }
        fn host(&self) -> &str {
            "127.0.0.1"
        }
        fn port_of(&self, _: &str) -> u16 {
            4001
        }
        fn url_of(&self, sketch: &str, path: &str) -> String {
            format!("ws://{sketch}:4001{path}")
        }
    }

    #[test]
    fn placeholders_are_filled_and_braces_escaped() {
        let word = Word::parse("--to={url:buzzer/pin}&p={port}@{host}:{port:fan} {{x}}").unwrap();
        assert_eq!(
            word.fill(&Here),
            "--to=ws://buzzer:4001/pin&p=4000@127.0.0.1:4001 {x}"
        );
        assert_eq!(
            Word::parse("{url:fan}").unwrap().fill(&Here),
            "ws://fan:4001/"
        );
        assert_eq!(
            Word::parse("pin.py").unwrap().plain().as_deref(),
            Some("pin.py")
        );
        assert_eq!(Word::parse("{port}").unwrap().plain(), None);
    }

    #[test]
    fn a_wrong_placeholder_says_which_there_are() {
        let said = Word::parse("{prot}").unwrap_err();
        assert!(said.starts_with("`{prot}` is no placeholder"), "{said}");
        assert!(Word::parse("{url:}").is_err());
        assert!(Word::parse("{port:a/b}").is_err());
        assert!(Word::parse("a{port").unwrap_err().contains("never closed"));
        assert!(Word::parse("a}").unwrap_err().contains("closes nothing"));
    }
}
