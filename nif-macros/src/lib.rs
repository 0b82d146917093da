//! Procedural macros of oxbeam. This file is only the entry: parsing and code
//! generation are plain functions in the modules below, unit-tested without a compiler
//! round trip. Generated code refers only to `::oxbeam::__rt`.

use proc_macro::TokenStream;

mod derive;
mod init;
mod nif;
mod resource;
mod test;
mod typespec;

/// Makes a plain Rust function callable from Erlang/Elixir. See the `oxbeam` crate.
///
/// Options: `name = "erlang_name"`, `schedule = "normal" | "dirty_cpu" | "dirty_io"`.
#[proc_macro_attribute]
pub fn nif(attr: TokenStream, item: TokenStream) -> TokenStream {
    nif::expand(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// The library's entry point: `oxbeam::init!("Elixir.MyApp.Native");`, once per crate.
/// Every `#[nif]` of the crate is registered automatically.
#[proc_macro]
pub fn init(input: TokenStream) -> TokenStream {
    init::expand(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Registers a resource type: on a struct or enum, or on an `impl Resource for T`
/// block that defines callbacks (`down`). See `oxbeam::resource`.
///
/// Options: `version = N` (a `u32`, default 0), part of the layout fingerprint that
/// decides whether a hot upgrade takes over the old library's objects;
/// `name = "..."`, the VM name of the type as is (for other libraries and later
/// versions to find it); `dyncall` (needs `name`), registering the type's
/// `oxbeam::resource::DynCall` for other libraries' `dynamic_call`.
#[proc_macro_attribute]
pub fn resource(attr: TokenStream, item: TokenStream) -> TokenStream {
    resource::expand(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// `#[derive(oxbeam::Encode)]`: the type becomes a term (an Elixir struct, a map, a
/// tuple, a record, atoms or tagged tuples), as its `#[oxbeam(...)]` attributes say.
/// See `oxbeam`'s guide, "Data types".
#[proc_macro_derive(Encode, attributes(oxbeam))]
pub fn derive_encode(input: TokenStream) -> TokenStream {
    derive::expand(input.into(), derive::Which::Encode)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// `#[derive(oxbeam::Decode)]`: the type is read from a term, with errors that name
/// the field path. See `oxbeam`'s guide, "Data types".
#[proc_macro_derive(Decode, attributes(oxbeam))]
pub fn derive_decode(input: TokenStream) -> TokenStream {
    derive::expand(input.into(), derive::Which::Decode)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// A Rust test with a real `Env`, run inside the BEAM by `mix test` (see
/// `oxbeam::testing`): `#[oxbeam::test] fn name(env: Env<'_>) { ... }` (the `env`
/// parameter is optional; the function may return `Result<(), E>`). Compiled into
/// the NIF library in debug builds only.
#[proc_macro_attribute]
pub fn test(attr: TokenStream, item: TokenStream) -> TokenStream {
    test::expand(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
