//! `#[sketch]`: parse → check → generate, or the struct and its errors.

use proc_macro2::TokenStream;
use quote::quote;

use crate::check;
use crate::errors::Errors;
use crate::{codegen, fallback, model};

/// Expands `#[sketch(args)]` on `item`.
pub fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let parsed: syn::Item = match syn::parse2(item.clone()) {
        Ok(parsed) => parsed,
        Err(err) => return fallback::emit(item, err),
    };
    let mut errors = Errors::default();
    let args = model::sketch_args(args, &mut errors);
    let dummy = dummy_for(&parsed, args.krate.as_ref());
    let Some(sketch) = model::sketch(args, parsed, &mut errors) else {
        let err = errors.finish().expect_err("no model means an error");
        return fallback::emit(quote!(#item #dummy), err);
    };
    check::sketch(&sketch, &mut errors);
    match errors.finish() {
        Ok(()) => codegen::sketch(&sketch),
        Err(err) => {
            let item = &sketch.item;
            fallback::emit(quote!(#item #dummy), err)
        }
    }
}

/// The stand-in `impl Sketch` emitted beside errors, for items that can take one.
fn dummy_for(item: &syn::Item, krate: Option<&syn::Path>) -> Option<TokenStream> {
    let (ident, generics) = match item {
        syn::Item::Struct(item) => (&item.ident, &item.generics),
        syn::Item::Enum(item) => (&item.ident, &item.generics),
        _ => return None,
    };
    generics
        .params
        .is_empty()
        .then(|| codegen::dummy_sketch(ident, krate))
}
