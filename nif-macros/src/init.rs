//! `init!("Elixir.Mod")`: the `nif_init` entry point.

use proc_macro2::TokenStream;
use quote::quote;
use syn::LitStr;

pub fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let module: LitStr = syn::parse2(input).map_err(|e| {
        syn::Error::new(
            e.span(),
            "expected the Elixir module name as a string: `oxbeam::init!(\"Elixir.MyApp.Native\");`",
        )
    })?;
    let name = module.value();
    validate_module(&name).map_err(|message| syn::Error::new(module.span(), message))?;
    let c_name = syn::LitCStr::new(
        &std::ffi::CString::new(name.clone()).expect("validated: no NUL"),
        module.span(),
    );
    let record = format!("OXBEAM\x1finit\x1f{name}\x1e");
    Ok(quote! {
        /// The NIF library entry point the VM calls on `:erlang.load_nif/2`.
        #[unsafe(no_mangle)]
        pub extern "C" fn nif_init() -> *const ::oxbeam::__rt::sys::ErlNifEntry {
            ::oxbeam::__rt::entry(#c_name, #record)
        }
    })
}

/// A module name the VM accepts: non-empty, at most 255 characters, no NUL, and for
/// Elixir modules the `Elixir.` prefix.
pub fn validate_module(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the module name is empty: `oxbeam::init!(\"Elixir.MyApp.Native\");`".into());
    }
    if name.contains('\0') || name.contains('\x1e') || name.contains('\x1f') {
        return Err("the module name contains a control character".into());
    }
    if name.len() > 255 {
        return Err("the module name is longer than 255 characters".into());
    }
    let first = name.chars().next().unwrap_or('a');
    if first.is_ascii_uppercase() && !name.starts_with("Elixir.") {
        return Err(format!(
            "Elixir module names start with `Elixir.`: write `oxbeam::init!(\"Elixir.{name}\");`"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_elixir_and_erlang_modules() {
        assert!(validate_module("Elixir.MyApp.Native").is_ok());
        assert!(validate_module("my_nif").is_ok());
    }

    #[test]
    fn rejects_alias_without_prefix() {
        let err = validate_module("MyApp.Native").unwrap_err();
        assert!(err.contains("Elixir.MyApp.Native"), "{err}");
    }

    #[test]
    fn expands_to_nif_init_with_record() {
        let out = expand(quote!("Elixir.Hello")).unwrap().to_string();
        assert!(out.contains("nif_init"), "{out}");
        assert!(
            out.contains("OXBEAM\\u{1f}init\\u{1f}Elixir.Hello\\u{1e}"),
            "{out}"
        );
    }
}
