//! `#[device_test]`: a `#[test]` that returns early (passing) when the
//! device of its module is missing. `typegrad::per_device!` imports it as
//! `test` in the CUDA copy of a test module, so the `#[test]` attributes of
//! the shared test code (those inside `proptest!` blocks included) become
//! this one there, and stay the built-in one in the CPU copy.

use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};
use quote::quote;

/// What the skipped test must do to pass: return, return `Ok(())`, or
/// (a `#[should_panic]` test) panic with the expected message.
fn skip_action(tokens: &[TokenTree]) -> TokenStream {
    let mut returns_value = false;
    for (i, t) in tokens.iter().enumerate() {
        if let TokenTree::Group(g) = t {
            if g.delimiter() == Delimiter::Bracket && i > 0 {
                if let Some(msg) = should_panic(g) {
                    return match msg {
                        Some(lit) => quote! { ::core::panic!("{}", #lit); },
                        None => quote! { ::core::panic!("skipped: no CUDA device"); },
                    };
                }
            }
        }
        if let TokenTree::Punct(p) = t {
            // `->` of a return type (the body is the last token, after it).
            if p.as_char() == '-' && i + 1 < tokens.len() {
                if let TokenTree::Punct(q) = &tokens[i + 1] {
                    if q.as_char() == '>' {
                        returns_value = true;
                    }
                }
            }
        }
    }
    if returns_value {
        quote! { return ::core::result::Result::Ok(()); }
    } else {
        quote! { return; }
    }
}

/// `Some(expected message)` if `attr` (the `[...]` of an attribute) is
/// `should_panic`.
fn should_panic(attr: &Group) -> Option<Option<TokenTree>> {
    let mut it = attr.stream().into_iter();
    match it.next() {
        Some(TokenTree::Ident(id)) if id == "should_panic" => {}
        _ => return None,
    }
    let args = match it.next() {
        Some(TokenTree::Group(g)) => g.stream().into_iter().collect::<Vec<_>>(),
        _ => return Some(None),
    };
    // `expected = "..."`: the literal after `=`.
    let lit = args
        .iter()
        .position(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == '='))
        .and_then(|i| args.get(i + 1).cloned());
    Some(lit)
}

pub(crate) fn expand(item: TokenStream) -> TokenStream {
    let mut tokens: Vec<TokenTree> = item.into_iter().collect();
    let body = match tokens.pop() {
        Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => g,
        _ => return quote! { ::core::compile_error!("#[test] (device_test) expects a function"); },
    };
    let skip = skip_action(&tokens);
    let head: TokenStream = tokens.into_iter().collect();
    let inner = body.stream();
    quote! {
        #[::core::prelude::v1::test]
        #head {
            if ::typegrad::testing::cuda_missing() {
                #skip
            }
            #inner
        }
    }
}
