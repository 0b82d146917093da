//! `#[nif]`: parsing (into [`NifSpec`]) and code generation, as plain functions.

use crate::typespec::{typespec, Position};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{FnArg, ItemFn, LitStr, Pat, ReturnType, Type};

/// Where a NIF runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schedule {
    Normal,
    DirtyCpu,
    DirtyIo,
}

impl Schedule {
    fn as_str(self) -> &'static str {
        match self {
            Schedule::Normal => "normal",
            Schedule::DirtyCpu => "dirty_cpu",
            Schedule::DirtyIo => "dirty_io",
        }
    }

    /// `ErlNifFunc.flags`.
    fn flags(self) -> u32 {
        match self {
            Schedule::Normal => 0,
            Schedule::DirtyCpu => 1,
            Schedule::DirtyIo => 2,
        }
    }
}

/// The options inside `#[nif(...)]`.
#[derive(Debug, PartialEq, Eq)]
pub struct Options {
    pub name: Option<String>,
    pub schedule: Schedule,
    /// `spec = "..."`: the NIF's `@spec`, as written after `@spec`, instead of the one
    /// derived from the Rust types.
    pub spec: Option<String>,
}

/// One argument the Erlang side passes.
pub struct Arg {
    pub name: String,
    pub ty: Type,
}

/// Everything the generator needs about one `#[nif]` function.
pub struct NifSpec {
    pub function: ItemFn,
    pub erlang_name: String,
    pub schedule: Schedule,
    /// Whether the first parameter is `env: Env<'a>`.
    pub takes_env: bool,
    pub args: Vec<Arg>,
    pub doc: String,
    /// The `@spec` written with `spec = "..."`, if any.
    pub spec: Option<String>,
}

/// Whether the function returns `Result<...>` (any path ending in `Result` with two
/// type arguments, or `oxbeam::Result<T>`): such results may raise a derived exception.
fn returns_result(output: &ReturnType) -> bool {
    let ReturnType::Type(_, ty) = output else {
        return false;
    };
    let Type::Path(path) = &**ty else {
        return false;
    };
    path.path
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "Result")
}

pub fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let options = parse_options(attr)?;
    let function: ItemFn = syn::parse2(item)?;
    let spec = analyze(function, options)?;
    Ok(generate(&spec))
}

pub fn parse_options(attr: TokenStream) -> syn::Result<Options> {
    let mut options = Options {
        name: None,
        schedule: Schedule::Normal,
        spec: None,
    };
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("name") {
            let value: LitStr = meta.value()?.parse()?;
            let name = value.value();
            if name.is_empty() || name.len() > 255 || name.contains(['\0', '\x1e', '\x1f']) {
                return Err(syn::Error::new(
                    value.span(),
                    "the NIF name must be a non-empty atom name of at most 255 characters",
                ));
            }
            options.name = Some(name);
            Ok(())
        } else if meta.path.is_ident("schedule") {
            let value: LitStr = meta.value()?.parse()?;
            options.schedule = match value.value().as_str() {
                "normal" => Schedule::Normal,
                "dirty_cpu" => Schedule::DirtyCpu,
                "dirty_io" => Schedule::DirtyIo,
                other => {
                    return Err(syn::Error::new(
                        value.span(),
                        format!(
                            "unknown schedule \"{other}\": expected \"normal\", \"dirty_cpu\" or \"dirty_io\""
                        ),
                    ))
                }
            };
            Ok(())
        } else if meta.path.is_ident("spec") {
            let value: LitStr = meta.value()?.parse()?;
            let spec = value.value();
            if !spec.contains("::") || spec.contains(['\x1d', '\x1e', '\x1f']) {
                return Err(syn::Error::new(
                    value.span(),
                    "`spec` is the NIF's typespec as written after @spec, e.g. `spec = \"add(integer(), integer()) :: integer()\"`",
                ));
            }
            options.spec = Some(spec);
            Ok(())
        } else {
            let shown = meta
                .path
                .get_ident()
                .map(|i| i.to_string())
                .unwrap_or_else(|| "this".into());
            Err(meta.error(format!(
                "unknown #[nif] option `{shown}`: expected `name = \"...\"`, `schedule = \"...\"` or `spec = \"...\"`"
            )))
        }
    });
    syn::parse::Parser::parse2(parser, attr)?;
    Ok(options)
}

