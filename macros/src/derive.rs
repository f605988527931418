//! `#[derive(Module)]`: parameter traversal (and, with
//! `#[module(sequential)]`, `forward` plus the chain checks of
//! `chain.rs`) for a model struct.
//!
//! Field types and bounds are copied through as tokens. Where generated code
//! should report an error at a field, the tokens that carry the obligation
//! get the field's span, except `$crate` (left as it came from the
//! `macro_rules!` that wrote the struct) and local variables and `self`
//! (their span decides what they resolve to).

use proc_macro2::{Group, Ident, Span, TokenStream, TokenTree};
use quote::{quote, ToTokens};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{
    parse_quote, Data, DeriveInput, Error, Expr, ExprLit, GenericParam, Generics, Lit, Member,
    Meta, Path, Token, Type, TypeParamBound, WherePredicate,
};

type Result<T> = core::result::Result<T, Error>;

/// Give every token (recursively) the span `span`, so errors in generated
/// code point at the user's field; `$crate` keeps its own.
pub(crate) fn respan(input: TokenStream, span: Span) -> TokenStream {
    input
        .into_iter()
        .map(|tt| match tt {
            TokenTree::Group(g) => {
                let mut n = Group::new(g.delimiter(), respan(g.stream(), span));
                n.set_span(span);
                TokenTree::Group(n)
            }
            TokenTree::Ident(i) if i == "$crate" => TokenTree::Ident(i),
            mut other => {
                other.set_span(span);
                other
            }
        })
        .collect()
}

/// Every identifier in a token stream, looking inside groups.
pub(crate) fn idents(tokens: TokenStream, out: &mut Vec<String>) {
    for tt in tokens {
        match tt {
            TokenTree::Ident(i) => out.push(i.to_string()),
            TokenTree::Group(g) => idents(g.stream(), out),
            _ => {}
        }
    }
}

/// A type as a person writes it: `Vec<f32>` rather than `Vec < f32 >`.
fn pretty(ty: &Type) -> String {
    let mut s = ty.to_token_stream().to_string();
    for (from, to) in [
        (" < ", "<"),
        (" <", "<"),
        ("< ", "<"),
        (" >", ">"),
        (" ,", ","),
        (" :: ", "::"),
        (":: ", "::"),
        ("& ", "&"),
        (" ;", ";"),
    ] {
        s = s.replace(from, to);
    }
    s
}

pub(crate) struct Field {
    /// The Rust accessor: `l1`, `r#type` or `0`.
    pub member: Member,
    /// The parameter path component: the name (without `r#`), the index, or
    /// the `rename`.
    pub path_name: String,
    /// What messages call it: `` field `l1` `` or `field 0`.
    pub describe: String,
    /// The name without `r#`, or the index.
    pub plain: String,
    pub ty: Type,
    /// Where errors about this field point: its name, or (tuple fields) the
    /// start of its type.
    pub span: Span,
    pub skip: bool,
}

pub(crate) struct Input {
    pub name: Ident,
    pub generics: Generics,
    pub fields: Vec<Field>,
    pub sequential: bool,
    /// `#[module(summary_row)]`: the model summary shows the struct as one
    /// row.
    pub summary_row: bool,
    /// The path of the `typegrad` crate (`::typegrad` unless
    /// `#[module(crate = ...)]`).
    pub krate: TokenStream,
    /// The dtype and device parameters, if the struct declares exactly one of
    /// each.
    pub dtype_device: Option<(Ident, Ident)>,
}

impl Input {
    /// Names of the struct's type and const parameters other than the
    /// detected dtype and device.
    pub fn other_params(&self) -> Vec<String> {
        self.generics
            .params
            .iter()
            .filter_map(|p| match p {
                GenericParam::Type(t) => Some(t.ident.to_string()),
                GenericParam::Const(c) => Some(c.ident.to_string()),
                GenericParam::Lifetime(_) => None,
            })
            .filter(|n| {
                !self
                    .dtype_device
                    .as_ref()
                    .is_some_and(|(e, d)| e == n || d == n)
            })
            .collect()
    }

