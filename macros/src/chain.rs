//! `#[module(sequential)]`: the `Module` impl and the chain checks.
//!
//! Everything is emitted inside one `const _: () = { ... };`:
//!
//! - one trait per field, `ChainAt_<field>`, whose
//!   `#[diagnostic::on_unimplemented]` message names the struct, the field
//!   and (from its parameters) the two sizes in decimal. It is implemented
//!   for the verdicts `Fits` and `Skip` of `typegrad::nn::chain`, never for
//!   `()`, the verdict of a mismatch of two static sizes.
//! - **the check at the definition**: a function generic over the struct's
//!   parameters that walks the fields in order with `typegrad::nn::chain`'s
//!   helpers. Each field is probed for a `FeatureMap` (autoref
//!   specialisation: a type without one is opaque, the size after it
//!   unknown); the verdict of each field goes through its `ChainAt_` trait,
//!   so a mismatch is an error at the field, whether or not `forward` is
//!   ever used. Fields whose type involves a "size" parameter of the struct
//!   (a type or const parameter not bounded by `Dtype`, `Device` or
//!   `Backend`) are opaque here.
//! - **the `Module` impl**. `impl<__X, __X1, ..., __Xn> Module<__X> for S
//!   where F0: Module<__X, Output = __X1>, F1: Module<__X1, Output = __X2>,
//!   ...`: one flat bound per field, each naming the previous output by a
//!   fresh parameter, so the where clause (and checking it) grows linearly
//!   with the depth. (`F1: Module<<F0 as Module<__X>>::Output>` nests the
//!   projections: quadratic.) If some field's type involves a size
//!   parameter, its sizes are only known where the struct is used, so the
//!   bounds also carry the chain state, one field at a time: `<F as
//!   FeatureMap>::Kind: Step<S_k, Next = S_k+1, Verdict = V_k, ...>`,
//!   `V_k: ChainAt_<field><Got, Expected>` and `V_k: Then<F, X_k, Output =
//!   X_k+1>` (`Then` asks for `F: Module<X_k>` only when the verdict is
//!   `Fits`, so a break is reported once, by the readable bound). Such
//!   fields (other than bare type parameters, which are opaque) then need a
//!   `FeatureMap`.

use crate::derive::{respan, Field, Input};
use proc_macro2::{Delimiter, Group, Ident, TokenStream};
use quote::{format_ident, quote};
use syn::parse_quote;

/// Whether a field's type is a bare type parameter (`A`).
fn is_bare_param(inp: &Input, f: &Field) -> bool {
    match &f.ty {
        syn::Type::Path(p) if p.qself.is_none() => inp
            .generics
            .type_params()
            .any(|t| p.path.is_ident(&t.ident)),
        _ => false,
    }
}