/// Checks the function and collects what the generator needs.
pub fn analyze(function: ItemFn, options: Options) -> syn::Result<NifSpec> {
    let sig = &function.sig;
    if let Some(param) = sig.generics.type_params().next() {
        return Err(syn::Error::new(
            param.span(),
            "a #[nif] function cannot be generic: the VM calls one concrete function, so give it concrete types",
        ));
    }
    if let Some(param) = sig.generics.const_params().next() {
        return Err(syn::Error::new(
            param.span(),
            "a #[nif] function cannot have const generic parameters",
        ));
    }
    if let Some(asyncness) = &sig.asyncness {
        return Err(syn::Error::new(
            asyncness.span(),
            "a #[nif] function cannot be async",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        return Err(syn::Error::new(
            variadic.span(),
            "a #[nif] function cannot be variadic",
        ));
    }
    let mut takes_env = false;
    let mut args = Vec::new();
    for (index, input) in sig.inputs.iter().enumerate() {
        let typed = match input {
            FnArg::Receiver(receiver) => {
                return Err(syn::Error::new(
                    receiver.span(),
                    "a #[nif] must be a free function, not a method",
                ))
            }
            FnArg::Typed(typed) => typed,
        };
        if is_env(&typed.ty) {
            if index != 0 {
                return Err(syn::Error::new(
                    typed.ty.span(),
                    "`Env` must be the first parameter of a #[nif] function",
                ));
            }
            takes_env = true;
            continue;
        }
        if let Type::ImplTrait(impl_trait) = &*typed.ty {
            return Err(syn::Error::new(
                impl_trait.span(),
                "a #[nif] argument cannot be `impl Trait`: give it a concrete type",
            ));
        }
        if let Type::Reference(reference) = &*typed.ty {
            if let Some(mutability) = &reference.mutability {
                return Err(syn::Error::new(
                    mutability.span(),
                    "a #[nif] argument cannot be a `&mut` reference: terms are immutable",
                ));
            }
        }
        let name = match &*typed.pat {
            Pat::Ident(pat) => pat.ident.to_string().trim_start_matches('_').to_string(),
            _ => format!("arg{}", args.len() + 1),
        };
        args.push(Arg {
            name,
            ty: (*typed.ty).clone(),
        });
    }
    let erlang_name = options.name.unwrap_or_else(|| sig.ident.to_string());
    let doc = doc_text(&function);
    Ok(NifSpec {
        function,
        erlang_name,
        schedule: options.schedule,
        takes_env,
        args,
        doc,
        spec: options.spec,
    })
}

/// `Env`, `Env<'a>`, `oxbeam::Env<'a>`.
fn is_env(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none() && p.path.segments.last().is_some_and(|s| s.ident == "Env"))
}

/// The `///` docs of the function.
fn doc_text(function: &ItemFn) -> String {
    let lines: Vec<String> = function
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .map(|line| line.strip_prefix(' ').unwrap_or(&line).to_string())
        .collect();
    lines.join("\n").trim().to_string()
}

/// The metadata record the Elixir side reads from the library file (see
/// `docs/architecture.md`): fields separated by 0x1F, ended by 0x1E.
pub fn record(spec: &NifSpec) -> String {
    let ret = match &spec.function.sig.output {
        ReturnType::Default => ":ok".to_string(),
        ReturnType::Type(_, ty) => typespec(ty, Position::Return),
    };
    record_returning(spec, &ret)
}

/// For a NIF returning `Result<T, E>`: the two records, `T` alone (when `E` raises on
/// `Err`: `oxbeam::Error` or a derived exception) and `{:ok, t} | {:error, e}`, and
/// `E` with its lifetimes made `'static`, for the choice by type (not by name) that
/// the generated code makes at compile time.
pub fn result_records(spec: &NifSpec) -> Option<(String, String, Type)> {
    let ReturnType::Type(_, ty) = &spec.function.sig.output else {
        return None;
    };
    let Type::Path(path) = &**ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let types: Vec<&Type> = args
        .args
        .iter()
        .filter_map(|a| match a {
            syn::GenericArgument::Type(t) => Some(t),
            _ => None,
        })
        .collect();
    let [ok, err] = types.as_slice() else {
        return None;
    };
    let ok_spec = typespec(ok, Position::Return);
    let err_spec = typespec(err, Position::Return);
    let mut err = (*err).clone();
    StaticLifetimes.visit_type_mut(&mut err);
    Some((
        record_returning(spec, &ok_spec),
        record_returning(
            spec,
            &format!("{{:ok, {ok_spec}}} | {{:error, {err_spec}}}"),
        ),
        err,
    ))
}

/// Replaces every lifetime by `'static` (a type named outside the function).
struct StaticLifetimes;

impl VisitMut for StaticLifetimes {
    fn visit_lifetime_mut(&mut self, lifetime: &mut syn::Lifetime) {
        *lifetime = syn::Lifetime::new("'static", lifetime.span());
    }
}

fn record_returning(spec: &NifSpec, ret: &str) -> String {
    let clean = |s: &str| s.replace(['\x1d', '\x1e', '\x1f'], " ");
    let arg_names: Vec<String> = spec.args.iter().map(|a| a.name.clone()).collect();
    let arg_specs: Vec<String> = spec
        .args
        .iter()
        .map(|a| typespec(&a.ty, Position::Argument))
        .collect();
    format!(
        "OXBEAM\x1fnif\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1e",
        clean(&spec.erlang_name),
        spec.args.len(),
        arg_names.join(","),
        arg_specs.join("\x1d"),
        ret,
        spec.schedule.as_str(),
        clean(&spec.doc),
        spec.spec.as_deref().map(clean).unwrap_or_default()
    )
}

/// Replaces named lifetimes by `'_`, so argument types can be written inside the
/// wrapper, where the function's lifetime parameters are not in scope.
struct EraseLifetimes;

impl VisitMut for EraseLifetimes {
    fn visit_lifetime_mut(&mut self, lifetime: &mut syn::Lifetime) {
        if lifetime.ident != "static" {
            *lifetime = syn::Lifetime::new("'_", lifetime.span());
        }
    }
}

pub fn generate(spec: &NifSpec) -> TokenStream {
    let function = &spec.function;
    let fn_name = &function.sig.ident;
    let wrapper = format_ident!("__oxbeam_nif_{}", fn_name);
    let arity = spec.args.len() as u32;
    let flags = spec.schedule.flags();
    let c_name = syn::LitCStr::new(
        &std::ffi::CString::new(spec.erlang_name.clone()).expect("validated: no NUL"),
        Span::call_site(),
    );
    let arg_names: Vec<&str> = spec.args.iter().map(|a| a.name.as_str()).collect();
    // The record is bytes computed at compile time: for `Result<T, E>` the spec depends
    // on whether `E` raises, which only the type system knows (only the chosen record
    // ends up in the library).
    let record = match result_records(spec) {
        Some((raising, tuple, err)) => {
            let len = raising.len().max(tuple.len());
            quote! {
                &::oxbeam::__rt::choose_record::<#len>(
                    <#err as ::oxbeam::__rt::RaisesOnErr>::RAISES,
                    #raising,
                    #tuple,
                )
            }
        }
        None => {
            let record = record(spec);
            quote!(#record.as_bytes())
        }
    };

    let mut decodes = Vec::new();
    let mut call_args = Vec::new();
    if spec.takes_env {
        call_args.push(quote!(env));
    }
    for (index, arg) in spec.args.iter().enumerate() {
        let var = format_ident!("__arg{}", index);
        let mut ty = arg.ty.clone();
        EraseLifetimes.visit_type_mut(&mut ty);
        // Spanned on the type, so "cannot be decoded" errors point at it.
        decodes.push(quote_spanned! {arg.ty.span()=>
            let #var = ::oxbeam::__rt::decode_arg::<#ty>(env, args, #index)?;
        });
        call_args.push(quote!(#var));
    }
    let ret_span = match &function.sig.output {
        ReturnType::Default => fn_name.span(),
        ReturnType::Type(_, ty) => ty.span(),
    };
    // Spanned on the return type, so "cannot be returned" errors point at it.
    let result = proc_macro2::Ident::new("__result", ret_span);
    let into_return = if returns_result(&function.sig.output) {
        // `Result<T, E>`: an `Err` of a derived exception type raises it (autoref picks
        // RaiseException when E is one), anything else goes through NifReturn.
        quote_spanned! {ret_span=>
            let #result = #fn_name(#(#call_args),*);
            #[allow(unused_imports)]
            use ::oxbeam::__rt::{RaiseException as _, ReturnAsIs as _};
            (&&::oxbeam::__rt::ReturnSlot::new(#result)).take_return(env)
        }
    } else {
        quote_spanned! {ret_span=>
            let #result = #fn_name(#(#call_args),*);
            ::oxbeam::__rt::NifReturn::into_return(#result, env)
        }
    };

    let vis = &function.vis;
    quote! {
        #function

        /// The handle of this NIF for `Env::schedule` (generated by `#[nif]`).
        #[doc(hidden)]
        #[allow(non_snake_case)]
        #vis mod #fn_name {
            /// Pass to `Env::schedule` to continue a call in this NIF.
            pub struct Nif;
        }

        impl ::oxbeam::__rt::NifHandle for #fn_name::Nif {
            const DEF: &'static ::oxbeam::__rt::NifDef = &::oxbeam::__rt::NifDef {
                name: #c_name,
                arity: #arity,
                flags: #flags,
                fptr: #wrapper,
                arg_names: &[#(#arg_names),*],
                record: #record,
            };
        }

        ::oxbeam::__rt::inventory::submit! {
            ::oxbeam::__rt::NifRegistration(<#fn_name::Nif as ::oxbeam::__rt::NifHandle>::DEF)
        }

        #[doc(hidden)]
        #[allow(non_snake_case, clippy::let_unit_value)]
        unsafe extern "C" fn #wrapper(
            env: *mut ::oxbeam::__rt::sys::ErlNifEnv,
            argc: ::std::os::raw::c_int,
            argv: *const ::oxbeam::__rt::sys::ERL_NIF_TERM,
        ) -> ::oxbeam::__rt::sys::ERL_NIF_TERM {
            // SAFETY: these are the arguments the VM passed to this NIF.
            unsafe {
                ::oxbeam::__rt::call(
                    env,
                    argc,
                    argv,
                    <#fn_name::Nif as ::oxbeam::__rt::NifHandle>::DEF,
                    |env, args| {
                        #(#decodes)*
                        #into_return
                    },
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_of(attr: TokenStream, item: TokenStream) -> syn::Result<NifSpec> {
        analyze(syn::parse2(item)?, parse_options(attr)?)
    }

    #[test]
    fn options() {
        assert_eq!(
            parse_options(quote!(name = "valid?", schedule = "dirty_io")).unwrap(),
            Options {
                name: Some("valid?".into()),
                schedule: Schedule::DirtyIo,
                spec: None,
            }
        );
        let err = parse_options(quote!(speed = "fast"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown #[nif] option `speed`"), "{err}");
        let err = parse_options(quote!(schedule = "later"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown schedule \"later\""), "{err}");
    }

    #[test]
    fn env_is_optional_and_not_an_argument() {
        let spec = spec_of(
            quote!(),
            quote!(
                fn f<'a>(env: Env<'a>, x: i64, _y: &'a str) -> i64 {
                    x
                }
            ),
        )
        .unwrap();
        assert!(spec.takes_env);
        let names: Vec<_> = spec.args.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["x", "y"]);
    }

    #[test]
    fn env_must_come_first() {
        let err = spec_of(
            quote!(),
            quote!(
                fn f(x: i64, env: Env) -> i64 {
                    x
                }
            ),
        )
        .err()
        .unwrap();
        assert!(err
            .to_string()
            .contains("`Env` must be the first parameter"));
    }

    #[test]
    fn generic_functions_are_refused() {
        let err = spec_of(
            quote!(),
            quote!(
                fn f<T>(x: T) -> T {
                    x
                }
            ),
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("cannot be generic"));
    }

    #[test]
    fn record_carries_name_arity_specs_and_doc() {
        let spec = spec_of(
            quote!(name = "add!", schedule = "dirty_cpu"),
            quote! {
                /// Adds.
                ///
                /// Really.
                fn add(a: i64, b: f64) -> oxbeam::Result<f64> { Ok(a as f64 + b) }
            },
        )
        .unwrap();
        assert_eq!(
            record(&spec),
            "OXBEAM\x1fnif\x1fadd!\x1f2\x1fa,b\x1finteger()\x1dnumber()\x1ffloat()\x1fdirty_cpu\x1fAdds.\n\nReally.\x1f\x1e"
        );
    }

    #[test]
    fn a_written_spec_goes_into_the_record() {
        let spec = spec_of(
            quote!(spec = "add(pos_integer(), pos_integer()) :: pos_integer()"),
            quote! { fn add(a: i64, b: i64) -> i64 { a + b } },
        )
        .unwrap();
        assert!(
            record(&spec).ends_with("\x1fadd(pos_integer(), pos_integer()) :: pos_integer()\x1e")
        );
        let error = parse_options(quote!(spec = "integer()")).err().unwrap();
        assert!(error.to_string().contains("as written after @spec"));
    }

    #[test]
    fn generated_wrapper_uses_only_the_runtime_module() {
        let spec = spec_of(
            quote!(),
            quote!(
                fn add(a: i64, b: i64) -> i64 {
                    a + b
                }
            ),
        )
        .unwrap();
        let out = generate(&spec).to_string();
        assert!(out.contains("__oxbeam_nif_add"));
        assert!(out.contains(":: oxbeam :: __rt :: call"));
        assert!(!out.contains("oxbeam :: nif ::"));
    }
}