    /// Names of the struct's "size" parameters: type and const parameters
    /// not bounded by `Dtype`, `Device` or `Backend` (those of the chain
    /// checks).
    pub fn size_params(&self) -> Vec<String> {
        self.generics
            .params
            .iter()
            .filter_map(|p| match p {
                GenericParam::Type(t) => {
                    let names = param_bounds(&self.generics, &t.ident);
                    let backend = names
                        .iter()
                        .any(|b| b == "Dtype" || b == "Device" || b == "Backend");
                    (!backend).then(|| t.ident.to_string())
                }
                GenericParam::Const(c) => Some(c.ident.to_string()),
                GenericParam::Lifetime(_) => None,
            })
            .collect()
    }

    /// Whether a type names one of `params`.
    pub fn mentions_params(&self, ty: &Type, params: &[String]) -> bool {
        let mut names = Vec::new();
        idents(ty.to_token_stream(), &mut names);
        names.iter().any(|n| params.contains(n))
    }
}

/// The `#[module(...)]` attributes among `attrs`: each with the span of
/// `module` and its items (`None`: written without a list).
fn module_attrs(attrs: &[syn::Attribute]) -> Result<Vec<(Span, Option<Vec<Meta>>)>> {
    let mut out = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("module")) {
        let span = attr.path().span();
        match &attr.meta {
            Meta::List(_) => {
                let items =
                    attr.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)?;
                out.push((span, Some(items.into_iter().collect())));
            }
            _ => out.push((span, None)),
        }
    }
    Ok(out)
}

fn meta_text(m: &Meta) -> String {
    m.to_token_stream().to_string()
}

const FIELD_OPTIONS: &str =
    "expected `skip` (the field holds no parameters) or `rename = \"name\"` (its name in parameter paths)";

/// `(skip, rename)` of a field.
fn field_opts(attrs: &[syn::Attribute]) -> Result<(bool, Option<String>)> {
    let (mut skip, mut rename) = (false, None);
    for (span, items) in module_attrs(attrs)? {
        let Some(items) = items.filter(|i| !i.is_empty()) else {
            return Err(Error::new(
                span,
                format!("#[module] on a field needs an option: {FIELD_OPTIONS}"),
            ));
        };
        for item in items {
            match &item {
                Meta::Path(p) if p.is_ident("skip") => skip = true,
                Meta::NameValue(nv) if nv.path.is_ident("rename") => match &nv.value {
                    Expr::Lit(ExprLit {
                        lit: Lit::Str(s), ..
                    }) if !s.value().is_empty() => rename = Some(s.value()),
                    Expr::Lit(ExprLit {
                        lit: Lit::Str(s), ..
                    }) => {
                        return Err(Error::new(
                            s.span(),
                            "#[module(rename = ...)] needs a non-empty plain string, e.g. rename = \"fc1\"",
                        ))
                    }
                    other => {
                        return Err(Error::new(
                            other.span(),
                            "#[module(rename = ...)] needs a string, e.g. #[module(rename = \"fc1\")]",
                        ))
                    }
                },
                m if m.path().is_ident("rename") => {
                    return Err(Error::new(
                        m.path().span(),
                        "#[module(rename = ...)] needs a string, e.g. #[module(rename = \"fc1\")]",
                    ))
                }
                m if m.path().is_ident("sequential")
                    || m.path().is_ident("summary_row")
                    || m.path().is_ident("crate") =>
                {
                    return Err(Error::new(
                        m.path().span(),
                        format!(
                            "#[module({})] belongs on the struct, not on a field",
                            m.path().to_token_stream()
                        ),
                    ))
                }
                m => {
                    return Err(Error::new(
                        m.path().span(),
                        format!(
                            "unknown #[module] option `{}` on a field: {FIELD_OPTIONS}",
                            meta_text(m)
                        ),
                    ))
                }
            }
        }
    }
    if skip && rename.is_some() {
        return Err(Error::new(
            Span::call_site(),
            "#[module(skip)] and #[module(rename)] on one field: a skipped field has no parameter names",
        ));
    }
    Ok((skip, rename))
}

const STRUCT_OPTIONS: &str = "expected `sequential` (fields run in order as forward), `summary_row` (one row in the model summary) or `crate = path` (the path of a renamed typegrad dependency)";

