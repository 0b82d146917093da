//! `init!("Elixir.Mod")`: the `nif_init` entry point.

use proc_macro2::TokenStream;
use quote::quote;
use syn::LitStr;

/// `init!("Elixir.Mod")` or `init!("Elixir.Mod", load = path, unload = path)`.
pub struct InitArgs {
    pub module: LitStr,
    pub load: Option<syn::Path>,
    pub unload: Option<syn::Path>,
    /// `allocator = false` leaves the global allocator to the user.
    pub allocator: bool,
    /// `wrappers = false` registers the NIFs under their own names (for modules whose
    /// stubs are written by hand): no `:badarg` wrapper.
    pub wrappers: bool,
}

impl syn::parse::Parse for InitArgs {
    fn parse(input: syn::parse::ParseStream) -> syn::Result<Self> {
        let module: LitStr = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected the Elixir module name as a string: `oxbeam::init!(\"Elixir.MyApp.Native\");`",
            )
        })?;
        let mut args = InitArgs {
            module,
            load: None,
            unload: None,
            allocator: true,
            wrappers: true,
        };
        while !input.is_empty() {
            input.parse::<syn::Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let key: syn::Ident = input.parse()?;
            input.parse::<syn::Token![=]>()?;
            if key == "allocator" || key == "wrappers" {
                let value: syn::LitBool = input.parse()?;
                if key == "allocator" {
                    args.allocator = value.value;
                } else {
                    args.wrappers = value.value;
                }
                continue;
            }
            let value: syn::Path = input.parse()?;
            match key.to_string().as_str() {
                "load" => args.load = Some(value),
                "unload" => args.unload = Some(value),
                other => {
                    return Err(syn::Error::new(
                        key.span(),
                        format!("unknown init! option `{other}`: expected `load = function`, `unload = function`, `allocator = false` or `wrappers = false`"),
                    ))
                }
            }
        }
        Ok(args)
    }
}

pub fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let args: InitArgs = syn::parse2(input)?;
    let module = &args.module;
    let name = module.value();
    validate_module(&name).map_err(|message| syn::Error::new(module.span(), message))?;
    let c_name = syn::LitCStr::new(
        &std::ffi::CString::new(name.clone()).expect("validated: no NUL"),
        module.span(),
    );
    // The last field tells the Elixir side how the NIFs are registered: `wrapped`
    // (under hidden names, called by generated wrappers) or `direct`.
    let registration = if args.wrappers { "wrapped" } else { "direct" };
    let wrapped = args.wrappers;
    let record = format!("OXBEAM\x1finit\x1f{name}\x1f{registration}\x1e");
    let load = match &args.load {
        Some(load) => quote! {
            ::std::option::Option::Some({
                fn __oxbeam_load<'a>(
                    env: ::oxbeam::Env<'a>,
                    info: ::oxbeam::Term<'a>,
                ) -> ::std::result::Result<::oxbeam::__rt::PrivData, ::oxbeam::Error> {
                    let info = match ::oxbeam::__rt::Decode::decode(info, env) {
                        ::std::result::Result::Ok(info) => info,
                        ::std::result::Result::Err(error) => {
                            return ::std::result::Result::Err(::oxbeam::Error::argument_error(
                                ::std::format!("load info: {}", error.describe(env)),
                            ))
                        }
                    };
                    let data = #load(env, info)?;
                    ::std::result::Result::Ok(::std::boxed::Box::new(data))
                }
                __oxbeam_load
            })
        },
        None => quote!(::std::option::Option::None),
    };
    let unload = match &args.unload {
        Some(unload) => quote!(::std::option::Option::Some(#unload)),
        None => quote!(::std::option::Option::None),
    };
    let allocator = args.allocator.then(|| {
        quote! {
            /// Large blocks from the VM's allocator (see `oxbeam::alloc`); opt out with
            /// `init!(..., allocator = false)`.
            #[global_allocator]
            static __OXBEAM_ALLOCATOR: ::oxbeam::alloc::BeamAllocator = ::oxbeam::alloc::BeamAllocator;
        }
    });
    Ok(quote! {
        #allocator

        // The runner of this library's `#[oxbeam::test]` functions (debug builds):
        // two hidden NIFs, defined here, in the NIF library itself.
        #[cfg(debug_assertions)]
        const _: () = {
            #[::oxbeam::nif(name = "__oxbeam_tests__")]
            fn __oxbeam_tests__() -> ::std::vec::Vec<(&'static str, &'static str, u32)> {
                ::oxbeam::__rt::list_tests()
            }

            #[::oxbeam::nif(name = "__oxbeam_run_test__", schedule = "dirty_cpu")]
            fn __oxbeam_run_test__(
                env: ::oxbeam::Env<'_>,
                name: ::std::string::String,
            ) -> ::std::result::Result<(), ::std::string::String> {
                ::oxbeam::__rt::run_test(env, &name)
            }
        };

        /// The NIF library entry point the VM calls on `:erlang.load_nif/2`.
        #[unsafe(no_mangle)]
        pub extern "C" fn nif_init() -> *const ::oxbeam::__rt::sys::ErlNifEntry {
            ::oxbeam::__rt::entry(
                #c_name,
                #record,
                ::oxbeam::__rt::Hooks { load: #load, unload: #unload },
                #wrapped,
            )
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
    fn options_are_load_and_unload() {
        let out = expand(quote!("Elixir.Hello", load = my_load, unload = my_unload))
            .unwrap()
            .to_string();
        assert!(out.contains("my_load (env , info)"), "{out}");
        assert!(out.contains("Some (my_unload)"), "{out}");
        let err = expand(quote!("Elixir.Hello", reload = f))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("unknown init! option `reload`"), "{err}");
    }

    #[test]
    fn wrappers_false_registers_the_nifs_directly() {
        let out = expand(quote!("Elixir.Hello", wrappers = false))
            .unwrap()
            .to_string();
        assert!(
            out.contains("OXBEAM\\u{1f}init\\u{1f}Elixir.Hello\\u{1f}direct\\u{1e}"),
            "{out}"
        );
        assert!(out.contains("false ,"), "{out}");
        let err = expand(quote!("Elixir.Hello", wrappers = "no"))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("expected boolean literal"), "{err}");
    }

    #[test]
    fn expands_to_nif_init_with_record() {
        let out = expand(quote!("Elixir.Hello")).unwrap().to_string();
        assert!(out.contains("nif_init"), "{out}");
        assert!(
            out.contains("OXBEAM\\u{1f}init\\u{1f}Elixir.Hello\\u{1f}wrapped\\u{1e}"),
            "{out}"
        );
    }
}
