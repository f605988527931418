//! `u!`, `shape!` and `dims!`: integer literals as typenum types.
//!
//! Each takes an optional path to `typegrad` before a top-level `;`
//! (typegrad's wrappers pass their `$crate`); without it the path is
//! `::typegrad`.

use proc_macro2::{Delimiter, Group, Punct, Spacing, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned};

/// Split off a leading `path ;`: the crate path and the rest.
fn crate_prefix(input: TokenStream) -> (TokenStream, Vec<TokenTree>) {
    let tts: Vec<TokenTree> = input.into_iter().collect();
    let semi = tts
        .iter()
        .position(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == ';'));
    match semi {
        Some(i) => (tts[..i].iter().cloned().collect(), tts[i + 1..].to_vec()),
        None => (quote!(::typegrad), tts),
    }
}

/// `UInt<UInt<UTerm, B1>, B0>` (2) under `krate::typenum`.
fn typenum_type(krate: &TokenStream, n: u64) -> TokenStream {
    let tn = quote!(#krate::typenum);
    // Most significant bit is innermost.
    let mut ty = quote!(#tn::UTerm);
    for i in (0..64 - n.leading_zeros()).rev() {
        let bit = if (n >> i) & 1 == 1 {
            quote!(#tn::B1)
        } else {
            quote!(#tn::B0)
        };
        ty = quote!(#tn::UInt<#ty, #bit>);
    }
    ty
}

fn error(msg: &str, span: Span) -> TokenStream {
    quote_spanned!(span=> ::core::compile_error!(#msg))
}

/// An unsigned integer literal (possibly inside an invisible group, as
/// `macro_rules!` passes a `$n:literal`).
fn parse_int(tt: &TokenTree) -> Option<u64> {
    match tt {
        TokenTree::Literal(l) => {
            let s = l.to_string().replace('_', "");
            let s = s
                .trim_end_matches("usize")
                .trim_end_matches("u64")
                .trim_end_matches("u32");
            s.parse().ok()
        }
        TokenTree::Group(g) if g.delimiter() == Delimiter::None => {
            let inner: Vec<TokenTree> = g.stream().into_iter().collect();
            match inner.as_slice() {
                [one] => parse_int(one),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Split at top-level commas (groups are single tokens).
fn split_commas(tts: Vec<TokenTree>) -> Vec<Vec<TokenTree>> {
    let mut out = vec![Vec::new()];
    for tt in tts {
        match &tt {
            TokenTree::Punct(p) if p.as_char() == ',' => out.push(Vec::new()),
            _ => out.last_mut().unwrap().push(tt),
        }
    }
    if out.last().is_some_and(|v| v.is_empty()) {
        out.pop();
    }
    out
}

pub fn u(input: TokenStream) -> TokenStream {
    const MSG: &str = "u!: expected one unsigned integer literal, e.g. u!(784)";
    let (krate, tts) = crate_prefix(input);
    match tts.as_slice() {
        [tt] => match parse_int(tt) {
            Some(n) => typenum_type(&krate, n),
            None => error(MSG, tt.span()),
        },
        _ => error(MSG, Span::call_site()),
    }
}

pub fn shape(input: TokenStream) -> TokenStream {
    let (krate, tts) = crate_prefix(input);
    let parts = split_commas(tts)
        .into_iter()
        .map(|part| match part.as_slice() {
            [one] if parse_int(one).is_some() => typenum_type(&krate, parse_int(one).unwrap()),
            _ => part.into_iter().collect(),
        });
    quote!((#(#parts,)*))
}

pub fn dims(input: TokenStream) -> TokenStream {
    let (krate, tts) = crate_prefix(input);
    let mut out = TokenStream::new();
    for part in split_commas(tts) {
        match part.as_slice() {
            [one] if parse_int(one).is_some() => {
                let ty = typenum_type(&krate, parse_int(one).unwrap());
                out.extend(quote!(<#ty as ::core::default::Default>::default()));
            }
            _ => out.extend(part),
        }
        out.extend([TokenTree::Punct(Punct::new(',', Spacing::Alone))]);
    }
    TokenTree::Group(Group::new(Delimiter::Parenthesis, out)).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(ts: TokenStream) -> String {
        ts.to_string().replace(' ', "")
    }

    #[test]
    fn literals_become_binary_typenum_types() {
        let tn = "::typegrad::typenum::";
        assert_eq!(s(u(quote!(0))), format!("{tn}UTerm"));
        assert_eq!(
            s(u(quote!(2))),
            format!("{tn}UInt<{tn}UInt<{tn}UTerm,{tn}B1>,{tn}B0>")
        );
        assert_eq!(s(u(quote!(1_0usize))), s(u(quote!(10))));
    }

    #[test]
    fn a_crate_path_before_a_semicolon_replaces_typegrad() {
        assert_eq!(
            s(u(quote!(tg; 1))),
            "tg::typenum::UInt<tg::typenum::UTerm,tg::typenum::B1>"
        );
        assert!(s(shape(quote!(::tg; Dyn, 1))).starts_with("(Dyn,::tg::typenum::UInt<"));
        assert!(s(dims(quote!(tg; Dyn(8), 0)))
            .contains("Dyn(8),<tg::typenum::UTermas::core::default::Default>::default(),"));
    }

    #[test]
    fn a_non_literal_is_an_error() {
        assert!(s(u(quote!(x))).contains("compile_error"));
        assert!(s(u(quote!(1, 2))).contains("compile_error"));
    }
}
