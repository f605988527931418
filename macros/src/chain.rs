//! The chain check of a `#[module(sequential)]` struct, at its definition.
//!
//! Emits, inside `const _: () = { ... };`, a function generic over the
//! struct's parameters that walks the fields in order with the helpers of
//! `typegrad::nn::chain`: each field is probed for a `FeatureMap` (autoref
//! specialisation: a field type without one is opaque, the size after it
//! unknown), and the feature size carried from the layers before it is
//! compared with the size it takes. A mismatch of two static sizes is an
//! unsatisfied bound of a trait generated for that field, whose
//! `#[diagnostic::on_unimplemented]` message names the struct, the field and
//! both sizes in decimal; the bound carries the field's span.
//!
//! Fields whose type involves the struct's type or const parameters (other
//! than its dtype and device) are opaque here: their sizes are not known
//! until the struct is used, where `forward`'s bounds check them.

use crate::derive::{respan, Field, Input};
use proc_macro2::{Delimiter, Group, TokenStream};
use quote::{format_ident, quote};

pub fn definition_check(inp: &Input) -> TokenStream {
    let krate = &inp.krate;
    let ch = quote!(#krate::nn::chain);
    let live: Vec<&Field> = inp.fields.iter().filter(|f| !f.skip).collect();
    if live.len() < 2 {
        return TokenStream::new();
    }
    let params = inp.other_params();
    let mut traits = TokenStream::new();
    let mut body = quote!(let __s = #ch::start(););
    for (k, f) in live.iter().enumerate() {
        if inp.mentions_params(&f.ty, &params) {
            body.extend(quote!(let __s = #ch::start();));
            continue;
        }
        let ty = &f.ty;
        body.extend(quote! {
            let (__v, __s) = #ch::step(__s, (&#ch::Probe::<#ty>::new()).kind());
        });
        if k == 0 {
            body.extend(quote!(let _ = __v;));
            continue;
        }
        let tr = format_ident!("ChainAt_{}", f.plain, span = f.span);
        let message = format!(
            "layers of `{}` do not chain: {} takes {{Expected}} features, the layers before it give {{Got}}",
            inp.name, f.describe
        );
        traits.extend(quote! {
            #[diagnostic::on_unimplemented(
                message = #message,
                label = "takes {Expected} features, gets {Got}",
                note = "feature sizes are printed digit by digit: N<_1, _2, _8> is 128"
            )]
            trait #tr<Got, Expected>: Sized {
                fn check(_: #ch::Checked<Self, Got, Expected>) {}
            }
            impl<Got, Expected> #tr<Got, Expected> for #ch::Fits {}
        });
        // The block around `__v` gives the argument the field's span (the
        // error's primary span) while `__v` itself keeps the call site's.
        let callee = respan(quote!(<_ as #tr<_, _>>::check), f.span);
        let mut arg = Group::new(Delimiter::Brace, quote!(__v));
        arg.set_span(f.span);
        body.extend(quote!(#callee(#arg);));
    }
    let (impl_g, _, where_c) = inp.generics.split_for_impl();
    quote! {
        #[allow(non_camel_case_types, unused_braces, clippy::all)]
        const _: () = {
            use #ch::{ViaKnown as _, ViaOpaque as _};
            #traits
            #[allow(dead_code, unused_variables)]
            fn __typegrad_chain_check #impl_g () #where_c {
                #body
                let _ = __s;
            }
        };
    }
}