/// `(sequential, summary_row, crate path)` of the struct.
fn struct_opts(attrs: &[syn::Attribute]) -> Result<(bool, bool, TokenStream)> {
    let (mut sequential, mut summary_row, mut krate) = (false, false, quote!(::typegrad));
    for (span, items) in module_attrs(attrs)? {
        let Some(items) = items.filter(|i| !i.is_empty()) else {
            return Err(Error::new(
                span,
                format!("#[module] on a struct needs an option: {STRUCT_OPTIONS}"),
            ));
        };
        for item in items {
            match &item {
                Meta::Path(p) if p.is_ident("sequential") => sequential = true,
                Meta::Path(p) if p.is_ident("summary_row") => summary_row = true,
                Meta::NameValue(nv) if nv.path.is_ident("crate") => {
                    let path: Path =
                        match &nv.value {
                            Expr::Path(p) if p.qself.is_none() => p.path.clone(),
                            Expr::Lit(ExprLit {
                                lit: Lit::Str(s), ..
                            }) => s.parse()?,
                            other => return Err(Error::new(
                                other.span(),
                                "#[module(crate = ...)] needs a path, e.g. #[module(crate = tg)]",
                            )),
                        };
                    krate = path.to_token_stream();
                }
                m if m.path().is_ident("skip") || m.path().is_ident("rename") => {
                    return Err(Error::new(
                        m.path().span(),
                        format!(
                            "#[module({})] belongs on a field, not on the struct",
                            m.path().to_token_stream()
                        ),
                    ))
                }
                m => {
                    return Err(Error::new(
                        m.path().span(),
                        format!(
                            "unknown #[module] option `{}` on a struct: {STRUCT_OPTIONS}",
                            meta_text(m)
                        ),
                    ))
                }
            }
        }
    }
    Ok((sequential, summary_row, krate))
}

/// Last path segment of each trait bound.
fn bound_names<'a>(bounds: impl Iterator<Item = &'a TypeParamBound>, out: &mut Vec<String>) {
    for b in bounds {
        if let TypeParamBound::Trait(t) = b {
            if let Some(seg) = t.path.segments.last() {
                out.push(seg.ident.to_string());
            }
        }
    }
}

/// The dtype and device type parameters, if the struct declares exactly one
/// parameter bounded by `Dtype` and one by `Device`/`Backend`.
/// The trait names (last path segments) bounding the type parameter
/// `param`, inline or in the where clause.
fn param_bounds(generics: &Generics, param: &Ident) -> Vec<String> {
    let mut names = Vec::new();
    for tp in generics.type_params().filter(|t| &t.ident == param) {
        bound_names(tp.bounds.iter(), &mut names);
    }
    for pred in generics.where_clause.iter().flat_map(|w| &w.predicates) {
        if let WherePredicate::Type(pt) = pred {
            if matches!(&pt.bounded_ty, Type::Path(p) if p.qself.is_none() && p.path.is_ident(param))
            {
                bound_names(pt.bounds.iter(), &mut names);
            }
        }
    }
    names
}

fn find_dtype_device(generics: &Generics) -> Option<(Ident, Ident)> {
    let (mut dtype, mut device) = (Vec::new(), Vec::new());
    for tp in generics.type_params() {
        let names = param_bounds(generics, &tp.ident);
        if names.iter().any(|b| b == "Dtype") {
            dtype.push(tp.ident.clone());
        }
        if names.iter().any(|b| b == "Device" || b == "Backend") {
            device.push(tp.ident.clone());
        }
    }
    match (dtype.as_slice(), device.as_slice()) {
        ([e], [d]) if e != d => Some((e.clone(), d.clone())),
        _ => None,
    }
}

fn parse(input: TokenStream) -> Result<Input> {
    let input: DeriveInput = syn::parse2(input)?;
    let (sequential, summary_row, krate) = struct_opts(&input.attrs)?;
    let data = match input.data {
        Data::Struct(s) => s,
        Data::Enum(e) => {
            return Err(Error::new(
                e.enum_token.span,
                "#[derive(Module)] supports structs only; wrap the alternatives in a struct of Option fields",
            ))
        }
        Data::Union(u) => {
            return Err(Error::new(
                u.union_token.span,
                "#[derive(Module)] supports structs only; wrap the alternatives in a struct of Option fields",
            ))
        }
    };
    let mut fields = Vec::new();
    for (index, f) in data.fields.into_iter().enumerate() {
        let (skip, rename) = field_opts(&f.attrs)?;
        let (member, plain, describe, span) = match &f.ident {
            Some(id) => {
                let s = id.to_string();
                let plain = s.strip_prefix("r#").unwrap_or(&s).to_string();
                let describe = format!("field `{plain}`");
                (Member::Named(id.clone()), plain, describe, id.span())
            }
            None => {
                let span = f.ty.span();
                let member = Member::Unnamed(syn::Index {
                    index: index as u32,
                    span,
                });
                (member, index.to_string(), format!("field {index}"), span)
            }
        };
        fields.push(Field {
            member,
            path_name: rename.unwrap_or_else(|| plain.clone()),
            describe,
            plain,
            ty: f.ty,
            span,
            skip,
        });
    }
    let dtype_device = find_dtype_device(&input.generics);
    Ok(Input {
        name: input.ident,
        generics: input.generics,
        fields,
        sequential,
        summary_row,
        krate,
        dtype_device,
    })
}

