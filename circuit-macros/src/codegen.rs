//! Code generation: glue only. Every behaviour lives in
//! `::circuit_runtime::__private`; this file names it and passes the user's
//! items to it. No checks happen here.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Expr, Lit};

use crate::model::{Field, FieldKind, Loop, LoopShape, Sketch};

/// A stand-in `impl Sketch` for a sketch whose attribute has errors, so that
/// its loop and its `App::sketch` call do not add errors of their own.
pub fn dummy_sketch(ident: &syn::Ident) -> TokenStream {
    quote! {
        const _: () = {
            use ::circuit_runtime::__private as __circuit;

            impl __circuit::Sketch for #ident {
                const NAME: &'static str = "";
                const ABOUT: &'static str = "";
                const ROLE: __circuit::Role = __circuit::Role::Server;
                const PORT: u16 = 0;
                const SEEDED: bool = false;
                const SETTINGS: &'static [__circuit::Setting] = &[];

                fn from_settings(_: &mut __circuit::ArgMatches) -> Self {
                    ::core::unreachable!("a sketch with a compile error never runs")
                }

                fn begin(&mut self) -> __circuit::Result<()> {
                    ::core::result::Result::Ok(())
                }

                fn links(&self) -> ::std::vec::Vec<&__circuit::Link> {
                    ::std::vec::Vec::new()
                }

                fn run(
                    self,
                    _: &__circuit::Options,
                    _: __circuit::Shutdown,
                ) -> impl ::core::future::Future<Output = __circuit::Result<()>> + ::core::marker::Send + '_ {
                    ::core::future::pending()
                }
            }
        };
    }
}

/// `impl Sketch` and `impl Reactive` / `impl Timed` for a sketch struct.
pub fn sketch(sketch: &Sketch) -> TokenStream {
    let item = &sketch.item;
    let ident = &item.ident;
    let name = sketch
        .args
        .name
        .as_ref()
        .map_or_else(|| ident.to_string().to_lowercase(), syn::LitStr::value);
    let about = &sketch.about;
    let port = match &sketch.args.port {
        Some(port) => port.to_token_stream(),
        None => quote!(__circuit::DEFAULT_PORT),
    };
    let seeded = sketch
        .fields
        .iter()
        .any(|field| matches!(field.kind, FieldKind::Rng));
    let settings = sketch.fields.iter().filter_map(setting_entry);
    let inits = sketch
        .fields
        .iter()
        .scan(0u64, |rngs, field| Some(field_init(field, rngs)));
    let links = sketch
        .fields
        .iter()
        .filter(|field| field.is_link)
        .map(|field| &field.ident);
    // Spanned on the struct's name, so that a missing loop is reported there.
    let call_loop = quote_spanned!(ident.span()=> Self::__circuit_loop);
    let (role, run, role_impl) = match &sketch.args.every {
        None => (
            quote!(Server),
            quote!(__circuit::serve(self, options, shutdown)),
            quote! {
                impl __circuit::Reactive for #ident {
                    const WAITS: bool = {
                        use __circuit::NoLoopWaits as _;
                        __circuit::waits::<Self, _>(&Self::__circuit_loop)
                    };
                    fn react<'a>(
                        &'a mut self,
                        channel: &'a str,
                        frame: __circuit::Frame<'a>,
                    ) -> impl ::core::future::Future<Output = __circuit::Outcome> + ::core::marker::Send + 'a {
                        use __circuit::NoServerLoop as _;
                        __circuit::react(#call_loop(self, channel, frame))
                    }
                }
            },
        ),
        Some(every) => {
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
            (
                quote!(Timer),
                quote!(__circuit::run_timer(self, options, shutdown)),
                quote! {
                    impl __circuit::Timed for #ident {
                        const CHANNEL: &'static str = #channel;
                        fn period(&self) -> ::core::time::Duration {
                            __circuit::period(&self.#every)
                        }
                        #total
                        fn tick(
                            &mut self,
                            tick: u64,
                        ) -> impl ::core::future::Future<Output = ::core::option::Option<::std::string::String>> + ::core::marker::Send + '_ {
                            use __circuit::NoTimerLoop as _;
                            #call_loop(self, tick)
                        }
                    }
                },
            )
        }
    };
    quote! {
        #item

        const _: () = {
            use ::circuit_runtime::__private as __circuit;

            impl __circuit::Sketch for #ident {
                const NAME: &'static str = #name;
                const ABOUT: &'static str = #about;
                const ROLE: __circuit::Role = __circuit::Role::#role;
                const PORT: u16 = #port;
                const SEEDED: bool = #seeded;
                const SETTINGS: &'static [__circuit::Setting] = &[#(#settings),*];

                fn from_settings(matches: &mut __circuit::ArgMatches) -> Self {
                    Self { #(#inits),* }
                }

                fn begin(&mut self) -> __circuit::Result<()> {
                    use __circuit::NoSetup as _;
                    __circuit::setup_outcome(Self::setup(self))
                }

                fn links(&self) -> ::std::vec::Vec<&__circuit::Link> {
                    ::std::vec::Vec::from([#(&self.#links),*])
                }

                fn run(
                    self,
                    options: &__circuit::Options,
                    shutdown: __circuit::Shutdown,
                ) -> impl ::core::future::Future<Output = __circuit::Result<()>> + ::core::marker::Send + '_ {
                    #run
                }
            }

            #role_impl
        };
    }
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
    let ty = &field.ty;
    let parser = quote_spanned!(ty.span()=> __circuit::value_parser::<#ty>);
    Some(quote! {
        __circuit::Setting {
            id: #id,
            long: #long,
            short: #short,
            value_name: #value_name,
            help: #help,
            default: #default,
            parser: #parser,
        }
    })
}

/// How a default reads in `--help`: a string's text, or the expression as written.
fn shown_default(expr: &Expr) -> String {
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Str(text),
            ..
        }) => text.value(),
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
            quote!(#ident: __circuit::setting::<#ty>(matches, #id, || #default))
        }
        FieldKind::Rng => {
            let index = *rngs;
            *rngs += 1;
            quote!(#ident: __circuit::rng(matches, #index))
        }
        FieldKind::State => quote!(#ident: ::core::default::Default::default()),
    }
}

