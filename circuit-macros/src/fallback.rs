//! What is emitted when a macro reports an error: the user's item as written
//! (less our helper attributes) and the errors, so that one mistake gives one
//! error instead of a cascade about a missing struct or method.

use proc_macro2::TokenStream;
use quote::ToTokens;

/// The item and the compile errors, side by side.
pub fn emit(item: impl ToTokens, error: syn::Error) -> TokenStream {
    let mut tokens = item.into_token_stream();
    tokens.extend(error.into_compile_error());
    tokens
}
