//! `#[reactive]`: parse → generate, or the method and its errors.

use proc_macro2::TokenStream;

use crate::errors::Errors;
use crate::{codegen, fallback, model};

/// Expands `#[reactive(args)]` on `item`.
pub fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let parsed: syn::Item = match syn::parse2(item.clone()) {
        Ok(parsed) => parsed,
        Err(err) => return fallback::emit(item, err),
    };
    let mut errors = Errors::default();
    let looped = model::reactive(args, parsed, &mut errors);
    match (looped, errors.finish()) {
        (Some(looped), Ok(())) => codegen::reactive(&looped),
        // The glue still comes out (a stub where the loop is unusable), so the
        // sketch does not also report a missing loop.
        (Some(looped), Err(err)) => fallback::emit(codegen::reactive(&looped), err),
        (None, Err(err)) => fallback::emit(item, err),
        (None, Ok(())) => unreachable!("no loop without an error"),
    }
}