pub fn sequential(inp: &Input) -> TokenStream {
    let krate = &inp.krate;
    let ch = quote!(#krate::nn::chain);
    let live: Vec<&Field> = inp.fields.iter().filter(|f| !f.skip).collect();
    let size_params = inp.size_params();
    let sized: Vec<bool> = live
        .iter()
        .map(|f| inp.mentions_params(&f.ty, &size_params))
        .collect();
    // Bare type parameters are opaque either way: only a field like
    // `Linear<I, H>` makes checks where the struct is used worthwhile.
    let use_time = live
        .iter()
        .zip(&sized)
        .any(|(f, &s)| s && !is_bare_param(inp, f));

    // The per-field traits: for the fields checked at the definition (all
    // but the first and the size-generic ones), or for all where the struct
    // is used (the first one against the input's size).
    let mut traits = TokenStream::new();
    let trait_of = |f: &Field| format_ident!("ChainAt_{}", f.plain, span = f.span);
    for (k, f) in live.iter().enumerate() {
        if !use_time && (k == 0 || sized[k]) {
            continue;
        }
        let tr = trait_of(f);
        let before = if k == 0 {
            "the input gives"
        } else {
            "the layers before it give"
        };
        let message = format!(
            "layers of `{}` do not chain: {} takes {{Expected}} features, {before} {{Got}}",
            inp.name, f.describe
        );
        traits.extend(quote! {
            #[diagnostic::on_unimplemented(
                message = #message,
                label = "takes {Expected} features, gets {Got} (sizes digit by digit: N<_1, _2, _8> is 128)"
            )]
            trait #tr<Got, Expected>: Sized {
                fn check(_: #ch::Checked<Self, Got, Expected>) {}
            }
            impl<Got, Expected> #tr<Got, Expected> for #ch::Fits {}
            impl<Got, Expected> #tr<Got, Expected> for #ch::Skip {}
        });
    }

    // The check at the definition.
    let mut body = quote!(let __s = #ch::start(););
    for (k, f) in live.iter().enumerate() {
        if sized[k] {
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
        // The block around `__v` gives the argument the field's span (the
        // error's primary span) while `__v` itself keeps the call site's.
        let tr = trait_of(f);
        let callee = respan(quote!(<_ as #tr<_, _>>::check), f.span);
        let mut arg = Group::new(Delimiter::Brace, quote!(__v));
        arg.set_span(f.span);
        body.extend(quote!(#callee(#arg);));
    }
    let (impl_g, _, where_c) = inp.generics.split_for_impl();
    let check = if live.len() < 2 {
        TokenStream::new()
    } else {
        quote! {
            #[allow(dead_code, unused_variables)]
            fn __typegrad_chain_check #impl_g () #where_c {
                use #ch::{ViaKnown as _, ViaOpaque as _};
                #body
                let _ = __s;
            }
        }
    };

    // The Module impl: flat bounds.
    let mut generics = inp.generics.clone();
    let n = live.len();
    let x = |k: usize| format_ident!("__X{}", k);
    for k in 0..=n {
        let xk = x(k);
        generics.params.push(parse_quote!(#xk));
    }
    let mut body = TokenStream::new();
    {
        let wc = generics.make_where_clause();
        for (k, f) in live.iter().enumerate() {
            let (ty, member, xk, xk1) = (&f.ty, &f.member, x(k), x(k + 1));
            let bound = respan(quote!(: #krate::nn::Module<#xk, Output = #xk1>), f.span);
            wc.predicates.push(parse_quote!(#ty #bound));
            let callee = respan(quote!(<#ty as #krate::nn::Module<#xk>>::forward), f.span);
            body.extend(quote!(let __x = #callee(&self.#member, __x);));
        }
    }
    let (impl_g, _, where_c) = generics.split_for_impl();
    let (ty_impl_g, ty_g, ty_where) = inp.generics.split_for_impl();
    let (name, x0, out) = (&inp.name, x(0), x(n));
    let inherent = if use_time {
        inherent_forward(inp, &live, &ch, &trait_of)
    } else {
        TokenStream::new()
    };
    quote! {
        #[allow(non_camel_case_types, unused_braces, clippy::all)]
        const _: () = {
            #traits
            #check
            #[automatically_derived]
            #[allow(unused_qualifications, clippy::all)]
            impl #impl_g #krate::nn::Module<#x0> for #name #ty_g #where_c {
                type Output = #out;
                fn forward(&self, __x: #x0) -> #out {
                    #body
                    __x
                }
            }
            #[allow(unused_qualifications, private_bounds, clippy::all)]
            impl #ty_impl_g #name #ty_g #ty_where {
                #inherent
            }
        };
    }
}

/// For a struct generic over a size: an inherent `forward` (found before
/// `Module::forward` by method calls) whose own where clause carries the
/// chain, one field at a time, from the input tensor's last dim:
/// `__X0: InputFeatures<State = __S0>`, `__Sk: Step<Kind_k, Next = __Sk+1,
/// Verdict = __Vk, ...>`, `__Vk: ChainAt_<field><__Gk, __Ek>` and `__Vk:
/// Then<F_k, __Xk, Output = __Xk+1>`. Bounds of a method (unlike those of an
/// impl) are checked after the method is chosen, and a failed one is
/// reported by itself, with the message of its trait and the field's span.
fn inherent_forward(
    inp: &Input,
    live: &[&Field],
    ch: &TokenStream,
    trait_of: &dyn Fn(&Field) -> Ident,
) -> TokenStream {
    let n = live.len();
    let id = |p: &str, k: usize| format_ident!("{}{}", p, k);
    let mut params: Vec<Ident> = (0..=n).map(|k| id("__X", k)).collect();
    let (x0, s0) = (id("__X", 0), id("__S", 0));
    let mut preds: Vec<TokenStream> = vec![quote!(#x0: #ch::InputFeatures<State = #s0>)];
    let mut body = TokenStream::new();
    params.push(s0);
    for (k, f) in live.iter().enumerate() {
        let (ty, member) = (&f.ty, &f.member);
        let kind = if is_bare_param(inp, f) {
            quote!(#ch::Opaque)
        } else {
            quote!(<#ty as #ch::FeatureMap>::Kind)
        };
        let (xk, xk1, s, s1) = (
            id("__X", k),
            id("__X", k + 1),
            id("__S", k),
            id("__S", k + 1),
        );
        let (v, g, e) = (id("__V", k), id("__G", k), id("__E", k));
        let tr = trait_of(f);
        preds.push(respan(
            quote!(#s: #ch::Step<#kind, Next = #s1, Verdict = #v, Got = #g, Expected = #e>),
            f.span,
        ));
        preds.push(respan(quote!(#v: #tr<#g, #e>), f.span));
        preds.push(respan(
            quote!(#v: #ch::Then<#ty, #xk, Output = #xk1>),
            f.span,
        ));
        let callee = respan(quote!(<#v as #ch::Then<#ty, #xk>>::run), f.span);
        body.extend(quote!(let __x = #callee(&self.#member, __x);));
        params.extend([s1, v, g, e]);
    }
    let out = id("__X", n);
    quote! {
        /// The derived sequential forward (`#[module(sequential)]`): the
        /// fields in order, with the chain of feature sizes checked from
        /// the input's last dim (see `typegrad::nn::chain`).
        #[allow(clippy::type_complexity, clippy::too_many_arguments)]
        pub fn forward<#(#params),*>(&self, __x: #x0) -> #out
        where
            #(#preds,)*
        {
            #body
            __x
        }
    }
}
