//! `#[resource]`: registers a type as a resource type, on the struct/enum itself or on
//! an `impl Resource for T` block (to add callbacks such as `down`).

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::spanned::Spanned;
use syn::{Item, Type};

pub fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let options = parse_options(attr)?;
    let item: Item = syn::parse2(item)?;
    match item {
        Item::Struct(s) => {
            reject_generics(&s.generics)?;
            let ident = &s.ident;
            let ty: Type = syn::parse_quote!(#ident);
            let name = s.ident.to_string();
            let fields = struct_fields(&ty, &s.fields);
            let registration = registration(&ty, &name, &options, fields);
            Ok(quote! {
                #s
                impl ::oxbeam::Resource for #ty {}
                #registration
            })
        }
        Item::Enum(e) => {
            reject_generics(&e.generics)?;
            let ident = &e.ident;
            let ty: Type = syn::parse_quote!(#ident);
            let fields = enum_fields(&ty, &e);
            let registration = registration(&ty, &ident.to_string(), &options, fields);
            Ok(quote! {
                #e
                impl ::oxbeam::Resource for #ty {}
                #registration
            })
        }
        Item::Impl(imp) => {
            let is_resource = imp.trait_.as_ref().is_some_and(|(_, path, _)| {
                path.segments.last().is_some_and(|s| s.ident == "Resource")
            });
            if !is_resource {
                return Err(syn::Error::new(
                    imp.self_ty.span(),
                    "#[resource] goes on a struct, an enum, or an `impl Resource for T` block",
                ));
            }
            reject_generics(&imp.generics)?;
            let ty = (*imp.self_ty).clone();
            let name = ty.to_token_stream().to_string().replace(' ', "");
            // The fields are not visible here: the fingerprint has size and alignment.
            let registration = registration(&ty, &name, &options, quote!(&[]));
            Ok(quote! {
                #imp
                #registration
            })
        }
        other => Err(syn::Error::new(
            other.span(),
            "#[resource] goes on a struct, an enum, or an `impl Resource for T` block",
        )),
    }
}

fn reject_generics(generics: &syn::Generics) -> syn::Result<()> {
    match generics.params.first() {
        Some(param) => Err(syn::Error::new(
            param.span(),
            "a resource type cannot be generic: the VM needs one named type per resource type",
        )),
        None => Ok(()),
    }
}

/// `#[resource(...)]`'s options.
#[derive(Default)]
struct Options {
    /// `version = N` (a `u32`, default 0), part of the layout fingerprint that decides
    /// whether a hot upgrade takes over the old library's objects.
    version: u32,
    /// `name = "..."`: the VM name of the type, as is, instead of the derived one.
    name: Option<syn::LitStr>,
    /// `dyncall`: the type implements `oxbeam::resource::DynCall` (needs `name`).
    dyncall: bool,
}

/// The longest explicit name (oxbeam::resource::MAX_EXPLICIT_NAME): an atom holds 255
/// bytes, and the layout markers add `@` and 16 hex digits.
const MAX_EXPLICIT_NAME: usize = 255 - 17;

fn parse_options(attr: TokenStream) -> syn::Result<Options> {
    let mut options = Options::default();
    let mut version_seen = false;
    let mut dyncall_span = None;
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("name") {
            if options.name.is_some() {
                return Err(meta.error("`name` is given twice"));
            }
            let value: syn::Expr = meta.value()?.parse()?;
            let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(name),
                ..
            }) = &value
            else {
                return Err(syn::Error::new(
                    value.span(),
                    "`name` takes a string literal, e.g. `name = \"my_app.counter\"`",
                ));
            };
            check_name(name)?;
            options.name = Some(name.clone());
            Ok(())
        } else if meta.path.is_ident("dyncall") {
            if dyncall_span.is_some() {
                return Err(meta.error("`dyncall` is given twice"));
            }
            if meta.input.peek(syn::Token![=]) || meta.input.peek(syn::token::Paren) {
                return Err(meta.error(
                    "`dyncall` takes no value: the call is `impl oxbeam::resource::DynCall for T`",
                ));
            }
            dyncall_span = Some(meta.path.span());
            options.dyncall = true;
            Ok(())
        } else if meta.path.is_ident("version") {
            if version_seen {
                return Err(meta.error("`version` is given twice"));
            }
            version_seen = true;
            let value: syn::Expr = meta.value()?.parse()?;
            options.version = match &value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Int(int),
                    ..
                }) if int.suffix().is_empty() || int.suffix() == "u32" => {
                    int.base10_parse::<u32>().ok()
                }
                _ => None,
            }
            .ok_or_else(|| {
                syn::Error::new(
                    value.span(),
                    "`version` takes an integer literal from 0 to 4294967295 (a u32), e.g. `version = 2`",
                )
            })?;
            Ok(())
        } else {
            Err(meta.error(
                "unknown #[resource] option: the options are `name = \"...\"`, `dyncall` and `version = N`",
            ))
        }
    });
    syn::parse::Parser::parse2(parser, attr)?;
    if let (Some(span), None) = (dyncall_span, &options.name) {
        return Err(syn::Error::new(
            span,
            "`dyncall` needs an explicit `name = \"...\"`: other libraries find the type by it",
        ));
    }
    Ok(options)
}

