//! Code generation: glue only. Every behaviour lives in
//! `::circuit_runtime::__private` (or `PATH::__private` under `crate = "PATH"`);
//! this file names it and passes the user's items to it. No checks happen here.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Expr, Lit};

use crate::model::{Arity, Field, FieldKind, Loop, LoopShape, Sketch};

/// Where the generated code finds the runtime's glue: `::circuit_runtime::__private`,
/// or `PATH::__private` under `crate = "PATH"`.
fn private(krate: Option<&syn::Path>) -> TokenStream {
    match krate {
        Some(path) => quote!(#path::__private),
        None => quote!(::circuit_runtime::__private),
    }
}

/// A stand-in `impl Sketch` for a sketch whose attribute has errors, so that
/// its loop and its `App::sketch` call do not add errors of their own.
pub fn dummy_sketch(ident: &syn::Ident, krate: Option<&syn::Path>) -> TokenStream {
    let private = private(krate);
    quote! {
        const _: () = {
            use #private as __circuit;

            impl __circuit::Sketch for #ident {
                type Role = __circuit::Serving;
                const NAME: &'static str = "";
                const ABOUT: &'static str = "";

                fn from_settings(_: &mut __circuit::Values) -> Self {
                    ::core::unreachable!("a sketch with a compile error never runs")
                }

                fn begin(&mut self) -> __circuit::Result<()> {
                    ::core::result::Result::Ok(())
                }
            }

            impl __circuit::Reactive for #ident {
                const LOOP: __circuit::Loop = __circuit::Loop {
                    waits: false,
                    takes: __circuit::MessageType::ANY_TEXT,
                };

                async fn react(&mut self, _: &str, _: &__circuit::Payload) -> __circuit::Ack {
                    ::core::unreachable!("a sketch with a compile error never runs")
                }
            }
        };
    }
}

/// `impl Sketch` and `impl Reactive` / `impl Timed` for a sketch struct.
pub fn sketch(sketch: &Sketch) -> TokenStream {
    let item = &sketch.item;
    let (role, role_impl) = match &sketch.args.every {
        None => (quote!(Serving), server_impl(sketch)),
        Some(every) => (quote!(Ticking), timer_impl(sketch, every)),
    };
    let sketch_impl = sketch_impl(sketch, &role);
    let link_settings = link_settings(sketch);
    let private = private(sketch.args.krate.as_ref());
    quote! {
        #item

        const _: () = {
            use #private::{self as __circuit, Omitted as _};

            #sketch_impl
            #role_impl
            #link_settings
        };
    }
}

