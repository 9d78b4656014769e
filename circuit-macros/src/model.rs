//! Parsing: attribute arguments and items into a typed model that keeps the
//! user's syn nodes, so every later error can point at the user's own token.

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::{
    Attribute, Expr, Fields, FnArg, Ident, ItemFn, ItemStruct, LitChar, LitInt, LitStr, Type,
};

use crate::errors::Errors;

/// The keys `#[sketch(...)]` takes, listed in errors about unknown keys.
pub const SKETCH_KEYS: &str = "`name`, `port`, `every`, `count`, `channel`, `to_port`, `crate`";

/// The keys `#[setting(...)]` takes.
pub const SETTING_KEYS: &str = "`default`, `short`";

/// The arguments of `#[sketch(...)]`.
#[derive(Default)]
pub struct SketchArgs {
    /// `name = "…"`: the sketch's name.
    pub name: Option<LitStr>,
    /// `port = N`: the default port a server sketch serves on.
    pub port: Option<Keyed<LitInt>>,
    /// `every = field`: makes a timer sketch ticking every `field`.
    pub every: Option<Ident>,
    /// `count = field`: how many ticks a timer sketch sends (for its progress bar).
    pub count: Option<Ident>,
    /// `channel = "/path"`: where a timer sketch sends.
    pub channel: Option<LitStr>,
    /// `to_port = N`: the default port of the server a timer sketch sends to
    /// (a timer has no port of its own).
    pub to_port: Option<Keyed<LitInt>>,
    /// `crate = "path"`: where the runtime is, when not at `::circuit_runtime`.
    pub krate: Option<syn::Path>,
}

/// The value of a key, with the key as written: a key that is wrong where it
/// stands (`port` on a timer) is reported on the key itself.
pub struct Keyed<T> {
    /// The key, such as `port`.
    pub key: Ident,
    /// Its value.
    pub value: T,
}

/// A struct under `#[sketch]`.
pub struct Sketch {
    /// The struct as the user wrote it, minus `#[setting]` attributes.
    pub item: ItemStruct,
    /// The attribute's arguments.
    pub args: SketchArgs,
    /// The struct's doc comment.
    pub about: String,
    /// Its fields, in order.
    pub fields: Vec<Field>,
}

/// One field of a sketch.
pub struct Field {
    /// The field's name.
    pub ident: Ident,
    /// The field's type.
    pub ty: Type,
    /// The field's doc comment.
    pub doc: String,
    /// What the field is to the framework.
    pub kind: FieldKind,
    /// How many values it holds, from its type as written: one, a `Vec`, an `Option`.
    pub arity: Arity,
    /// The type of one value: `T` of `Vec<T>` or `Option<T>`, else the field's type.
    pub value_ty: Type,
    /// Whether its values are outbound `Link`s.
    pub is_link: bool,
    /// Whether the field is a `bool`: a setting that is a switch (`--verbose`).
    pub is_switch: bool,
}

/// How many values a field holds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    /// `T`: one value.
    One,
    /// `Vec<T>`: any number, from a repeated flag or a comma list.
    Many,
    /// `Option<T>`: none unless given.
    Maybe,
}

/// What a field is to the framework.
pub enum FieldKind {
    /// `#[setting(...)]`: a command-line flag.
    Setting {
        /// `default = EXPR`.
        default: Option<Expr>,
        /// `short = 'x'`.
        short: Option<LitChar>,
    },
    /// A field of type `Rng`: seeded by `--seed`.
    Rng,
    /// Plain state, starting from `Default::default()`.
    State,
}

/// A method under `#[reactive]`.
pub struct Loop {
    /// The method as the user wrote it.
    pub item: ItemFn,
    /// Its parameters after `self`: their types decide the kind of loop.
    pub shape: LoopShape,
    /// Whether the glue may call it; when not (an error was reported), the
    /// glue is a stub, so that the one error is not followed by others.
    pub callable: bool,
    /// `crate = "path"`: where the runtime is, when not at `::circuit_runtime`.
    pub krate: Option<syn::Path>,
}

