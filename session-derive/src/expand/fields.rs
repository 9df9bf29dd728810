//! `SessionFields`: typed values between the session map and the struct,
//! the same on every backend.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::internals::ast::{unraw, Container, Field};

pub fn expand(container: &Container) -> TokenStream {
    let krate = &container.krate;
    let reads = container.fields.iter().map(|field| {
        let ident = field.ident;
        let path = key_path(krate, field);
        let value_ty = field.value_ty;
        // `data` keeps the call-site span of the parameter it names: with the
        // field type's span it would not resolve when the struct comes out
        // of a `macro_rules!`.
        let data = quote!(data);
        let read = quote_spanned!(field.ty.span()=> #path.read::<#value_ty>(#data)?);
        let value = if field.nullable {
            read
        } else {
            let default = match &field.default {
                Some(function) => quote!(#function),
                // Spanned on the type, where a missing `Default` is reported.
                None => quote_spanned!(field.ty.span()=> ::core::default::Default::default),
            };
            quote!(#read.unwrap_or_else(#default))
        };
        quote!(#ident: #value,)
    });
    let puts = container.fields.iter().map(|field| {
        let ident = field.ident;
        let path = key_path(krate, field);
        if field.nullable {
            quote! {
                if let ::core::option::Option::Some(value) = &self.#ident {
                    #path.put(data, value)?;
                }
            }
        } else {
            quote!(#path.put(data, &self.#ident)?;)
        }
    });
    let ident = container.ident;
    let key_paths = container.fields.iter().map(|field| key_path(krate, field));
    quote! {
        #[automatically_derived]
        impl #krate::__private::SessionFields for #ident {
            const KEY_PATHS: &'static [#krate::__private::KeyPath] = &[#(#key_paths),*];

            fn read_fields(data: &#krate::__private::SessionData) -> ::core::result::Result<Self, #krate::__private::Error> {
                ::core::result::Result::Ok(Self { #(#reads)* })
            }

            fn put_fields(&self, data: &mut #krate::__private::SessionData) -> ::core::result::Result<(), #krate::__private::Error> {
                #(#puts)*
                ::core::result::Result::Ok(())
            }
        }
    }
}

/// The field's `KeyPath`, shared by the field code and the table's columns.
pub fn key_path(krate: &syn::Path, field: &Field) -> TokenStream {
    let name = unraw(field.ident);
    let key = &field.key;
    let members = &field.members;
    quote! {
        #krate::__private::KeyPath { field: #name, key: #key, members: &[#(#members),*] }
    }
}
