//! `#[resource]`: registers a type as a resource type, on the struct/enum itself or on
//! an `impl Resource for T` block (to add callbacks such as `down`).

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::spanned::Spanned;
use syn::{Item, Type};

pub fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    if !attr.is_empty() {
        return Err(syn::Error::new(attr.span(), "#[resource] takes no options"));
    }
    let item: Item = syn::parse2(item)?;
    match item {
        Item::Struct(s) => {
            reject_generics(&s.generics)?;
            let ident = &s.ident;
            let ty: Type = syn::parse_quote!(#ident);
            let name = s.ident.to_string();
            let registration = registration(&ty, &name);
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
            let registration = registration(&ty, &ident.to_string());
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
            let registration = registration(&ty, &name);
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

/// The hidden `RegisteredResource` impl: a static type cell made for `ty`, registered
/// for load.
fn registration(ty: &Type, name: &str) -> TokenStream {
    let vm_name = format!("::{name}\0");
    quote! {
        // SAFETY: the type cell is made by ResourceType::new::<Self>, once for this type.
        unsafe impl ::oxbeam::__rt::RegisteredResource for #ty {
        fn __resource_type() -> &'static ::oxbeam::__rt::ResourceType {
            static TYPE: ::oxbeam::__rt::ResourceType = ::oxbeam::__rt::ResourceType::new::<#ty>(
                match ::std::ffi::CStr::from_bytes_with_nul(concat!(module_path!(), #vm_name).as_bytes()) {
                    Ok(name) => name,
                    Err(_) => panic!("resource type names contain no NUL"),
                },
                #name,
            );
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