/// An explicit name becomes an atom (latin-1, at most 255 bytes, with room for the
/// layout markers' `@<fingerprint>`), and must not look like oxbeam's own names.
fn check_name(name: &syn::LitStr) -> syn::Result<()> {
    let value = name.value();
    let problem = if value.is_empty() {
        Some("is empty".to_string())
    } else if value.len() > MAX_EXPLICIT_NAME {
        Some(format!("is longer than {MAX_EXPLICIT_NAME} bytes"))
    } else if !value.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        Some("has a character that is not printable ASCII".to_string())
    } else if value.contains('@') {
        Some("contains `@` (oxbeam's own type names use it)".to_string())
    } else {
        None
    };
    match problem {
        Some(problem) => Err(syn::Error::new(
            name.span(),
            format!("a resource type name {problem}: use at most {MAX_EXPLICIT_NAME} printable ASCII characters other than `@`"),
        )),
        None => Ok(()),
    }
}

/// A struct's fields for the fingerprint: each field's type and offset (`offset_of!`:
/// a reordering, or a compiler laying the struct out otherwise, is seen too).
/// (A tuple struct with `#[cfg]` fields has indices only the compiler knows: its
/// fields are listed without offsets.)
fn struct_fields(ty: &Type, fields: &syn::Fields) -> TokenStream {
    let is_cfg = |a: &&syn::Attribute| a.path().is_ident("cfg");
    let indices_known = matches!(fields, syn::Fields::Named(_))
        || fields.iter().all(|f| !f.attrs.iter().any(|a| is_cfg(&a)));
    let entries = fields.iter().enumerate().map(|(i, field)| {
        let cfgs = field.attrs.iter().filter(is_cfg);
        let field_ty = without_self(&field.ty, ty);
        let member = match &field.ident {
            Some(ident) => quote!(#ident),
            None => syn::Index::from(i).into_token_stream(),
        };
        let offset = if indices_known {
            quote!(::std::mem::offset_of!(#ty, #member))
        } else {
            quote!(usize::MAX)
        };
        quote!(#(#cfgs)* ("", ::std::any::type_name::<#field_ty>, #offset))
    });
    quote!(&[#(#entries),*])
}

/// An enum's variants and field types for the fingerprint (offsets of enum fields are
/// not stable Rust; `usize::MAX` stands for "no offset").
fn enum_fields(ty: &Type, item: &syn::ItemEnum) -> TokenStream {
    let entries = item.variants.iter().flat_map(|variant| {
        let cfgs: Vec<_> = variant
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("cfg"))
            .collect();
        let name = variant.ident.to_string();
        let head = quote!(#(#cfgs)* (#name, ::std::any::type_name::<()>, usize::MAX));
        let fields = variant.fields.iter().map(move |field| {
            let field_cfgs = field.attrs.iter().filter(|a| a.path().is_ident("cfg"));
            let field_ty = without_self(&field.ty, ty);
            let cfgs = cfgs.clone();
            quote!(#(#cfgs)* #(#field_cfgs)* (#name, ::std::any::type_name::<#field_ty>, usize::MAX))
        });
        std::iter::once(head).chain(fields)
    });
    quote!(&[#(#entries),*])
}

/// `field_ty` with `Self` spelled `ty`: the fingerprint is built in a `static`, where
/// `Self` does not name the type (`next: Option<Box<Self>>`).
fn without_self(field_ty: &Type, ty: &Type) -> Type {
    struct ReplaceSelf<'a>(&'a Type);
    impl syn::visit_mut::VisitMut for ReplaceSelf<'_> {
        fn visit_type_mut(&mut self, t: &mut Type) {
            if let Type::Path(p) = t {
                if p.qself.is_none() && p.path.is_ident("Self") {
                    *t = self.0.clone();
                    return;
                }
            }
            syn::visit_mut::visit_type_mut(self, t);
        }
    }
    let mut field_ty = field_ty.clone();
    syn::visit_mut::VisitMut::visit_type_mut(&mut ReplaceSelf(ty), &mut field_ty);
    field_ty
}

/// The hidden `RegisteredResource` impl: a static type cell made for `ty` (with the
/// user's version and the fields for the layout fingerprint), registered for load.
fn registration(ty: &Type, name: &str, options: &Options, fields: TokenStream) -> TokenStream {
    let vm_name = format!("::{name}\0");
    let version = options.version;
    let explicit_name = options.name.as_ref().map(|explicit| {
        let with_nul = syn::LitStr::new(&format!("{}\0", explicit.value()), explicit.span());
        quote! {
            .with_explicit_name(match ::std::ffi::CStr::from_bytes_with_nul(#with_nul.as_bytes()) {
                Ok(name) => name,
                Err(_) => panic!("resource type names contain no NUL"),
            })
        }
    });
    let dyncall = options.dyncall.then(|| quote!(.with_dyncall::<#ty>()));
    // For the Elixir side: the NIFs' specs name this type as an opaque resource type.
    let record = format!("OXBEAM\x1ftype\x1f{name}\x1fresource\x1freference()\x1e");
    quote! {
        const _: () = {
            static RECORD: ::oxbeam::__rt::TypeRecord = ::oxbeam::__rt::TypeRecord(#record);
            ::oxbeam::__rt::inventory::submit! {
                ::oxbeam::__rt::TypeRegistration(&RECORD)
            }
        };
        // SAFETY: the type cell is made by ResourceType::new::<Self>, once for this type.
        unsafe impl ::oxbeam::__rt::RegisteredResource for #ty {
        fn __resource_type() -> &'static ::oxbeam::__rt::ResourceType {
            static TYPE: ::oxbeam::__rt::ResourceType = ::oxbeam::__rt::ResourceType::new::<#ty>(
                match ::std::ffi::CStr::from_bytes_with_nul(concat!(module_path!(), #vm_name).as_bytes()) {
                    Ok(name) => name,
                    Err(_) => panic!("resource type names contain no NUL"),
                },
                #name,
                #version,
                #fields,
            )#explicit_name #dyncall;
            ::oxbeam::__rt::inventory::submit! {
                ::oxbeam::__rt::ResourceRegistration(&TYPE)
            }
            &TYPE
        }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn struct_gets_an_impl_and_a_registration() {
        let out = expand(
            quote!(),
            quote!(
                struct Counter {
                    n: u64,
                }
            ),
        )
        .unwrap()
        .to_string();
        assert!(
            out.contains("impl :: oxbeam :: Resource for Counter"),
            "{out}"
        );
        assert!(out.contains("ResourceRegistration"), "{out}");
        assert!(
            out.contains("unsafe impl :: oxbeam :: __rt :: RegisteredResource for Counter"),
            "{out}"
        );
        assert!(out.contains("\"::Counter\\0\""), "{out}");
    }

    #[test]
    fn impl_block_keeps_its_callbacks() {
        let out = expand(
            quote!(),
            quote!(impl oxbeam::Resource for Watcher { fn down<'a>(&self, env: Env<'a>, pid: LocalPid, m: Monitor) {} }),
        )
        .unwrap()
        .to_string();
        assert!(out.contains("fn down"), "{out}");
        assert!(
            out.contains("unsafe impl :: oxbeam :: __rt :: RegisteredResource for Watcher"),
            "{out}"
        );
    }

    #[test]
    fn version_is_passed_on() {
        let out = expand(
            quote!(version = 7),
            quote!(
                struct Blob(u64);
            ),
        )
        .unwrap()
        .to_string();
        assert!(out.contains("\"Blob\" , 7u32"), "{out}");
        let out = expand(
            quote!(),
            quote!(
                struct Blob(u64);
            ),
        )
        .unwrap()
        .to_string();
        assert!(out.contains("\"Blob\" , 0u32"), "{out}");
    }

    #[test]
    fn fields_are_listed_for_the_fingerprint() {
        let out = expand(
            quote!(),
            quote!(
                struct Counter {
                    n: u64,
                    #[cfg(feature = "x")]
                    extra: u8,
                }
            ),
        )
        .unwrap()
        .to_string();
        assert!(
            out.contains(
                "(\"\" , :: std :: any :: type_name :: < u64 > , :: std :: mem :: offset_of ! (Counter , n))"
            ),
            "{out}"
        );
        assert!(
            out.contains("# [cfg (feature = \"x\")] (\"\" , :: std :: any :: type_name :: < u8 >"),
            "{out}"
        );
        let out = expand(
            quote!(),
            quote!(
                struct Pair(u32, i8);
            ),
        )
        .unwrap()
        .to_string();
        assert!(out.contains("offset_of ! (Pair , 1)"), "{out}");
        let out = expand(
            quote!(),
            quote!(
                struct Pair(u32, #[cfg(x)] u8, i8);
            ),
        )
        .unwrap()
        .to_string();
        assert!(!out.contains("offset_of"), "{out}");
        let out = expand(
            quote!(),
            quote!(
                enum Shape {
                    Point,
                    Circle(f64),
                }
            ),
        )
        .unwrap()
        .to_string();
        assert!(
            out.contains("(\"Point\" , :: std :: any :: type_name :: < () > , usize :: MAX)"),
            "{out}"
        );
        assert!(
            out.contains("(\"Circle\" , :: std :: any :: type_name :: < f64 > , usize :: MAX)"),
            "{out}"
        );
    }

    #[test]
    fn bad_versions_are_refused() {
        for attr in [
            quote!(version = "2"),
            quote!(version = -1),
            quote!(version = 4294967296),
            quote!(version = 2u8),
        ] {
            let err = expand(
                attr,
                quote!(
                    struct Blob(u64);
                ),
            )
            .unwrap_err();
            assert!(
                err.to_string()
                    .contains("`version` takes an integer literal"),
                "{err}"
            );
        }
        let err = expand(
            quote!(label = "x"),
            quote!(
                struct Blob(u64);
            ),
        )
        .unwrap_err();
        assert!(err
            .to_string()
            .contains("the options are `name = \"...\"`, `dyncall` and `version = N`"));
    }

    #[test]
    fn explicit_names_and_dyncall_are_registered() {
        let out = expand(
            quote!(name = "my_app.counter", dyncall, version = 3),
            quote!(
                struct Counter(u64);
            ),
        )
        .unwrap()
        .to_string();
        assert!(
            out.contains(". with_explicit_name (match :: std :: ffi :: CStr :: from_bytes_with_nul (\"my_app.counter\\0\" . as_bytes ())"),
            "{out}"
        );
        assert!(out.contains(". with_dyncall :: < Counter > ()"), "{out}");
        assert!(out.contains("\"Counter\" , 3u32"), "{out}");
        let out = expand(
            quote!(),
            quote!(
                struct Counter(u64);
            ),
        )
        .unwrap()
        .to_string();
        assert!(!out.contains("with_explicit_name"), "{out}");
        assert!(!out.contains("with_dyncall"), "{out}");
    }

    #[test]
    fn bad_names_are_refused() {
        let long = "n".repeat(MAX_EXPLICIT_NAME + 1);
        let cases = [
            (quote!(name = counter), "`name` takes a string literal"),
            (quote!(name = 1), "`name` takes a string literal"),
            (quote!(name = "a", name = "b"), "`name` is given twice"),
            (quote!(name = ""), "a resource type name is empty"),
            (quote!(name = "a@b"), "a resource type name contains `@`"),
            (quote!(name = "zähler"), "is not printable ASCII"),
            (quote!(name = #long), "is longer than 238 bytes"),
            (quote!(dyncall), "`dyncall` needs an explicit `name"),
            (
                quote!(name = "a", dyncall, dyncall),
                "`dyncall` is given twice",
            ),
            (
                quote!(name = "a", dyncall = true),
                "`dyncall` takes no value",
            ),
            (quote!(version = 1, version = 2), "`version` is given twice"),
        ];
        for (attr, message) in cases {
            let err = expand(
                attr.clone(),
                quote!(
                    struct Blob(u64);
                ),
            )
            .unwrap_err();
            assert!(err.to_string().contains(message), "{attr}: {err}");
        }
        let fits = "n".repeat(MAX_EXPLICIT_NAME);
        assert!(expand(
            quote!(name = #fits),
            quote!(
                struct Blob(u64);
            )
        )
        .is_ok());
    }

    #[test]
    fn generic_types_are_refused() {
        let err = expand(
            quote!(),
            quote!(
                struct Cell<T> {
                    v: T,
                }
            ),
        )
        .unwrap_err();
        assert!(err.to_string().contains("cannot be generic"));
    }
}
