//! Proc-macros for `typegrad`: plain integer literals become typenum dims,
//! and `#[derive(Module)]` generates a model's parameter traversal.
//!
//! typenum's own `U<N>` mapping stops at 1024 (plus a few powers), so a
//! 3072-wide MLP or a 50257-token vocabulary cannot be written with it. These
//! macros build the binary typenum type for any `u64` literal. They emit paths
//! under `::typegrad::typenum`, so this crate never depends on `typegrad`
//! (which would compile the core twice) and needs no `syn`.
//!
//! Use them through the re-exports in `typegrad` (`typegrad::u!`, ...).

extern crate proc_macro;
mod derive;
use proc_macro::{Delimiter, Group, Punct, Spacing, Span, TokenStream, TokenTree};

/// Path prefix of typenum inside the main crate.
const TN: &str = "::typegrad::typenum";

fn typenum_type(n: u64) -> String {
    if n == 0 {
        return format!("{TN}::UTerm");
    }
    // Most significant bit is innermost: UInt<UInt<UTerm, B1>, B0> is 2.
    let mut s = format!("{TN}::UTerm");
    let bits = 64 - n.leading_zeros();
    for i in (0..bits).rev() {
        let b = if (n >> i) & 1 == 1 { "B1" } else { "B0" };
        s = format!("{TN}::UInt<{s}, {TN}::{b}>");
    }
    s
}

fn error(msg: &str, span: Span) -> TokenStream {
    let mut ts: TokenStream = "::core::compile_error!".parse().unwrap();
    let lit = TokenTree::Literal(proc_macro::Literal::string(msg));
    let mut g = Group::new(Delimiter::Parenthesis, lit.into());
    g.set_span(span);
    ts.extend([TokenTree::Group(g)]);
    ts
}

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
            if inner.len() == 1 {
                parse_int(&inner[0])
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Split a token stream at top-level commas.
fn split_commas(input: TokenStream) -> Vec<Vec<TokenTree>> {
    let mut out = vec![Vec::new()];
    for tt in input {
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

/// The typenum type of an integer literal, with no range limit.
///
/// ```ignore
/// type Vocab = typegrad::u!(50257);
/// ```
#[proc_macro]
pub fn u(input: TokenStream) -> TokenStream {
    let tts: Vec<TokenTree> = input.into_iter().collect();
    match tts.as_slice() {
        [tt] => match parse_int(tt) {
            Some(n) => typenum_type(n).parse().unwrap(),
            None => error(
                "u!: expected one unsigned integer literal, e.g. u!(784)",
                tt.span(),
            ),
        },
        _ => error(
            "u!: expected one unsigned integer literal, e.g. u!(784)",
            Span::call_site(),
        ),
    }
}

/// A shape *type*: integers become typenum dims, anything else (`Dyn`, a type
/// parameter, an alias) is kept as written.
///
/// ```ignore
/// type Image = typegrad::shape!(Dyn, 1, 28, 28); // (Dyn, U1, U28, U28)
/// ```
#[proc_macro]
pub fn shape(input: TokenStream) -> TokenStream {
    let mut out = String::from("(");
    for part in split_commas(input) {
        if part.len() == 1 {
            if let Some(n) = parse_int(&part[0]) {
                out.push_str(&typenum_type(n));
                out.push(',');
                continue;
            }
        }
        let ts: TokenStream = part.into_iter().collect();
        out.push_str(&ts.to_string());
        out.push(',');
    }
    out.push(')');
    out.parse().unwrap()
}

/// A shape *value*: integers become static dims, other expressions (such as
/// `Dyn(8)`) are kept.
///
/// ```ignore
/// let s = typegrad::dims!(Dyn(8), 1, 28, 28); // (Dyn(8), U1, U28, U28)
/// ```
#[proc_macro]
pub fn dims(input: TokenStream) -> TokenStream {
    let mut out = TokenStream::new();
    for part in split_commas(input) {
        if part.len() == 1 {
            if let Some(n) = parse_int(&part[0]) {
                let ts: TokenStream = format!(
                    "<{} as ::core::default::Default>::default()",
                    typenum_type(n)
                )
                .parse()
                .unwrap();
                out.extend(ts);
                out.extend([TokenTree::Punct(Punct::new(',', Spacing::Alone))]);
                continue;
            }
        }
        out.extend(part);
        out.extend([TokenTree::Punct(Punct::new(',', Spacing::Alone))]);
    }
    TokenTree::Group(Group::new(Delimiter::Parenthesis, out)).into()
}

/// Parameter traversal for a model struct: implements
/// `typegrad::nn::Params` by visiting the fields in declaration order, each
/// under its name (tuple structs: its index), so parameter paths read like a
/// PyTorch `state_dict`: `blocks.0.fc.weight`.
///
/// Fields must be modules: tensors, `#[derive(Module)]` structs, layers, and
/// `Vec`s, arrays, tuples, `Option`s and `Box`es of them. Other fields are
/// marked:
///
/// - `#[module(skip)]`: the field holds no parameters (a size, a flag, a
///   config); it is not visited.
/// - `#[module(rename = "name")]`: its path component is `name` (to match a
///   PyTorch checkpoint) instead of the field's name.
///
/// On the struct, `#[module(sequential)]` also implements `Module<X>`: the
/// fields (skipped ones excepted) run in declaration order, each on the
/// previous one's output.
///
/// The dtype and device: if the struct has exactly one type parameter bounded
/// by `Dtype` and one by `Device`/`Backend`, the impl is
/// `Params<E, D>` for those, and a field that is not a module is an error
/// where the struct is defined. Otherwise the impl is generic,
/// `impl<__E: Dtype, __D: Backend> Params<__E, __D> for S where
/// FieldType: Params<__E, __D>, ...` (a struct of `f32`/`Cpu` layers is then
/// `Params<f32, Cpu>`), and a non-module field is reported where the model
/// is used as a module, pointing at the field. Fields of std scalar,
/// string or container-of-scalar types (`usize`, `Vec<f32>`, `String`)
/// are always reported at the definition.
///
/// ```ignore
/// use typegrad::nn::Module;
/// #[derive(Module)]
/// struct Block<E: Dtype, D: Device<E>> {
///     fc: Linear<U4, U4, E, D>,      // "fc.weight", "fc.bias"
///     #[module(rename = "ln")]
///     norm: LayerNorm<U4, E, D>,     // "ln.weight", ...
///     #[module(skip)]
///     width: usize,
/// }
/// ```
///
/// Runnable examples are in the documentation of `typegrad::nn`.
#[proc_macro_derive(Module, attributes(module))]
pub fn derive_module(input: TokenStream) -> TokenStream {
    derive::expand(input).unwrap_or_else(derive::Error::into_compile_error)
}
