//! Shared-secret tokens on the wire: which peers may connect, and how
//! clients present theirs.

use std::sync::OnceLock;

use tokio_tungstenite::tungstenite::handshake::client::Request as ClientRequest;
use tokio_tungstenite::tungstenite::handshake::server::Request as Handshake;
use tokio_tungstenite::tungstenite::http::header::AUTHORIZATION;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::base::options::Token;

/// Whether a token may go over plain `ws://` beyond loopback in this process.
static PLAINTEXT_TOKEN: OnceLock<bool> = OnceLock::new();

/// Allows (or not) a token over plain `ws://` beyond loopback, for this
/// process (`--allow-plaintext-token`).
pub fn allow_plaintext_token(allowed: bool) {
    let _ = PLAINTEXT_TOKEN.set(allowed);
}

/// Whether a token may go over plain `ws://` beyond loopback.
pub(crate) fn plaintext_token_allowed() -> bool {
    PLAINTEXT_TOKEN.get().copied().unwrap_or(false)
}

/// Whether a handshake carries `token`, as `Authorization: Bearer TOKEN` or,
/// for browsers that cannot set headers, as a `token=TOKEN` query parameter.
pub(crate) fn admits(token: &Token, request: &Handshake) -> bool {
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
        found | same(offered.as_bytes(), token.secret().as_bytes())
    })
}

/// Adds `Authorization: Bearer TOKEN` to a client's handshake.
pub(crate) fn present(token: &Token, request: &mut ClientRequest) -> Result<(), String> {
    let value = HeaderValue::from_str(&format!("Bearer {}", token.secret()))
        .map_err(|_| "the token must be printable ASCII".to_owned())?;
    request.headers_mut().insert(AUTHORIZATION, value);
    Ok(())
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
        assert!(admits(&token, &handshake("/pin", Some("Bearer s3cret"))));
        assert!(admits(&token, &handshake("/pin?x=1&token=s3cret", None)));
        assert!(!admits(&token, &handshake("/pin", None)));
        assert!(!admits(&token, &handshake("/pin", Some("Bearer s3cre"))));
        assert!(!admits(&token, &handshake("/pin", Some("Bearer s3cret2"))));
        assert!(!admits(
            &token,
            &handshake("/pin?token=nope", Some("Basic s3cret"))
        ));
    }
}