/// Types made only of these names hold no parameters for certain (std
/// scalars, strings and containers of them).
const NEVER_MODULES: &[&str] = &[
    "bool", "char", "str", "String", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16",
    "i32", "i64", "i128", "isize", "f32", "f64", "Vec", "Option", "Box", "static", "mut", "std",
    "alloc", "string", "vec", "option", "boxed",
];

/// A std type that can never be a module (`usize`, `Vec<f32>`, `String`):
/// reported where the struct is defined, naming the field.
fn obviously_not_module(ty: &Type) -> bool {
    let mut names = Vec::new();
    idents(ty.to_token_stream(), &mut names);
    !names.is_empty() && names.iter().all(|n| NEVER_MODULES.contains(&n.as_str()))
}

pub fn expand(input: TokenStream) -> Result<TokenStream> {
    let inp = parse(input)?;
    let live: Vec<&Field> = inp.fields.iter().filter(|f| !f.skip).collect();
    for (k, f) in live.iter().enumerate() {
        if let Some(first) = live[..k].iter().find(|g| g.path_name == f.path_name) {
            return Err(Error::new(
                f.span,
                format!(
                    "{} and {} of `{}` would both be named `{}` in parameter paths: rename one with #[module(rename = \"...\")]",
                    first.describe, f.describe, inp.name, f.path_name
                ),
            ));
        }
    }
    let mut errors: Option<Error> = None;
    for f in live.iter().filter(|f| obviously_not_module(&f.ty)) {
        let e = Error::new(
            f.span,
            format!(
                "{} of `{}` has type `{}`, which holds no parameters: mark it #[module(skip)] \
                 (fields of a #[derive(Module)] struct must be modules or tensors)",
                f.describe,
                inp.name,
                pretty(&f.ty)
            ),
        );
        match &mut errors {
            Some(all) => all.combine(e),
            None => errors = Some(e),
        }
    }
    if let Some(e) = errors {
        return Err(e);
    }
    let mut out = params_impl(&inp);
    if inp.sequential {
        out.extend(crate::chain::sequential(&inp));
    }
    if inp.summary_row {
        out.extend(crate::summary::row(&inp));
    } else if inp.sequential {
        out.extend(crate::summary::sequential(&inp));
    }
    Ok(out)
}

