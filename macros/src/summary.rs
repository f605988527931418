//! `typegrad::nn::Summary` for derived structs: a row per field for a
//! `#[module(sequential)]` struct, or one row for the whole struct with
//! `#[module(summary_row)]`.
//!
//! The sequential impl mirrors the derived `Module` impl: one flat bound per
//! field, each naming the previous output shape by a fresh parameter
//! (`F0: Summary<__S0, E, D, Output = __S1>, F1: Summary<__S1, E, D, Output
//! = __S2>, …`), so its where clause grows linearly with the depth.

use crate::derive::{respan, Field, Input};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{parse_quote, Generics};

/// The struct's generics with the dtype and device parameters of the impl:
/// the struct's own if it declares one of each, else fresh `__E`, `__D`.
fn with_dtype_device(inp: &Input) -> (Generics, TokenStream, TokenStream) {
    let krate = &inp.krate;
    let mut generics = inp.generics.clone();
    let (e, d) = match &inp.dtype_device {
        Some((e, d)) => (quote!(#e), quote!(#d)),
        None => {
            generics.params.push(parse_quote!(__E: #krate::Dtype));
            generics.params.push(parse_quote!(__D: #krate::Backend));
            (quote!(__E), quote!(__D))
        }
    };
    (generics, e, d)
}

/// A row per field (skipped ones excepted), each under its path name, on
/// the previous field's output shape.
pub fn sequential(inp: &Input) -> TokenStream {
    let krate = &inp.krate;
    let live: Vec<&Field> = inp.fields.iter().filter(|f| !f.skip).collect();
    let (mut generics, e, d) = with_dtype_device(inp);
    let n = live.len();
    let s = |k: usize| format_ident!("__S{}", k);
    for k in 0..=n {
        let sk = s(k);
        generics.params.push(parse_quote!(#sk));
    }
    let mut body = TokenStream::new();
    {
        let wc = generics.make_where_clause();
        for k in 0..=n {
            let sk = s(k);
            wc.predicates.push(parse_quote!(#sk: #krate::shape::Shape));
        }
        for (k, f) in live.iter().enumerate() {
            let (ty, member, pn, sk, sk1) = (&f.ty, &f.member, &f.path_name, s(k), s(k + 1));
            let bound = respan(
                quote!(: #krate::nn::Summary<#sk, #e, #d, Output = #sk1>),
                f.span,
            );
            wc.predicates.push(parse_quote!(#ty #bound));
            body.extend(quote!(let __x = __rows.child(#pn, &self.#member, __x)?;));
        }
    }
    let (impl_g, _, where_c) = generics.split_for_impl();
    let (_, ty_g, _) = inp.generics.split_for_impl();
    let (name, s0, out) = (&inp.name, s(0), s(n));
    quote! {
        #[automatically_derived]
        #[allow(unused_qualifications, clippy::all)]
        impl #impl_g #krate::nn::Summary<#s0, #e, #d> for #name #ty_g #where_c {
            type Output = #out;
            fn summarize(
                &self,
                __x: #s0,
                __rows: &mut #krate::nn::SummaryRows,
            ) -> ::core::result::Result<#out, #krate::shape::Error> {
                #body
                ::core::result::Result::Ok(__x)
            }
        }
    }
}

/// One row for the whole struct: its parameter count, and the output shape
/// of its `Module` impl for an untracked input, which must be static (a
/// `Dyn` dim is a runtime error of `SummaryRows::row_static`).
pub fn row(inp: &Input) -> TokenStream {
    let krate = &inp.krate;
    let (mut generics, e, d) = with_dtype_device(inp);
    generics.params.push(parse_quote!(__S));
    generics.params.push(parse_quote!(__S2));
    let (_, ty_g, _) = inp.generics.split_for_impl();
    let name = &inp.name;
    {
        let wc = generics.make_where_clause();
        wc.predicates.push(parse_quote!(__S: #krate::shape::Shape));
        wc.predicates.push(parse_quote!(
            #name #ty_g: #krate::nn::Module<
                #krate::tensor::Tensor<__S, #e, #d>,
                Output = #krate::tensor::Tensor<__S2, #e, #d>,
            > + #krate::nn::Params<#e, #d>
        ));
        wc.predicates.push(parse_quote!(__S2: #krate::shape::Shape));
    }
    let (impl_g, _, where_c) = generics.split_for_impl();
    quote! {
        #[automatically_derived]
        #[allow(unused_qualifications, clippy::all)]
        impl #impl_g #krate::nn::Summary<__S, #e, #d> for #name #ty_g #where_c {
            type Output = __S2;
            fn summarize(
                &self,
                _: __S,
                __rows: &mut #krate::nn::SummaryRows,
            ) -> ::core::result::Result<__S2, #krate::shape::Error> {
                let __n = <Self as #krate::nn::Params<#e, #d>>::num_params(self);
                __rows.row_static::<__S2>(__n)
            }
        }
    }
}