/// The two loops a sketch can have.
pub enum LoopShape {
    /// `(&mut self, channel: &str, message: M)`: runs once per message.
    Server {
        /// The message type, parsed from each text frame.
        message: Box<Type>,
        /// Whether `M` takes bytes (`Payload`, `Vec<u8>`, `Bytes`) rather
        /// than being parsed from text.
        takes_bytes: bool,
    },
    /// `(&mut self, tick: u64)`: runs on every tick of a timer.
    Timer,
}

/// Reads the item under `#[sketch(args)]`. Returns `None` when it is not a
/// struct with named fields; every problem found is in `errors`.
pub fn sketch(args: SketchArgs, item: syn::Item, errors: &mut Errors) -> Option<Sketch> {
    let mut item = match item {
        syn::Item::Struct(item) => item,
        syn::Item::Enum(item) => {
            errors.push(
                item.enum_token,
                "`#[sketch]` goes on a struct with named fields, not on an enum",
            );
            return None;
        }
        syn::Item::Union(item) => {
            errors.push(
                item.union_token,
                "`#[sketch]` goes on a struct with named fields, not on a union",
            );
            return None;
        }
        other => {
            errors.push(other, "`#[sketch]` goes on a struct with named fields");
            return None;
        }
    };
    let about = doc(&item.attrs);
    let mut fields = Vec::new();
    match &mut item.fields {
        Fields::Named(named) => {
            for field in &mut named.named {
                let ident = field.ident.clone().expect("named fields have names");
                let kind = field_kind(field, errors);
                let (arity, value_ty) = arity(&field.ty);
                fields.push(Field {
                    ident,
                    ty: field.ty.clone(),
                    doc: doc(&field.attrs),
                    kind,
                    arity,
                    is_link: type_is(&value_ty, "Link"),
                    value_ty,
                    is_switch: type_is(&field.ty, "bool"),
                });
            }
        }
        Fields::Unnamed(unnamed) => errors.push(
            &unnamed,
            "`#[sketch]` needs named fields: settings are named after them; write `struct Name { field: Type }`",
        ),
        Fields::Unit => {}
    }
    Some(Sketch {
        item,
        args,
        about,
        fields,
    })
}

/// Parses the arguments of `#[sketch(...)]`, reporting unknown keys.
pub fn sketch_args(args: TokenStream, errors: &mut Errors) -> SketchArgs {
    let mut parsed = SketchArgs::default();
    let parser = syn::meta::parser(|meta| {
        let key = meta
            .path
            .get_ident()
            .map(Ident::to_string)
            .unwrap_or_default();
        match key.as_str() {
            "name" => {
                parsed.name = Some(value(&meta, &key, "a string, such as `name = \"iopin\"`")?)
            }
            "port" => {
                let what = "a number, such as `port = 8765`";
                parsed.port = Some(keyed(&meta, &key, what)?);
            }
            "to_port" => {
                let what =
                    "a number, the port of the server a timer sends to, such as `to_port = 8765`";
                parsed.to_port = Some(keyed(&meta, &key, what)?);
            }
            "every" => {
                let what = "the name of the field holding the period, such as `every = delay`";
                parsed.every = Some(value(&meta, &key, what)?);
            }
            "count" => {
                let what =
                    "the name of the field holding the number of ticks, such as `count = tacks`";
                parsed.count = Some(value(&meta, &key, what)?);
            }
            "channel" => {
                parsed.channel = Some(value(
                    &meta,
                    &key,
                    "a path, such as `channel = \"/datafeed\"`",
                )?);
            }
            "crate" => parsed.krate = Some(crate_path(&meta)?),
            _ => {
                return Err(meta.error(format_args!(
                    "unknown `#[sketch]` argument; expected one of {SKETCH_KEYS}"
                )))
            }
        }
        Ok(())
    });
    if let Err(err) = parser.parse2(args) {
        errors.add(err);
    }
    parsed
}

/// The value of `key = value`, or an error saying what `key` takes.
fn value<T: syn::parse::Parse>(
    meta: &syn::meta::ParseNestedMeta,
    key: &str,
    what: &str,
) -> syn::Result<T> {
    meta.value()?
        .parse()
        .map_err(|err| syn::Error::new(err.span(), format_args!("`{key}` takes {what}")))
}

