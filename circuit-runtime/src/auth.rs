//! Shared-secret tokens: which peers may connect, and how clients present theirs.

use std::fmt;
use std::sync::Arc;

use tokio_tungstenite::tungstenite::handshake::client::Request as ClientRequest;
use tokio_tungstenite::tungstenite::handshake::server::Request as Handshake;
use tokio_tungstenite::tungstenite::http::header::AUTHORIZATION;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// The environment variable that gives `--token` when the flag is absent.
pub const TOKEN_VAR: &str = "CIRCUIT_TOKEN";

/// A shared secret (`--token` or `CIRCUIT_TOKEN`): servers refuse peers
/// without it, and clients and links present it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(Arc<str>);

impl Token {
    /// A token with this secret text.
    pub fn new(secret: impl Into<String>) -> Self {
        Token(secret.into().into())
    }

    /// Whether a handshake carries this token, as `Authorization: Bearer TOKEN`
    /// or, for browsers that cannot set headers, as a `token=TOKEN` query parameter.
    pub fn admits(&self, request: &Handshake) -> bool {
        let bearer = request
            .headers()
            .get_all(AUTHORIZATION)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter_map(|value| value.strip_prefix("Bearer "));
        let query = request
            .uri()
            .query()
            .unwrap_or("")
            .split('&')
            .filter_map(|pair| pair.strip_prefix("token="));
        // Every candidate is compared in full, so timing says nothing about the secret.
        bearer.chain(query).fold(false, |found, offered| {
            found | same(offered.as_bytes(), self.0.as_bytes())
        })
    }

    /// Adds `Authorization: Bearer TOKEN` to a client's handshake.
    pub(crate) fn present(&self, request: &mut ClientRequest) -> Result<(), String> {
        let value = HeaderValue::from_str(&format!("Bearer {}", self.0))
            .map_err(|_| "the token must be printable ASCII".to_owned())?;
        request.headers_mut().insert(AUTHORIZATION, value);
        Ok(())
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(…)") // never print the secret
    }
}

/// Compares in time that depends only on the lengths, not on where the bytes differ.
fn same(offered: &[u8], secret: &[u8]) -> bool {
    let differences = offered
        .iter()
        .zip(secret)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    std::hint::black_box(differences) == 0 && offered.len() == secret.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handshake(uri: &str, authorization: Option<&str>) -> Handshake {
        let mut request = Handshake::builder().uri(uri);
        if let Some(value) = authorization {
            request = request.header(AUTHORIZATION, value);
        }
        request.body(()).unwrap()
    }

    #[test]
    fn a_token_is_taken_from_the_header_or_the_query() {
        let token = Token::new("s3cret");
        assert!(token.admits(&handshake("/pin", Some("Bearer s3cret"))));
        assert!(token.admits(&handshake("/pin?x=1&token=s3cret", None)));
        assert!(!token.admits(&handshake("/pin", None)));
        assert!(!token.admits(&handshake("/pin", Some("Bearer s3cre"))));
        assert!(!token.admits(&handshake("/pin", Some("Bearer s3cret2"))));
        assert!(!token.admits(&handshake("/pin?token=nope", Some("Basic s3cret"))));
    }

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        assert_eq!(format!("{:?}", Token::new("s3cret")), "Token(…)");
    }
}