/// `impl Sketch`: the name, the settings table, construction from parsed
/// flags, `setup` and the links. Only what differs from the trait's defaults
/// is written out.
fn sketch_impl(sketch: &Sketch, role: &TokenStream) -> TokenStream {
    let ident = &sketch.item.ident;
    let name = sketch
        .args
        .name
        .as_ref()
        .map_or_else(|| ident.to_string().to_lowercase(), syn::LitStr::value);
    let about = &sketch.about;
    // A server's own port, or a timer's server's: both are the default of `-p`.
    let port = sketch
        .args
        .port
        .as_ref()
        .or(sketch.args.to_port.as_ref())
        .map(|port| {
            let port = &port.value;
            quote!(const PORT: u16 = #port;)
        });
    let seeded = sketch
        .fields
        .iter()
        .any(|field| matches!(field.kind, FieldKind::Rng))
        .then(|| {
            quote!(
                const SEEDED: bool = true;
            )
        });
    let entries: Vec<TokenStream> = sketch.fields.iter().filter_map(setting_entry).collect();
    let settings = (!entries.is_empty())
        .then(|| quote!(const SETTINGS: &'static [__circuit::Setting] = &[#(#entries),*];));
    let inits = sketch
        .fields
        .iter()
        .scan(0u64, |rngs, field| Some(field_init(field, rngs)));
    let links: Vec<&syn::Ident> = sketch
        .fields
        .iter()
        .filter(|field| field.is_link)
        .map(|field| &field.ident)
        .collect();
    // Each link field by its setting's id, which names its lane in a recording.
    let names: Vec<String> = links.iter().map(|ident| ident.to_string()).collect();
    let links = (!links.is_empty()).then(|| {
        quote! {
            const LINKED: bool = true;

            fn links(&self) -> ::std::vec::Vec<&dyn __circuit::Outbound> {
                __circuit::gather(&[#((#names, &self.#links)),*])
            }

            fn links_of(&self, field: &str) -> ::std::vec::Vec<&dyn __circuit::Outbound> {
                match field {
                    #(#names => __circuit::gather(&[(#names, &self.#links)]),)*
                    _ => ::std::vec::Vec::new(),
                }
            }
        }
    });
    // Spanned on the struct's name, so that a missing `setup` or loop is reported there.
    let setup = quote_spanned!(ident.span()=> Self::setup(self));
    quote! {
        impl __circuit::Sketch for #ident {
            type Role = __circuit::#role;
            const NAME: &'static str = #name;
            const ABOUT: &'static str = #about;
            #port
            #seeded
            #settings

            fn from_settings(values: &mut __circuit::Values) -> Self {
                Self { #(#inits),* }
            }

            fn begin(&mut self) -> __circuit::Result<()> {
                __circuit::setup_outcome(#setup)
            }
            #links
        }
    }
}

/// `impl Reactive` for a sketch that serves: the facts and the glue that
/// `#[reactive]` made beside the loop.
fn server_impl(sketch: &Sketch) -> TokenStream {
    let ident = &sketch.item.ident;
    // Spanned on the struct's name, so that a missing loop is reported there, once.
    let call = quote_spanned!(ident.span()=> Self::__circuit_loop(self, channel, message).await);
    quote! {
        impl __circuit::Reactive for #ident {
            const LOOP: __circuit::Loop = Self::__CIRCUIT_LOOP;

            async fn react(&mut self, channel: &str, message: &__circuit::Payload) -> __circuit::Ack {
                #call
            }
        }
    }
}

/// `impl Timed` for a timer sketch ticking every `every`: the facts and the
/// glue that `#[reactive]` made beside the loop.
fn timer_impl(sketch: &Sketch, every: &syn::Ident) -> TokenStream {
    let ident = &sketch.item.ident;
    let channel = sketch
        .args
        .channel
        .as_ref()
        .map_or_else(|| "/".to_owned(), syn::LitStr::value);
    // Only sketches that say how many ticks they send override `total`.
    let total = sketch.args.count.as_ref().map(|count| {
        // Spanned on the field's name, where a wrong type is reported.
        let total = quote_spanned!(count.span()=> __circuit::total(&self.#count));
        quote! {
            fn total(&self) -> ::core::option::Option<u64> {
                #total
            }
        }
    });
    let call = quote_spanned!(ident.span()=> Self::__circuit_tick(self, tick).await);
    quote! {
        impl __circuit::Timed for #ident {
            const CHANNEL: &'static str = #channel;
            const SENDS: __circuit::MessageType = Self::__CIRCUIT_SENDS;

            fn period(&self) -> ::core::time::Duration {
                __circuit::period(&self.#every)
            }
            #total
            async fn tick(&mut self, tick: u64) -> ::core::option::Option<::std::string::String> {
                #call
            }
        }
    }
}

/// `Self::FAN` for a link field `fan`: the typed key that wires it in code
/// (`Circuit::link`), so that a link to a loop of another type does not compile.
fn link_settings(sketch: &Sketch) -> Option<TokenStream> {
    let vis = &sketch.item.vis;
    let consts: Vec<TokenStream> = sketch
        .fields
        .iter()
        .filter(|field| field.is_link && matches!(field.kind, FieldKind::Setting { .. }))
        .map(|field| {
            let id = field.ident.to_string();
            let key = syn::Ident::new(
                &id.trim_start_matches("r#").to_uppercase(),
                field.ident.span(),
            );
            let ty = &field.value_ty;
            let doc = format!("The link setting `{id}`, for wiring a circuit in code.");
            quote! {
                #[doc = #doc]
                #vis const #key: __circuit::LinkSetting<Self, <#ty as __circuit::LinkValue>::Sends> =
                    __circuit::LinkSetting::new(#id);
            }
        })
        .collect();
    let ident = &sketch.item.ident;
    (!consts.is_empty()).then(|| {
        quote! {
            impl #ident {
                #(#consts)*
            }
        }
    })
}

/// The settings-table entry of a `#[setting]` field.
fn setting_entry(field: &Field) -> Option<TokenStream> {
    let FieldKind::Setting { default, short, .. } = &field.kind else {
        return None;
    };
    let id = field.ident.to_string();
    let long = id.replace('_', "-");
    let value_name = if field.is_link {
        "URL".to_owned()
    } else {
        long.to_uppercase()
    };
    let help = &field.doc;
    let short = match short {
        Some(letter) => quote!(::core::option::Option::Some(#letter)),
        None => quote!(::core::option::Option::None),
    };
    let default = match default {
        Some(expr) => {
            let shown = shown_default(expr);
            quote!(::core::option::Option::Some(#shown))
        }
        None => quote!(::core::option::Option::None),
    };
    let switch = field.is_switch;
    let repeats = field.arity == Arity::Many;
    let ty = &field.value_ty;
    let link = if field.is_link {
        quote!(::core::option::Option::Some(<#ty as __circuit::LinkValue>::SENDS))
    } else {
        quote!(::core::option::Option::None)
    };
    let parse = quote_spanned!(field.ty.span()=> __circuit::parse::<#ty>);
    Some(quote! {
        __circuit::Setting {
            id: #id,
            long: #long,
            short: #short,
            value_name: #value_name,
            help: #help,
            default: #default,
            switch: #switch,
            repeats: #repeats,
            link: #link,
            parse: #parse,
        }
    })
}

/// How a default reads in `--help`: a string's text, a list's items
/// separated by commas (as the flag takes them), or the expression as written.
fn shown_default(expr: &Expr) -> String {
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Str(text),
            ..
        }) => text.value(),
        Expr::Array(array) => array
            .elems
            .iter()
            .map(shown_default)
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_token_stream().to_string(),
    }
}

/// The initialiser of one field in `from_settings`.
fn field_init(field: &Field, rngs: &mut u64) -> TokenStream {
    let ident = &field.ident;
    let ty = &field.ty;
    match &field.kind {
        FieldKind::Setting { default, .. } => {
            let id = ident.to_string();
            let default = match default {
                Some(expr) => {
                    quote_spanned!(expr.span()=> <#ty as __circuit::FromDefault<_>>::from_default(#expr))
                }
                None => quote!(::core::default::Default::default()),
            };
            let take = match field.arity {
                Arity::One => quote!(setting),
                Arity::Many => quote!(setting_list),
                Arity::Maybe => quote!(setting_option),
            };
            quote!(#ident: __circuit::#take(values, #id, || #default))
        }
        FieldKind::Rng => {
            let index = *rngs;
            *rngs += 1;
            quote!(#ident: __circuit::rng(values, #index))
        }
        FieldKind::State => quote!(#ident: ::core::default::Default::default()),
    }
}

/// The method as written, plus what the sketch's `impl Reactive` /
/// `impl Timed` reads: the loop's facts in a `const` (`__CIRCUIT_LOOP`, what
/// a server loop takes and whether it waits; `__CIRCUIT_SENDS`, what a timer
/// sends) and the glue that calls it (`__circuit_loop`, `__circuit_tick`).
pub fn reactive(looped: &Loop) -> TokenStream {
    let item = &looped.item;
    let name = &item.sig.ident;
    let private = private(looped.krate.as_ref());
    // Named after the user's method, so that a second `#[reactive]` is reported there.
    let hidden_loop = syn::Ident::new("__circuit_loop", name.span());
    let hidden_tick = syn::Ident::new("__circuit_tick", name.span());
    let call_await = item.sig.asyncness.map(|_| quote!(.await));
    let waits = item.sig.asyncness.is_some();
    // The call of the user's method carries the span of its return type, so
    // that a return type that is no acknowledgement is reported there.
    let output = match &item.sig.output {
        syn::ReturnType::Default => name.span(),
        syn::ReturnType::Type(_, ty) => ty.span(),
    };
    let mut method = name.clone();
    method.set_span(output);
    // The glue is private to the user's `impl`, so rustdoc never shows it.
    let hidden = match &looped.shape {
        // A loop with a compile error stands in for either kind (and leaves
        // the facts to `Omitted`), so that the sketch adds no "has no loop"
        // of its own: one mistake, one error.
        _ if !looped.callable => quote! {
            async fn #hidden_loop(&mut self, _: &str, _: &#private::Payload) -> #private::Ack {
                ::core::unreachable!("a loop with a compile error never runs")
            }
            async fn #hidden_tick(&mut self, _: u64) -> ::core::option::Option<::std::string::String> {
                ::core::unreachable!("a loop with a compile error never runs")
            }
        },
        LoopShape::Server {
            message,
            takes_bytes,
        } => {
            let read = if *takes_bytes {
                quote!(bytes)
            } else {
                quote!(text)
            };
            let ack = quote_spanned!(output=> __circuit::ack(Self::#method(self, channel, message)#call_await));
            // Only a sketch's loop refuses: the check that the method is in
            // a sketch's `impl`, reported on its name.
            let refused = quote_spanned!(name.span()=> __circuit::refused::<Self>(refusal));
            let facts = syn::Ident::new("__CIRCUIT_LOOP", name.span());
            quote! {
                const #facts: #private::Loop = #private::Loop {
                    waits: #waits,
                    takes: #private::MessageType::of::<#message>(),
                };
                async fn #hidden_loop(&mut self, channel: &str, message: &#private::Payload) -> #private::Ack {
                    use #private as __circuit;
                    match __circuit::#read::<#message>(message) {
                        __circuit::Ok(message) => #ack,
                        __circuit::Err(refusal) => #refused,
                    }
                }
            }
        }
        LoopShape::Timer => {
            let tick =
                quote_spanned!(output=> __circuit::tick(Self::#method(self, tick)#call_await));
            // Read from the method's type rather than its return type as
            // written, which may be `Option<impl Display>`.
            let sent_by = if waits {
                quote!(sent_by_async)
            } else {
                quote!(sent_by)
            };
            let assert_sketch = quote_spanned!(name.span()=> __circuit::assert_sketch::<Self>(););
            let facts = syn::Ident::new("__CIRCUIT_SENDS", name.span());
            quote! {
                const #facts: #private::MessageType =
                    #private::#sent_by(&Self::#name);
                async fn #hidden_tick(&mut self, tick: u64) -> ::core::option::Option<::std::string::String> {
                    use #private as __circuit;
                    #assert_sketch
                    #tick
                }
            }
        }
    };
    quote! {
        #item
        #hidden
    }
}