/// The value of `key = value` with the key's ident, for errors on the key.
fn keyed<T: syn::parse::Parse>(
    meta: &syn::meta::ParseNestedMeta,
    key: &str,
    what: &str,
) -> syn::Result<Keyed<T>> {
    let ident = meta.path.require_ident()?.clone();
    Ok(Keyed {
        key: ident,
        value: value(meta, key, what)?,
    })
}

/// The value of `crate = "path"`: the path the runtime is reached by, for a
/// program that has it under another name (tokio's macros take the same key).
fn crate_path(meta: &syn::meta::ParseNestedMeta) -> syn::Result<syn::Path> {
    let what = "the runtime's path as a string, such as `crate = \"my_app::circuit\"`";
    let text: LitStr = value(meta, "crate", what)?;
    text.parse_with(syn::Path::parse_mod_style).map_err(|_| {
        syn::Error::new(
            text.span(),
            format_args!("`crate` takes {what}; {:?} is not a path", text.value()),
        )
    })
}

/// Parses the arguments of `#[reactive(...)]`: none, or the runtime's path.
fn reactive_args(args: TokenStream, errors: &mut Errors) -> Option<syn::Path> {
    if args.is_empty() {
        return None;
    }
    let mut krate = None;
    let mut bad_path = None;
    let parser = syn::meta::parser(|meta| {
        if !meta.path.is_ident("crate") {
            return Err(meta.error("not `crate`"));
        }
        let path = crate_path(&meta).inspect_err(|err| bad_path = Some(err.clone()))?;
        krate = Some(path);
        Ok(())
    });
    if parser.parse2(args.clone()).is_err() {
        errors.add(bad_path.unwrap_or_else(|| {
            syn::Error::new_spanned(
                args,
                "`#[reactive]` takes no arguments but the runtime's path, as `#[sketch]` does (`crate = \"…\"`); write `#[reactive]`",
            )
        }));
    }
    krate
}

/// Classifies a field and removes its `#[setting]` attribute.
fn field_kind(field: &mut syn::Field, errors: &mut Errors) -> FieldKind {
    let mut settings = field
        .attrs
        .iter()
        .filter(|attr| attr.path().is_ident("setting"));
    let Some(attr) = settings.next() else {
        return if type_is(&field.ty, "Rng") {
            FieldKind::Rng
        } else {
            FieldKind::State
        };
    };
    if let Some(again) = settings.next() {
        errors.push(again, "a field takes one `#[setting]`; merge the two");
    }
    let mut default = None;
    let mut short = None;
    if !matches!(attr.meta, syn::Meta::Path(_)) {
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("default") {
                default = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("short") {
                short = Some(meta.value()?.parse()?);
            } else {
                return Err(meta.error(format_args!(
                    "unknown `#[setting]` argument; expected one of {SETTING_KEYS}"
                )));
            }
            Ok(())
        });
        if let Err(err) = parsed {
            errors.add(err);
        }
    }
    let kind = FieldKind::Setting { default, short };
    field.attrs.retain(|attr| !attr.path().is_ident("setting"));
    kind
}