fn params_impl(inp: &Input) -> TokenStream {
    let krate = &inp.krate;
    let mut generics = inp.generics.clone();
    let (e, d) = match &inp.dtype_device {
        Some((e, d)) => (e.to_token_stream(), d.to_token_stream()),
        None => {
            generics.params.push(parse_quote!(__E: #krate::Dtype));
            generics.params.push(parse_quote!(__D: #krate::Backend));
            (quote!(__E), quote!(__D))
        }
    };
    let trait_path = quote!(#krate::nn::Params<#e, #d>);
    let other = inp.other_params();
    let fields: Vec<&Field> = inp.fields.iter().filter(|f| !f.skip).collect();
    {
        let wc = generics.make_where_clause();
        for f in &fields {
            // With the struct's own dtype/device parameters, a field whose
            // type involves no other parameter is checked where the struct is
            // defined (no bound). Otherwise the bound makes the impl apply
            // only where the field is a module; it points at the field if it
            // is not.
            if inp.dtype_device.is_none() || inp.mentions_params(&f.ty, &other) {
                let ty = &f.ty;
                let bound = respan(quote!(: #trait_path), f.span);
                wc.predicates.push(parse_quote!(#ty #bound));
            }
        }
    }
    let (impl_g, _, where_c) = generics.split_for_impl();
    let (_, ty_g, _) = inp.generics.split_for_impl();
    let name = &inp.name;

    let mut visit = TokenStream::new();
    let mut visit_mut = TokenStream::new();
    let mut to_dev = TokenStream::new();
    for f in &fields {
        let (pn, ty, member) = (&f.path_name, &f.ty, &f.member);
        // The obligation `FieldType: Params` arises at these calls: the
        // callee carries the field's span so an error points at the field.
        let callee = |method: &str| {
            let m = Ident::new(method, Span::call_site());
            respan(quote!(<#ty as #trait_path>::#m), f.span)
        };
        let (v, vm, mv) = (
            callee("visit_params"),
            callee("visit_params_mut"),
            callee("move_to_device"),
        );
        visit.extend(quote! {
            __path.push(#pn);
            #v(&self.#member, __path, __f);
            __path.pop();
        });
        visit_mut.extend(quote! {
            __path.push(#pn);
            #vm(&mut self.#member, __path, __f);
            __path.pop();
        });
        to_dev.extend(quote!(#mv(&mut self.#member, __device);));
    }
    let (unused, unused_dev) = if fields.is_empty() {
        (quote!(let _ = (__path, __f);), quote!(let _ = __device;))
    } else {
        (quote!(), quote!())
    };
    quote! {
        #[automatically_derived]
        #[allow(unused_qualifications, clippy::all)]
        impl #impl_g #trait_path for #name #ty_g #where_c {
            fn visit_params(
                &self,
                __path: &mut #krate::nn::ParamPath,
                __f: &mut dyn FnMut(&#krate::nn::ParamPath, #krate::nn::ParamRef<'_, #e, #d>),
            ) {
                #unused
                #visit
            }
            fn visit_params_mut(
                &mut self,
                __path: &mut #krate::nn::ParamPath,
                __f: &mut dyn FnMut(&#krate::nn::ParamPath, #krate::nn::ParamMut<'_, #e, #d>),
            ) {
                #unused
                #visit_mut
            }
            fn move_to_device(&mut self, __device: &#d) {
                #unused_dev
                #to_dev
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(src: &str) -> core::result::Result<String, String> {
        let ts: TokenStream = src.parse().unwrap();
        expand(ts).map(|t| t.to_string()).map_err(|e| e.to_string())
    }

    #[test]
    fn crate_option_takes_a_path_or_a_string() {
        let out = expand_str("#[module(crate = tg)] struct S { a: A }").unwrap();
        assert!(out.contains("tg :: nn :: Params"));
        assert!(!out.contains("typegrad"));
        let out = expand_str("#[module(crate = \"::tg\")] struct S { a: A }").unwrap();
        assert!(out.contains(":: tg :: nn :: Params"));
        let err = expand_str("#[module(crate = 1)] struct S { a: A }").unwrap_err();
        assert!(err.contains("needs a path"), "{err}");
    }

    #[test]
    fn misplaced_and_unknown_options_are_named() {
        let err = expand_str("#[module(skip)] struct S { a: A }").unwrap_err();
        assert!(err.contains("belongs on a field"), "{err}");
        let err = expand_str("struct S { #[module(crate = tg)] a: A }").unwrap_err();
        assert!(err.contains("belongs on the struct"), "{err}");
        let err = expand_str("#[module(seq)] struct S { a: A }").unwrap_err();
        assert!(
            err.contains("unknown #[module] option `seq` on a struct"),
            "{err}"
        );
        let err = expand_str("enum E { A }").unwrap_err();
        assert!(err.contains("structs only"), "{err}");
    }

    /// The sequential impl's size grows linearly with the depth: nested
    /// `<F as Module<…>>::Output` projections would grow quadratically.
    #[test]
    fn sequential_expansion_is_linear_in_depth() {
        let size = |n: usize| {
            let fields: String = (0..n).map(|i| format!("f{i}: L, ")).collect();
            expand_str(&format!("#[module(sequential)] struct S {{ {fields} }}"))
                .unwrap()
                .len()
        };
        let (a, b) = (size(16), size(64));
        // Linear: about 4x (plus a constant); quadratic would be about 16x.
        assert!(b < 5 * a, "16 fields: {a} bytes, 64 fields: {b} bytes");
    }

    #[test]
    fn const_expression_where_clauses_and_generics_pass_through() {
        let out = expand_str(
            "#[module(sequential)] struct S<'a, T, const N: usize> where T: W<{ N }> + W<{ 1 + 2 }> { a: T, b: [L; N], #[module(skip)] c: &'a str }",
        )
        .unwrap();
        assert!(out.contains("W < { N } >"), "{out}");
        assert!(out.contains("W < { 1 + 2 } >"), "{out}");
        assert!(out.contains("const N : usize"), "{out}");
    }
}
