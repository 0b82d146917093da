//! `#[derive(Encode, Decode)]`: [`model`] reads the type and its `#[oxbeam(...)]`
//! attributes; this module generates the two impls. Generated code calls only
//! `::oxbeam::__rt` (its `derive` module holds the runtime and every `unsafe`).

pub mod model;

use model::{
    inspect_atom, struct_display, Field, FieldDefault, Model, Shape, Variant, VariantKind,
};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::{DeriveInput, Ident, Lifetime, Member};

/// Which impl to generate.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Encode,
    Decode,
}

pub fn expand(input: TokenStream, which: Which) -> syn::Result<TokenStream> {
    let input: DeriveInput = syn::parse2(input)?;
    let model = model::analyze(&input)?;
    let codec = match which {
        Which::Encode => encode_impl(&model),
        Which::Decode => decode_impl(&model),
    };
    let record = type_record(&model);
    Ok(quote! {
        #codec
        const _: () = {
            static RECORD: ::oxbeam::__rt::TypeRecord = ::oxbeam::__rt::TypeRecord(#record);
            ::oxbeam::__rt::inventory::submit! {
                ::oxbeam::__rt::TypeRegistration(&RECORD)
            }
        };
    })
}

/// The metadata record of a derived type, for the Elixir side's `@type` (see
/// `docs/architecture.md`): `OXBEAM␟type␟Name␟kind␟spec␞`, kind `exception` or
/// `value`.
pub fn type_record(model: &Model) -> String {
    let kind = match &model.shape {
        Shape::Struct {
            exception: true, ..
        } => "exception",
        _ => "value",
    };
    let spec = type_spec(model).replace(['\x1d', '\x1e', '\x1f'], " ");
    format!("OXBEAM\x1ftype\x1f{}\x1f{kind}\x1f{spec}\x1e", model.ident)
}

/// The Elixir typespec of a derived type: the shape it encodes to.
pub fn type_spec(model: &Model) -> String {
    let generics: Vec<String> = model
        .generics
        .type_params()
        .map(|p| p.ident.to_string())
        .collect();
    let field_spec = |field: &Field| {
        let spec = crate::typespec::typespec(&field.ty, crate::typespec::Position::Return);
        // A type parameter is any term.
        generics.iter().fold(spec, |spec, name| {
            spec.replace(&format!("oxbeam_type({name})"), "term()")
        })
    };
    let kept = |fields: &[Field]| -> Vec<(String, String)> {
        fields
            .iter()
            .filter(|f| !f.skip)
            .map(|f| (f.name.clone(), field_spec(f)))
            .collect()
    };
    let atom_map = |fields: &[Field]| {
        let entries: Vec<String> = kept(fields)
            .into_iter()
            .map(|(name, spec)| format!("{}: {spec}", map_key(&name)))
            .collect();
        format!("%{{{}}}", entries.join(", "))
    };
    let tuple = |prefix: Option<String>, fields: &[Field]| {
        let mut parts: Vec<String> = prefix.into_iter().collect();
        parts.extend(kept(fields).into_iter().map(|(_, spec)| spec));
        format!("{{{}}}", parts.join(", "))
    };
    match &model.shape {
        Shape::Struct {
            module,
            exception,
            fields,
        } => {
            // Written as a map with `__struct__`, which needs no compiled struct module
            // (a `%Mod{}` type would make the stub module wait for it, or fail).
            let mut entries = vec![format!(
                "__struct__: {}",
                module.trim_start_matches("Elixir.")
            )];
            if *exception {
                entries.push("__exception__: true".into());
            }
            entries.extend(
                kept(fields)
                    .into_iter()
                    .map(|(name, spec)| format!("{}: {spec}", map_key(&name))),
            );
            format!("%{{{}}}", entries.join(", "))
        }
        Shape::Map {
            string_keys: false,
            fields,
        } => atom_map(fields),
        Shape::Map {
            string_keys: true,
            fields,
        } => {
            let mut values: Vec<String> = kept(fields).into_iter().map(|(_, spec)| spec).collect();
            values.dedup();
            format!("%{{optional(String.t()) => {}}}", values.join(" | "))
        }
        Shape::Tuple { fields } => tuple(None, fields),
        Shape::Record { tag, fields } => tuple(Some(inspect_atom(tag)), fields),
        Shape::Atoms { variants } | Shape::Tagged { variants } => variants
            .iter()
            .map(|v| match v.kind {
                VariantKind::Unit => inspect_atom(&v.name),
                VariantKind::Tuple => tuple(Some(inspect_atom(&v.name)), &v.fields),
                VariantKind::Named => {
                    format!("{{{}, {}}}", inspect_atom(&v.name), atom_map(&v.fields))
                }
            })
            .collect::<Vec<_>>()
            .join(" | "),
        Shape::Untagged { variants } => variants
            .iter()
            .map(|v| match v.kind {
                VariantKind::Unit => inspect_atom(&v.name),
                VariantKind::Tuple if kept(&v.fields).len() == 1 => kept(&v.fields).remove(0).1,
                VariantKind::Tuple => tuple(None, &v.fields),
                VariantKind::Named => atom_map(&v.fields),
            })
            .collect::<Vec<_>>()
            .join(" | "),
    }
}

/// The atoms a generated function uses, declared once each as load-time cells.
#[derive(Default)]
struct Atoms {
    names: Vec<String>,
}

impl Atoms {
    /// An expression giving the atom `name` (an `Atom`).
    fn get(&mut self, name: &str) -> TokenStream {
        let index = match self.names.iter().position(|n| n == name) {
            Some(index) => index,
            None => {
                self.names.push(name.to_string());
                self.names.len() - 1
            }
        };
        let cell = format_ident!("__OXBEAM_ATOM_{}", index);
        quote!(#cell.get())
    }

    /// The cells' declarations, registered for creation at load.
    fn declarations(&self) -> TokenStream {
        let cells = self.names.iter().enumerate().map(|(index, name)| {
            let cell = format_ident!("__OXBEAM_ATOM_{}", index);
            quote! {
                static #cell: ::oxbeam::__rt::AtomCell = ::oxbeam::__rt::AtomCell::new(#name);
                ::oxbeam::__rt::inventory::submit! {
                    ::oxbeam::__rt::AtomRegistration(&#cell)
                }
            }
        });
        quote!(#(#cells)*)
    }
}

/// The impl's generics: the type's own lifetime is the terms' lifetime when it has one,
/// else a fresh one; every type parameter gets the trait bound.
fn generics(model: &Model, which: Which) -> (TokenStream, TokenStream, TokenStream, Lifetime) {
    let (_, ty_generics, where_clause) = model.generics.split_for_impl();
    let own = model
        .generics
        .lifetimes()
        .next()
        .map(|l| l.lifetime.clone());
    let lifetime = own
        .clone()
        .unwrap_or_else(|| Lifetime::new("'__oxbeam", Span::call_site()));
    let mut params: Vec<TokenStream> = Vec::new();
    if own.is_none() {
        params.push(quote!(#lifetime));
    }
    params.extend(model.generics.params.iter().map(|p| quote!(#p)));
    let trait_path = match which {
        Which::Encode => quote!(::oxbeam::__rt::Encode<#lifetime>),
        Which::Decode => quote!(::oxbeam::__rt::Decode<#lifetime>),
    };
    let mut predicates: Vec<TokenStream> = where_clause
        .map(|w| w.predicates.iter().map(|p| quote!(#p)).collect())
        .unwrap_or_default();
    for param in model.generics.type_params() {
        let ident = &param.ident;
        predicates.push(quote!(#ident: #trait_path));
    }
    let impl_generics = quote!(<#(#params),*>);
    let where_clause = if predicates.is_empty() {
        quote!()
    } else {
        quote!(where #(#predicates),*)
    };
    (impl_generics, quote!(#ty_generics), where_clause, lifetime)
}

fn rust_name(model: &Model) -> String {
    model.ident.to_string()
}

// ---------------------------------------------------------------------------------
// Encode

fn encode_impl(model: &Model) -> TokenStream {
    let (impl_generics, ty_generics, where_clause, lt) = generics(model, Which::Encode);
    let ident = &model.ident;
    let mut atoms = Atoms::default();
    let body = match &model.shape {
        Shape::Struct {
            module,
            exception,
            fields,
        } => {
            let pattern = destructure(quote!(Self), fields, is_named(fields));
            let mut keys = vec![atom_term(&mut atoms, "__struct__")];
            let mut values = vec![atom_term(&mut atoms, module)];
            if *exception {
                keys.push(atom_term(&mut atoms, "__exception__"));
                values.push(atom_term(&mut atoms, "true"));
            }
            let (k, v) = map_entries(&mut atoms, fields, false);
            keys.extend(k);
            values.extend(v);
            quote! {
                let #pattern = self;
                ::oxbeam::__rt::derive::make_map(env, [#(#keys),*], [#(#values),*])
            }
        }
        Shape::Map {
            string_keys,
            fields,
        } => {
            let pattern = destructure(quote!(Self), fields, true);
            let (keys, values) = map_entries(&mut atoms, fields, *string_keys);
            quote! {
                let #pattern = self;
                ::oxbeam::__rt::derive::make_map(env, [#(#keys),*], [#(#values),*])
            }
        }
        Shape::Tuple { fields } => {
            let pattern = destructure(quote!(Self), fields, is_named(fields));
            let values = element_values(fields);
            quote! {
                let #pattern = self;
                ::oxbeam::__rt::derive::make_tuple(env, &[#(#values),*])
            }
        }
        Shape::Record { tag, fields } => {
            let pattern = destructure(quote!(Self), fields, is_named(fields));
            let tag = atom_term(&mut atoms, tag);
            let values = element_values(fields);
            quote! {
                let #pattern = self;
                ::oxbeam::__rt::derive::make_tuple(env, &[#tag, #(#values),*])
            }
        }
        Shape::Atoms { variants } | Shape::Tagged { variants } => {
            let arms = variants.iter().map(|v| encode_variant(&mut atoms, v, true));
            quote!(match self { #(#arms)* })
        }
        Shape::Untagged { variants } => {
            let arms = variants
                .iter()
                .map(|v| encode_variant(&mut atoms, v, false));
            quote!(match self { #(#arms)* })
        }
    };
    let declarations = atoms.declarations();
    // An exception type without generics also converts into `oxbeam::Error`, so `?`
    // and `Err(e.into())` raise it.
    let raise = match &model.shape {
        Shape::Struct {
            exception: true, ..
        } if model.generics.params.is_empty() => quote! {
            #[automatically_derived]
            impl ::oxbeam::__rt::Exception for #ident {}

            #[automatically_derived]
            impl ::std::convert::From<#ident> for ::oxbeam::Error {
                fn from(exception: #ident) -> ::oxbeam::Error {
                    ::oxbeam::Error::encoded(move |env| ::oxbeam::__rt::Encode::encode(exception, env))
                }
            }
        },
        _ => quote!(),
    };
    quote! {
        #[automatically_derived]
        impl #impl_generics ::oxbeam::__rt::Encode<#lt> for #ident #ty_generics #where_clause {
            #[inline]
            fn encode(self, env: ::oxbeam::__rt::Env<#lt>) -> ::oxbeam::__rt::Term<#lt> {
                #declarations
                #body
            }
        }
        #raise
    }
}

fn is_named(fields: &[Field]) -> bool {
    fields.iter().all(|f| matches!(f.member, Member::Named(_)))
}

fn binding(index: usize) -> Ident {
    format_ident!("__oxbeam_field_{}", index)
}

/// `Self { a: __f0, b: _ }` / `Self(__f0, _)`: binds every field that is encoded.
fn destructure(path: TokenStream, fields: &[Field], named: bool) -> TokenStream {
    if named {
        let parts = fields.iter().enumerate().map(|(i, f)| {
            let member = &f.member;
            if f.skip {
                quote!(#member: _)
            } else {
                let b = binding(i);
                quote!(#member: #b)
            }
        });
        quote!(#path { #(#parts),* })
    } else {
        let parts = fields.iter().enumerate().map(|(i, f)| {
            if f.skip {
                quote!(_)
            } else {
                let b = binding(i);
                quote!(#b)
            }
        });
        quote!(#path ( #(#parts),* ))
    }
}

fn atom_term(atoms: &mut Atoms, name: &str) -> TokenStream {
    let atom = atoms.get(name);
    quote!(#atom.to_term(env))
}

fn map_entries(
    atoms: &mut Atoms,
    fields: &[Field],
    string_keys: bool,
) -> (Vec<TokenStream>, Vec<TokenStream>) {
    let mut keys = Vec::new();
    let mut values = Vec::new();
    for (i, field) in fields.iter().enumerate().filter(|(_, f)| !f.skip) {
        let name = &field.name;
        keys.push(if string_keys {
            quote!(::oxbeam::__rt::Encode::encode(#name, env))
        } else {
            atom_term(atoms, name)
        });
        let b = binding(i);
        values.push(quote!(::oxbeam::__rt::Encode::encode(#b, env)));
    }
    (keys, values)
}

fn element_values(fields: &[Field]) -> Vec<TokenStream> {
    fields
        .iter()
        .enumerate()
        .filter(|(_, f)| !f.skip)
        .map(|(i, _)| {
            let b = binding(i);
            quote!(::oxbeam::__rt::Encode::encode(#b, env))
        })
        .collect()
}

fn encode_variant(atoms: &mut Atoms, variant: &Variant, tagged: bool) -> TokenStream {
    let ident = &variant.ident;
    let path = quote!(Self::#ident);
    match variant.kind {
        VariantKind::Unit => {
            let tag = atom_term(atoms, &variant.name);
            quote!(#path => #tag,)
        }
        VariantKind::Tuple => {
            let pattern = destructure(path, &variant.fields, false);
            let values = element_values(&variant.fields);
            let body = match (tagged, values.len()) {
                (true, _) => {
                    let tag = atom_term(atoms, &variant.name);
                    quote!(::oxbeam::__rt::derive::make_tuple(env, &[#tag, #(#values),*]))
                }
                (false, 1) => quote!(#(#values)*),
                (false, _) => quote!(::oxbeam::__rt::derive::make_tuple(env, &[#(#values),*])),
            };
            quote!(#pattern => { #body })
        }
        VariantKind::Named => {
            let pattern = destructure(path, &variant.fields, true);
            let (keys, values) = map_entries(atoms, &variant.fields, false);
            let map = quote!(::oxbeam::__rt::derive::make_map(env, [#(#keys),*], [#(#values),*]));
            let body = if tagged {
                let tag = atom_term(atoms, &variant.name);
                quote!(::oxbeam::__rt::derive::make_tuple(env, &[#tag, #map]))
            } else {
                map
            };
            quote!(#pattern => { #body })
        }
    }
}

// ---------------------------------------------------------------------------------
// Decode

/// Where a container's fields are read from.
enum Source<'s> {
    /// Values of a map under each field's key; `step` is the path prefix of a field
    /// (`field :y of %MyApp.Point{}`), `missing` what a missing key reports.
    Map {
        map: &'s Ident,
        string_keys: bool,
        place: String,
        missing: String,
    },
    /// Elements of a tuple, from `offset`; `place` names it in paths (None: the plain
    /// tuple path `element i of the tuple`).
    Elements {
        elements: &'s Ident,
        offset: usize,
        place: Option<String>,
    },
}

fn decode_impl(model: &Model) -> TokenStream {
    let (impl_generics, ty_generics, where_clause, lt) = generics(model, Which::Decode);
    let ident = &model.ident;
    let name = rust_name(model);
    let mut atoms = Atoms::default();
    let term = format_ident!("term");
    let body = match &model.shape {
        Shape::Struct { module, fields, .. } => {
            let display = struct_display(module);
            let expected = format!("a {display} struct ({name})");
            let struct_key = atoms.get("__struct__");
            let module_atom = atoms.get(module);
            let source = Source::Map {
                map: &term,
                string_keys: false,
                place: display.clone(),
                missing: format!("a {display} struct with the field {{key}} ({name})"),
            };
            let build = build(&mut atoms, quote!(Self), fields, is_named(fields), &source);
            quote! {
                match ::oxbeam::__rt::derive::map_get_atom(env, term, #struct_key) {
                    Some(module) if module.as_raw() == #module_atom.as_raw() => {}
                    _ => return Err(::oxbeam::__rt::derive::mismatch(term, #expected)),
                }
                Ok(#build)
            }
        }
        Shape::Map {
            string_keys,
            fields,
        } => {
            let expected = format!("a map ({name})");
            let source = Source::Map {
                map: &term,
                string_keys: *string_keys,
                place: "the map".into(),
                missing: format!("a map with the key {{key}} ({name})"),
            };
            let build = build(&mut atoms, quote!(Self), fields, true, &source);
            quote! {
                if !::oxbeam::__rt::derive::is_map(env, term) {
                    return Err(::oxbeam::__rt::derive::mismatch(term, #expected));
                }
                Ok(#build)
            }
        }
        Shape::Tuple { fields } => {
            let arity = fields.iter().filter(|f| !f.skip).count();
            let expected = format!("a tuple of {arity} elements ({name})");
            let elements = format_ident!("elements");
            let source = Source::Elements {
                elements: &elements,
                offset: 0,
                place: None,
            };
            let build = build(&mut atoms, quote!(Self), fields, is_named(fields), &source);
            quote! {
                let elements = match ::oxbeam::__rt::derive::tuple_elements(env, term) {
                    Some(elements) if elements.len() == #arity => elements,
                    _ => return Err(::oxbeam::__rt::derive::mismatch(term, #expected)),
                };
                Ok(#build)
            }
        }
        Shape::Record { tag, fields } => {
            let kept: Vec<&Field> = fields.iter().filter(|f| !f.skip).collect();
            let arity = kept.len() + 1;
            let shown: Vec<String> = kept
                .iter()
                .map(|f| match &f.member {
                    Member::Named(_) => f.name.clone(),
                    Member::Unnamed(_) => "_".into(),
                })
                .collect();
            let tag_text = inspect_atom(tag);
            let expected = if shown.is_empty() {
                format!("a {tag_text} record {{{tag_text}}} ({name})")
            } else {
                format!(
                    "a {tag_text} record {{{tag_text}, {}}} ({name})",
                    shown.join(", ")
                )
            };
            let elements = format_ident!("elements");
            let source = Source::Elements {
                elements: &elements,
                offset: 1,
                place: Some(format!("the {tag_text} record")),
            };
            let tag_atom = atoms.get(tag);
            let build = build(&mut atoms, quote!(Self), fields, is_named(fields), &source);
            quote! {
                let elements = match ::oxbeam::__rt::derive::tuple_elements(env, term) {
                    Some(elements)
                        if elements.len() == #arity
                            && elements[0].as_raw() == #tag_atom.as_raw() =>
                    {
                        elements
                    }
                    _ => return Err(::oxbeam::__rt::derive::mismatch(term, #expected)),
                };
                Ok(#build)
            }
        }
        Shape::Atoms { variants } | Shape::Tagged { variants } => {
            decode_tagged(&mut atoms, &name, variants)
        }
        Shape::Untagged { variants } => decode_untagged(&mut atoms, &name, variants),
    };
    let declarations = atoms.declarations();
    quote! {
        #[automatically_derived]
        impl #impl_generics ::oxbeam::__rt::Decode<#lt> for #ident #ty_generics #where_clause {
            fn decode(
                term: ::oxbeam::__rt::Term<#lt>,
                env: ::oxbeam::__rt::Env<#lt>,
            ) -> ::std::result::Result<Self, ::oxbeam::__rt::DecodeError<#lt>> {
                #[allow(unused_imports)]
                use ::oxbeam::__rt::derive::{OptionMissing as _, RequiredMissing as _};
                #declarations
                #body
            }
        }
    }
}

/// `Path { a: ..., b: ... }` / `Path(..., ...)` reading each field from `source`; the
/// expression uses `?` and `return Err(..)`.
fn build(
    atoms: &mut Atoms,
    path: TokenStream,
    fields: &[Field],
    named: bool,
    source: &Source<'_>,
) -> TokenStream {
    let mut position = 0;
    let values: Vec<TokenStream> = fields
        .iter()
        .map(|field| {
            let value = if field.skip {
                default_value(field).unwrap_or_else(|| quote!(::std::default::Default::default()))
            } else {
                let value = field_value(atoms, field, position, source);
                position += 1;
                value
            };
            match &field.member {
                Member::Named(ident) if named => quote!(#ident: #value),
                _ => value,
            }
        })
        .collect();
    if named {
        quote!(#path { #(#values),* })
    } else {
        quote!(#path ( #(#values),* ))
    }
}

fn default_value(field: &Field) -> Option<TokenStream> {
    match &field.default {
        Some(FieldDefault::Trait) => Some(quote!(::std::default::Default::default())),
        Some(FieldDefault::Function(path)) => Some(quote!(#path())),
        None => None,
    }
}

fn field_value(
    atoms: &mut Atoms,
    field: &Field,
    position: usize,
    source: &Source<'_>,
) -> TokenStream {
    let ty = &field.ty;
    match source {
        Source::Map {
            map,
            string_keys,
            place,
            missing,
        } => {
            let (lookup, key_text) = if *string_keys {
                let name = &field.name;
                (
                    quote!(::oxbeam::__rt::derive::map_get_str(env, #map, #name)),
                    format!("{:?}", field.name),
                )
            } else {
                let atom = atoms.get(&field.name);
                (
                    quote!(::oxbeam::__rt::derive::map_get_atom(env, #map, #atom)),
                    inspect_atom(&field.name),
                )
            };
            let step = format!("field {key_text} of {place}");
            let missing = missing.replace("{key}", &key_text);
            let when_missing = match default_value(field) {
                Some(value) => value,
                None => quote! {
                    match (&&::oxbeam::__rt::derive::Missing::<#ty>::new()).missing_value() {
                        Some(value) => value,
                        None => return Err(::oxbeam::__rt::derive::mismatch(#map, #missing)),
                    }
                },
            };
            quote! {
                match #lookup {
                    Some(value) => ::oxbeam::__rt::derive::field::<#ty>(env, value, #step)?,
                    None => #when_missing,
                }
            }
        }
        Source::Elements {
            elements,
            offset,
            place,
        } => {
            let index = position + offset;
            match place {
                None => {
                    quote!(::oxbeam::__rt::derive::element::<#ty>(env, #elements[#index], #index)?)
                }
                Some(place) => {
                    let step = match &field.member {
                        Member::Named(_) => format!("field {} of {place}", field.name),
                        Member::Unnamed(_) => format!("element {index} of {place}"),
                    };
                    quote!(::oxbeam::__rt::derive::field::<#ty>(env, #elements[#index], #step)?)
                }
            }
        }
    }
}

/// How a tagged variant is written in messages: `:none`, `{:circle, _}`,
/// `{:point, %{x: _, y: _}}`.
fn tagged_shape(variant: &Variant) -> String {
    let tag = inspect_atom(&variant.name);
    let kept: Vec<&Field> = variant.fields.iter().filter(|f| !f.skip).collect();
    match variant.kind {
        VariantKind::Unit => tag,
        VariantKind::Tuple => {
            let blanks = vec!["_"; kept.len()].join(", ");
            if kept.is_empty() {
                format!("{{{tag}}}")
            } else {
                format!("{{{tag}, {blanks}}}")
            }
        }
        VariantKind::Named => {
            let fields: Vec<String> = kept
                .iter()
                .map(|f| format!("{}: _", map_key(&f.name)))
                .collect();
            format!("{{{tag}, %{{{}}}}}", fields.join(", "))
        }
    }
}

/// A key in Elixir's map syntax: `x` in `%{x: _}`.
fn map_key(name: &str) -> String {
    let atom = inspect_atom(name);
    match atom.strip_prefix(':') {
        Some(plain) => plain.to_string(),
        None => format!("{atom}:"),
    }
}

fn decode_tagged(atoms: &mut Atoms, name: &str, variants: &[Variant]) -> TokenStream {
    let shapes: Vec<String> = variants.iter().map(tagged_shape).collect();
    let expected = format!("one of {} ({name})", shapes.join(", "));
    let mut unit_checks = Vec::new();
    let mut tuple_checks = Vec::new();
    for variant in variants {
        let ident = &variant.ident;
        let tag = atoms.get(&variant.name);
        let kept = variant.fields.iter().filter(|f| !f.skip).count();
        match variant.kind {
            VariantKind::Unit => unit_checks.push(quote! {
                if raw == #tag.as_raw() {
                    return Ok(Self::#ident);
                }
            }),
            VariantKind::Tuple => {
                let arity = kept + 1;
                let elements = format_ident!("elements");
                let place = tagged_shape(variant);
                let source = Source::Elements {
                    elements: &elements,
                    offset: 1,
                    place: Some(place.clone()),
                };
                let build = if kept == 1 {
                    // One value: its path says `value of {:tag, _}`.
                    let field = variant.fields.iter().position(|f| !f.skip).unwrap_or(0);
                    let fields: Vec<TokenStream> = variant
                        .fields
                        .iter()
                        .enumerate()
                        .map(|(i, f)| {
                            if i == field {
                                let ty = &f.ty;
                                let step = format!("value of {place}");
                                quote!(::oxbeam::__rt::derive::field::<#ty>(env, elements[1], #step)?)
                            } else {
                                default_value(f)
                                    .unwrap_or_else(|| quote!(::std::default::Default::default()))
                            }
                        })
                        .collect();
                    quote!(Self::#ident(#(#fields),*))
                } else {
                    build(atoms, quote!(Self::#ident), &variant.fields, false, &source)
                };
                tuple_checks.push(quote! {
                    if tag == #tag.as_raw() && elements.len() == #arity {
                        return Ok(#build);
                    }
                });
            }
            VariantKind::Named => {
                let place = tagged_shape(variant);
                let map = format_ident!("map");
                let source = Source::Map {
                    map: &map,
                    string_keys: false,
                    place: place.clone(),
                    missing: format!("a map with the key {{key}} (in {place} of {name})"),
                };
                let build = build(atoms, quote!(Self::#ident), &variant.fields, true, &source);
                let map_expected = format!("a map (in {place} of {name})");
                tuple_checks.push(quote! {
                    if tag == #tag.as_raw() && elements.len() == 2 {
                        let map = elements[1];
                        if !::oxbeam::__rt::derive::is_map(env, map) {
                            return Err(::oxbeam::__rt::derive::mismatch(map, #map_expected)
                                .inside(::oxbeam::__rt::derive::PathStep::Field(#place)));
                        }
                        return Ok(#build);
                    }
                });
            }
        }
    }
    let units = if unit_checks.is_empty() {
        quote!()
    } else {
        quote! {
            let raw = term.as_raw();
            #(#unit_checks)*
        }
    };
    let tuples = if tuple_checks.is_empty() {
        quote!()
    } else {
        quote! {
            if let Some(elements) = ::oxbeam::__rt::derive::tuple_elements(env, term) {
                if let Some(first) = elements.first() {
                    let tag = first.as_raw();
                    #(#tuple_checks)*
                }
            }
        }
    };
    quote! {
        #units
        #tuples
        Err(::oxbeam::__rt::derive::mismatch(term, #expected))
    }
}

fn decode_untagged(atoms: &mut Atoms, name: &str, variants: &[Variant]) -> TokenStream {
    let attempts = variants.iter().map(|variant| {
        let ident = &variant.ident;
        let label = ident.to_string();
        let kept = variant.fields.iter().filter(|f| !f.skip).count();
        let attempt = match variant.kind {
            VariantKind::Unit => {
                let tag = atoms.get(&variant.name);
                let expected = inspect_atom(&variant.name);
                quote! {
                    if term.as_raw() == #tag.as_raw() {
                        Ok(Self::#ident)
                    } else {
                        Err(::oxbeam::__rt::derive::mismatch(term, #expected))
                    }
                }
            }
            VariantKind::Tuple if kept == 1 => {
                let values = variant.fields.iter().map(|f| {
                    if f.skip {
                        default_value(f)
                            .unwrap_or_else(|| quote!(::std::default::Default::default()))
                    } else {
                        let ty = &f.ty;
                        quote!(<#ty as ::oxbeam::__rt::Decode>::decode(term, env)?)
                    }
                });
                quote!((|| Ok(Self::#ident(#(#values),*)))())
            }
            VariantKind::Tuple => {
                let elements = format_ident!("elements");
                let source = Source::Elements {
                    elements: &elements,
                    offset: 0,
                    place: None,
                };
                let expected = format!("a tuple of {kept} elements");
                let build = build(atoms, quote!(Self::#ident), &variant.fields, false, &source);
                quote! {
                    (|| {
                        let elements = match ::oxbeam::__rt::derive::tuple_elements(env, term) {
                            Some(elements) if elements.len() == #kept => elements,
                            _ => return Err(::oxbeam::__rt::derive::mismatch(term, #expected)),
                        };
                        Ok(#build)
                    })()
                }
            }
            VariantKind::Named => {
                let source = Source::Map {
                    map: &format_ident!("term"),
                    string_keys: false,
                    place: "the map".into(),
                    missing: "a map with the key {key}".into(),
                };
                let build = build(atoms, quote!(Self::#ident), &variant.fields, true, &source);
                quote! {
                    (|| {
                        if !::oxbeam::__rt::derive::is_map(env, term) {
                            return Err(::oxbeam::__rt::derive::mismatch(term, "a map"));
                        }
                        Ok(#build)
                    })()
                }
            }
        };
        quote! {
            let attempt: ::std::result::Result<Self, ::oxbeam::__rt::DecodeError<'_>> = #attempt;
            match attempt {
                Ok(value) => return Ok(value),
                Err(error) => tried.push((#label, error)),
            }
        }
    });
    let count = variants.len();
    quote! {
        let mut tried = ::std::vec::Vec::with_capacity(#count);
        #(#attempts)*
        Err(::oxbeam::__rt::derive::no_variant(env, term, #name, &tried))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_both(input: TokenStream) -> (String, String) {
        (
            expand(input.clone(), Which::Encode).unwrap().to_string(),
            expand(input, Which::Decode).unwrap().to_string(),
        )
    }

    #[test]
    fn a_struct_encodes_with_one_map_and_decodes_by_key() {
        let (encode, decode) = expand_both(quote!(
            #[oxbeam(struct = "MyApp.Point")]
            struct Point {
                x: f64,
                y: f64,
            }
        ));
        assert!(encode.contains("derive :: make_map"), "{encode}");
        assert!(encode.contains("\"Elixir.MyApp.Point\""), "{encode}");
        assert!(decode.contains("map_get_atom"), "{decode}");
        assert!(
            decode.contains("\"field :y of %MyApp.Point{}\""),
            "{decode}"
        );
        assert!(
            decode.contains("\"a %MyApp.Point{} struct (Point)\""),
            "{decode}"
        );
    }

    #[test]
    fn generics_get_bounds_and_the_types_lifetime_is_kept() {
        let (encode, decode) = expand_both(quote!(
            struct Tagged<'a, T> {
                name: &'a str,
                value: T,
            }
        ));
        assert!(
            decode.contains("T : :: oxbeam :: __rt :: Decode < 'a >"),
            "{decode}"
        );
        assert!(
            encode.contains("T : :: oxbeam :: __rt :: Encode < 'a >"),
            "{encode}"
        );
        assert!(!decode.contains("'__oxbeam"), "{decode}");
    }

    fn spec_of(input: TokenStream) -> String {
        type_spec(&model::analyze(&syn::parse2(input).unwrap()).unwrap())
    }

    #[test]
    fn type_specs_are_the_encoded_shapes() {
        assert_eq!(
            spec_of(quote!(
                #[oxbeam(struct = "MyApp.Point")]
                struct Point {
                    x: f64,
                    #[oxbeam(skip)]
                    cache: u8,
                    points: Vec<Point>,
                }
            )),
            "%{__struct__: MyApp.Point, x: float(), points: [oxbeam_type(Point)]}"
        );
        assert_eq!(
            spec_of(quote!(
                #[oxbeam(record = "user")]
                struct User(String, i64);
            )),
            "{:user, String.t(), integer()}"
        );
        assert_eq!(
            spec_of(quote!(
                enum Shape {
                    Empty,
                    Circle(f64),
                    Labeled { label: String },
                }
            )),
            ":empty | {:circle, float()} | {:labeled, %{label: String.t()}}"
        );
        assert_eq!(
            spec_of(quote!(
                struct Wrapper<T> {
                    value: T,
                    count: usize,
                }
            )),
            "%{value: term(), count: non_neg_integer()}"
        );
    }

    #[test]
    fn tagged_enum_messages_list_every_shape() {
        let decode = expand(
            quote!(
                enum Shape {
                    Empty,
                    Circle(f64),
                    Rect(f64, f64),
                    Point { x: f64, y: f64 },
                }
            ),
            Which::Decode,
        )
        .unwrap()
        .to_string();
        assert!(
            decode.contains(
                "\"one of :empty, {:circle, _}, {:rect, _, _}, {:point, %{x: _, y: _}} (Shape)\""
            ),
            "{decode}"
        );
    }
}
