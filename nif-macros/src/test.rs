//! `#[oxbeam::test]`: registers a function as a test run inside the BEAM (see
//! `oxbeam::testing`). Debug builds only.

use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn};

pub fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    if !attr.is_empty() {
        return Err(syn::Error::new(
            attr.span(),
            "#[oxbeam::test] takes no options",
        ));
    }
    let function: ItemFn = syn::parse2(item)?;
    let sig = &function.sig;
    if let Some(asyncness) = &sig.asyncness {
        return Err(syn::Error::new(
            asyncness.span(),
            "an #[oxbeam::test] function cannot be async",
        ));
    }
    if let Some(param) = sig.generics.type_params().next() {
        return Err(syn::Error::new(
            param.span(),
            "an #[oxbeam::test] function cannot be generic",
        ));
    }
    let call = match sig.inputs.len() {
        0 => quote!({
            let _ = env;
            __oxbeam_test_fn()
        }),
        1 => match sig.inputs.first() {
            Some(FnArg::Typed(_)) => quote!(__oxbeam_test_fn(env)),
            _ => {
                return Err(syn::Error::new(
                    sig.inputs.span(),
                    "an #[oxbeam::test] function takes nothing or `env: Env<'_>`",
                ))
            }
        },
        _ => {
            return Err(syn::Error::new(
                sig.inputs.span(),
                "an #[oxbeam::test] function takes nothing or `env: Env<'_>`",
            ))
        }
    };
    let name = &sig.ident;
    let name_text = name.to_string();
    Ok(quote! {
        #[cfg(debug_assertions)]
        #function

        #[cfg(debug_assertions)]
        const _: () = {
            use #name as __oxbeam_test_fn;
            ::oxbeam::__rt::inventory::submit! {
                ::oxbeam::__rt::TestCase {
                    name: concat!(module_path!(), "::", #name_text),
                    file: file!(),
                    line: line!(),
                    run: |env| ::oxbeam::__rt::TestOutcome::into_outcome(#call),
                }
            }
        };
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_the_function_in_debug_builds() {
        let out = expand(
            quote!(),
            quote!(
                fn adds(env: Env<'_>) {
                    assert!(true);
                }
            ),
        )
        .unwrap()
        .to_string();
        assert!(out.contains("TestCase"), "{out}");
        assert!(out.contains("cfg (debug_assertions)"), "{out}");
        assert!(out.contains("\"adds\""), "{out}");
    }

    #[test]
    fn refuses_two_parameters() {
        let error = expand(
            quote!(),
            quote!(
                fn two(a: i64, b: i64) {}
            ),
        )
        .unwrap_err();
        assert!(error
            .to_string()
            .contains("takes nothing or `env: Env<'_>`"));
    }
}