/// The method as written, plus the hidden `__circuit_loop` that the sketch's
/// `impl Reactive` / `impl Timed` calls.
pub fn reactive(looped: &Loop) -> TokenStream {
    let item = &looped.item;
    let name = &item.sig.ident;
    // Named after the user's method, so that a second `#[reactive]` is reported there.
    let hidden_name = syn::Ident::new("__circuit_loop", name.span());
    let assert_sketch = quote_spanned!(name.span()=> __circuit::assert_sketch::<Self>(););
    let call_await = item.sig.asyncness.map(|_| quote!(.await));
    // The call of the user's method carries the span of its return type, so
    // that a return type that is no acknowledgement is reported there.
    let output = match &item.sig.output {
        syn::ReturnType::Default => name.span(),
        syn::ReturnType::Type(_, ty) => ty.span(),
    };
    let mut method = name.clone();
    method.set_span(output);
    let hidden = match &looped.shape {
        _ if !looped.callable => {
            let (inputs, output) = match &looped.shape {
                LoopShape::Server { .. } => (
                    quote!(_channel: &str, _frame: ::circuit_runtime::__private::Frame<'_>),
                    quote!(::circuit_runtime::__private::Outcome),
                ),
                LoopShape::Timer => (
                    quote!(_tick: u64),
                    quote!(::core::option::Option<::std::string::String>),
                ),
            };
            quote! {
                #[doc(hidden)]
                async fn #hidden_name(&mut self, #inputs) -> #output {
                    ::core::unreachable!("a loop with a compile error never runs")
                }
            }
        }
        LoopShape::Server { message } => {
            let ack = quote_spanned!(output=> __circuit::ack(Self::#method(self, channel, message)#call_await));
            let answer = quote! {
                match (&__circuit::Probe::<#message>::new()).parse(frame) {
                    ::core::result::Result::Ok(message) => #ack,
                    ::core::result::Result::Err(refusal) => refusal,
                }
            };
            // A loop that never waits gets glue that never waits either: its
            // outcome, marked `Now`, which lets the runtime run it at once.
            let asyncness = item.sig.asyncness;
            let (output, answer) = match asyncness {
                Some(_) => (quote!(::circuit_runtime::__private::Outcome), answer),
                None => (
                    quote!(::circuit_runtime::__private::Now),
                    quote!(__circuit::Now(#answer)),
                ),
            };
            quote! {
                #[doc(hidden)]
                #asyncness fn #hidden_name(
                    &mut self,
                    channel: &str,
                    frame: ::circuit_runtime::__private::Frame<'_>,
                ) -> #output {
                    use ::circuit_runtime::__private::{self as __circuit, ParseBytes as _, ParseText as _};
                    #assert_sketch
                    #answer
                }
            }
        }
        LoopShape::Timer => {
            let tick =
                quote_spanned!(output=> __circuit::tick(Self::#method(self, tick)#call_await));
            quote! {
                #[doc(hidden)]
                async fn #hidden_name(&mut self, tick: u64) -> ::core::option::Option<::std::string::String> {
                    use ::circuit_runtime::__private as __circuit;
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
