//! Errors collected while reading and checking an attribute: every broken
//! rule is reported at once, each on the token the user must change.

use std::fmt::Display;

use quote::ToTokens;

/// Errors collected so far: later checks still run after one fails.
#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    /// Records `message` at the tokens of `at`.
    pub fn push(&mut self, at: impl ToTokens, message: impl Display) {
        self.add(syn::Error::new_spanned(at, message));
    }

    /// Records an error built elsewhere.
    pub fn add(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(errors) => errors.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// All errors as one, or `Ok` when there were none.
    pub fn finish(self) -> Result<(), syn::Error> {
        self.0.map_or(Ok(()), Err)
    }
}