/// Parses a method under `#[reactive]`. Returns `None` when it is not a loop.
pub fn reactive(args: TokenStream, item: syn::Item, errors: &mut Errors) -> Option<Loop> {
    let krate = reactive_args(args, errors);
    let syn::Item::Fn(item) = item else {
        errors.push(
            item,
            "`#[reactive]` goes on the loop: a method of the sketch's `impl` block taking `&mut self`",
        );
        return None;
    };
    let mut inputs = item.sig.inputs.iter();
    let mut callable = true;
    match inputs.next() {
        Some(FnArg::Receiver(receiver))
            if receiver.reference.is_some() && receiver.mutability.is_some() => {}
        Some(FnArg::Receiver(receiver)) => {
            errors.push(receiver, "the loop changes the sketch: take `&mut self`");
            callable = false;
        }
        _ => {
            errors.push(
                &item.sig.ident,
                "`#[reactive]` goes on a method of a sketch's `impl` block; add `&mut self` as its first parameter",
            );
            return None;
        }
    }
    let rest: Vec<&syn::PatType> = inputs
        .filter_map(|input| match input {
            FnArg::Typed(typed) => Some(typed),
            FnArg::Receiver(_) => None,
        })
        .collect();
    let shape = match rest.as_slice() {
        [channel, message] => {
            if !is_str_ref(&channel.ty) {
                errors.push(
                    &channel.ty,
                    "the channel is the path the peer connected to, lent to the loop: write `channel: &str`",
                );
                callable = false;
            }
            LoopShape::Server {
                message: message.ty.clone(),
                takes_bytes: takes_bytes(&message.ty),
            }
        }
        [tick] => {
            if !type_is(&tick.ty, "u64") {
                errors.push(
                    &tick.ty,
                    "a loop with one parameter is a timer's and takes `tick: u64`; a loop that serves takes the channel first: `(&mut self, channel: &str, message: M)`",
                );
                callable = false;
            }
            LoopShape::Timer
        }
        _ => {
            errors.push(
                &item.sig.inputs,
                "a loop takes `(&mut self, channel: &str, message: M)`, or `(&mut self, tick: u64)` in a timer sketch",
            );
            callable = false;
            if rest.len() > 2 {
                LoopShape::Server {
                    message: Box::new(syn::parse_quote!(::std::string::String)),
                    takes_bytes: false,
                }
            } else {
                LoopShape::Timer
            }
        }
    };
    Some(Loop {
        item,
        shape,
        callable,
        krate,
    })
}

/// The doc comment of an item, lines joined with spaces and trimmed.
fn doc(attrs: &[Attribute]) -> String {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|attr| attr.path().is_ident("doc"))
        .filter_map(|attr| match &attr.meta {
            syn::Meta::NameValue(syn::MetaNameValue {
                value:
                    Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(text),
                        ..
                    }),
                ..
            }) => Some(text.value().trim().to_owned()),
            _ => None,
        })
        .collect();
    lines.join(" ").trim().to_owned()
}

/// Whether `ty` is a path whose last segment is `name`, such as `circuit_runtime::Link`.
fn type_is(ty: &Type, name: &str) -> bool {
    match ty {
        Type::Path(path) => {
            path.qself.is_none()
                && path
                    .path
                    .segments
                    .last()
                    .is_some_and(|last| last.ident == name)
        }
        _ => false,
    }
}

/// How many values a field of type `ty` holds, and the type of one.
fn arity(ty: &Type) -> (Arity, Type) {
    let Type::Path(path) = ty else {
        return (Arity::One, ty.clone());
    };
    let Some(last) = path.path.segments.last() else {
        return (Arity::One, ty.clone());
    };
    let arity = match last.ident.to_string().as_str() {
        "Vec" => Arity::Many,
        "Option" => Arity::Maybe,
        _ => return (Arity::One, ty.clone()),
    };
    match &last.arguments {
        syn::PathArguments::AngleBracketed(args) if args.args.len() == 1 => {
            match args.args.first() {
                Some(syn::GenericArgument::Type(inner)) => (arity, inner.clone()),
                _ => (Arity::One, ty.clone()),
            }
        }
        _ => (Arity::One, ty.clone()),
    }
}

/// Whether `ty` is `&str` (of any lifetime).
fn is_str_ref(ty: &Type) -> bool {
    matches!(ty, Type::Reference(reference) if reference.mutability.is_none() && type_is(&reference.elem, "str"))
}

/// Whether a loop's message type takes bytes: `Payload`, `Bytes` or `Vec<u8>`,
/// as written. Any other type is parsed from text.
fn takes_bytes(ty: &Type) -> bool {
    let Type::Path(path) = ty else {
        return false;
    };
    let Some(last) = path.path.segments.last() else {
        return false;
    };
    match last.ident.to_string().as_str() {
        "Payload" | "Bytes" => true,
        "Vec" => matches!(
            &last.arguments,
            syn::PathArguments::AngleBracketed(args)
                if args.args.len() == 1
                    && matches!(args.args.first(), Some(syn::GenericArgument::Type(inner)) if type_is(inner, "u8"))
        ),
        _ => false,
    }
}
