//! `#[sketch]`: parse → check → generate, or the struct and its errors.

use proc_macro2::TokenStream;

use crate::check::{self, Errors};
use crate::{codegen, fallback, model};

/// Expands `#[sketch(args)]` on `item`.
pub fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let parsed: syn::Item = match syn::parse2(item.clone()) {
        Ok(parsed) => parsed,
        Err(err) => return fallback::emit(item, err),
    };
    let mut errors = Errors::default();
    let Some(sketch) = model::sketch(args, parsed, &mut errors) else {
        let err = errors.finish().expect_err("no model means an error");
        return fallback::emit(item, err);
    };
    check::sketch(&sketch, &mut errors);
    match errors.finish() {
        Ok(()) => codegen::sketch(&sketch),
        Err(err) => fallback::emit(&sketch.item, err),
    }
}
