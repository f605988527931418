//! `#[derive(Module)]`: parameter traversal (and optionally a sequential
//! `forward`) for a model struct, parsed by hand from the token stream.
//!
//! Only the struct's outline is parsed: attributes, name, generics, where
//! clause and fields. Field types and bounds are copied through as tokens.
//! See the documentation of the derive in `lib.rs` for the generated code.

use proc_macro::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};

/// A compile error at a span.
pub struct Error {
    msg: String,
    span: Span,
}

impl Error {
    fn new(span: Span, msg: impl Into<String>) -> Self {
        Error {
            msg: msg.into(),
            span,
        }
    }

    /// `::core::compile_error!("...")` with every token at the error's span.
    pub fn into_compile_error(self) -> TokenStream {
        compile_error(&self.msg, self.span)
    }
}

fn compile_error(msg: &str, span: Span) -> TokenStream {
    let mut ts: TokenStream = "::core::compile_error!".parse().unwrap();
    let mut lit = Literal::string(msg);
    lit.set_span(span);
    let mut g = Group::new(Delimiter::Parenthesis, TokenTree::Literal(lit).into());
    g.set_span(span);
    ts.extend([TokenTree::Group(g), punct(';')]);
    respan(ts, span)
}

type Tokens = Vec<TokenTree>;

fn punct(c: char) -> TokenTree {
    TokenTree::Punct(Punct::new(c, Spacing::Alone))
}

fn is_punct(tt: &TokenTree, c: char) -> bool {
    matches!(tt, TokenTree::Punct(p) if p.as_char() == c)
}

fn is_ident(tt: &TokenTree, name: &str) -> bool {
    matches!(tt, TokenTree::Ident(i) if i.to_string() == name)
}

/// Parse Rust source text into tokens (call-site spans).
fn ts(s: &str) -> TokenStream {
    s.parse().expect("typegrad-macros generated invalid tokens")
}

/// Give every token (recursively) the span `span`, so errors in generated
/// code point at the user's field.
fn respan(input: TokenStream, span: Span) -> TokenStream {
    input
        .into_iter()
        .map(|tt| match tt {
            TokenTree::Group(g) => {
                let mut n = Group::new(g.delimiter(), respan(g.stream(), span));
                n.set_span(span);
                TokenTree::Group(n)
            }
            mut other => {
                other.set_span(span);
                other
            }
        })
        .collect()
}

/// Split at commas outside `<...>` (groups are single tokens already).
fn split_top_commas(tokens: &[TokenTree]) -> Vec<Tokens> {
    let mut out = vec![Vec::new()];
    let mut depth = 0i32;
    let mut prev_minus = false;
    for tt in tokens {
        let mut minus = false;
        if let TokenTree::Punct(p) = tt {
            match p.as_char() {
                '<' => depth += 1,
                // `->` in `Fn(A) -> B` is not a closing angle bracket.
                '>' if !prev_minus => depth -= 1,
                ',' if depth == 0 => {
                    out.push(Vec::new());
                    prev_minus = false;
                    continue;
                }
                '-' => minus = p.spacing() == Spacing::Joint,
                _ => {}
            }
        }
        prev_minus = minus;
        out.last_mut().unwrap().push(tt.clone());
    }
    if out.last().is_some_and(|v| v.is_empty()) {
        out.pop();
    }
    out
}

/// Every identifier in a token list, looking inside groups.
fn idents(tokens: &[TokenTree], out: &mut Vec<String>) {
    for tt in tokens {
        match tt {
            TokenTree::Ident(i) => out.push(i.to_string()),
            TokenTree::Group(g) => idents(&g.stream().into_iter().collect::<Vec<_>>(), out),
            _ => {}
        }
    }
}

/// A type as a person writes it: `Vec<f32>` rather than `Vec < f32 >`.
fn pretty(tokens: &[TokenTree]) -> String {
    let mut s = to_string(tokens);
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

fn stream(tokens: &[TokenTree]) -> TokenStream {
    tokens.iter().cloned().collect()
}

fn to_string(tokens: &[TokenTree]) -> String {
    stream(tokens).to_string()
}

/// One generic parameter of the struct.
struct GenericParam {
    /// `'a`, `T` or `N`.
    name: String,
    kind: ParamKind,
    /// The declaration without its default: `T: Bound`, `const N: usize`.
    decl: Tokens,
}

#[derive(PartialEq)]
enum ParamKind {
    Lifetime,
    Type,
    Const,
}

/// `#[module(...)]` options on a field.
#[derive(Default)]
struct FieldOpts {
    skip: bool,
    rename: Option<String>,
}

struct Field {
    /// The Rust accessor: `l1`, `r#type` or `0`.
    member: TokenTree,
    /// The parameter path component: the name (without `r#`), the index, or
    /// the `rename`.
    path_name: String,
    /// What messages call it: `` field `l1` `` or `field 0`.
    describe: String,
    ty: Tokens,
    /// Where errors about this field point: its name, or (tuple fields) the
    /// start of its type.
    span: Span,
    opts: FieldOpts,
}

struct Input {
    name: Ident,
    generics: Vec<GenericParam>,
    /// Predicates of the where clause (without `where`).
    where_preds: Vec<Tokens>,
    fields: Vec<Field>,
    sequential: bool,
}

/// Parse `#[module(...)]` out of an attribute group body; `None` if the
/// attribute is some other one (doc, derive, cfg, ...).
fn module_attr(body: &Group) -> Option<(Span, Vec<Tokens>)> {
    let inner: Tokens = body.stream().into_iter().collect();
    if !inner.is_empty() && is_ident(&inner[0], "module") {
        match inner.get(1) {
            Some(TokenTree::Group(g))
                if g.delimiter() == Delimiter::Parenthesis && inner.len() == 2 =>
            {
                let items: Tokens = g.stream().into_iter().collect();
                Some((inner[0].span(), split_top_commas(&items)))
            }
            _ => Some((inner[0].span(), Vec::new())),
        }
    } else {
        None
    }
}

/// Take leading `#[...]` attributes; return the `#[module(...)]` ones.
fn take_attrs(tokens: &[TokenTree], i: &mut usize) -> Vec<(Span, Vec<Tokens>)> {
    let mut out = Vec::new();
    while *i + 1 < tokens.len() && is_punct(&tokens[*i], '#') {
        match &tokens[*i + 1] {
            TokenTree::Group(g) if g.delimiter() == Delimiter::Bracket => {
                if let Some(a) = module_attr(g) {
                    out.push(a);
                }
                *i += 2;
            }
            _ => break,
        }
    }
    out
}

/// Skip `pub`, `pub(crate)`, `pub(in path)`, ... For a tuple field,
/// `pub (A, B)` is a visibility followed by a tuple type, so the parenthesis
/// counts as part of the visibility only if it starts with `crate`, `self`,
/// `super` or `in`.
fn skip_vis(tokens: &[TokenTree], i: &mut usize) {
    if *i < tokens.len() && is_ident(&tokens[*i], "pub") {
        *i += 1;
        if let Some(TokenTree::Group(g)) = tokens.get(*i) {
            if g.delimiter() == Delimiter::Parenthesis {
                let first = g.stream().into_iter().next();
                if first.is_some_and(|t| {
                    ["crate", "self", "super", "in"]
                        .iter()
                        .any(|k| is_ident(&t, k))
                }) {
                    *i += 1;
                }
            }
        }
    }
}

const FIELD_OPTIONS: &str =
    "expected `skip` (the field holds no parameters) or `rename = \"name\"` (its name in parameter paths)";

fn field_opts(attrs: Vec<(Span, Vec<Tokens>)>) -> Result<FieldOpts, Error> {
    let mut opts = FieldOpts::default();
    for (span, items) in attrs {
        if items.is_empty() {
            return Err(Error::new(
                span,
                format!("#[module] on a field needs an option: {FIELD_OPTIONS}"),
            ));
        }
        for item in items {
            match item.as_slice() {
                [k] if is_ident(k, "skip") => opts.skip = true,
                [k, eq, TokenTree::Literal(lit)] if is_ident(k, "rename") && is_punct(eq, '=') => {
                    let s = lit.to_string();
                    let name = s
                        .strip_prefix('"')
                        .and_then(|s| s.strip_suffix('"'))
                        .filter(|n| !n.is_empty() && !n.contains('\\'));
                    match name {
                        Some(n) => opts.rename = Some(n.to_string()),
                        None => {
                            return Err(Error::new(
                                lit.span(),
                                "#[module(rename = ...)] needs a non-empty plain string, e.g. rename = \"fc1\"",
                            ))
                        }
                    }
                }
                [k, ..] if is_ident(k, "rename") => {
                    return Err(Error::new(
                        k.span(),
                        "#[module(rename = ...)] needs a string, e.g. #[module(rename = \"fc1\")]",
                    ))
                }
                [k, ..] if is_ident(k, "sequential") => {
                    return Err(Error::new(
                        k.span(),
                        "#[module(sequential)] belongs on the struct, not on a field",
                    ))
                }
                [k, ..] => {
                    return Err(Error::new(
                        k.span(),
                        format!(
                            "unknown #[module] option `{}` on a field: {FIELD_OPTIONS}",
                            to_string(&item)
                        ),
                    ))
                }
                [] => {}
            }
        }
    }
    if opts.skip && opts.rename.is_some() {
        return Err(Error::new(
            Span::call_site(),
            "#[module(skip)] and #[module(rename)] on one field: a skipped field has no parameter names",
        ));
    }
    Ok(opts)
}

fn parse_generics(tokens: &[TokenTree]) -> Vec<GenericParam> {
    split_top_commas(tokens)
        .into_iter()
        .filter_map(|mut p| {
            // Drop attributes on generic parameters.
            let mut i = 0;
            take_attrs(&p, &mut i);
            p.drain(..i);
            if p.is_empty() {
                return None;
            }
            let (name, kind) = if is_punct(&p[0], '\'') {
                (
                    format!("'{}", p.get(1).map(|t| t.to_string()).unwrap_or_default()),
                    ParamKind::Lifetime,
                )
            } else if is_ident(&p[0], "const") {
                (
                    p.get(1).map(|t| t.to_string()).unwrap_or_default(),
                    ParamKind::Const,
                )
            } else {
                (p[0].to_string(), ParamKind::Type)
            };
            // Cut a default `= ...` at angle depth 0.
            let mut depth = 0i32;
            let mut end = p.len();
            for (j, tt) in p.iter().enumerate() {
                if let TokenTree::Punct(q) = tt {
                    match q.as_char() {
                        '<' => depth += 1,
                        '>' if j == 0 || !is_punct(&p[j - 1], '-') => depth -= 1,
                        '=' if depth == 0 => {
                            end = j;
                            break;
                        }
                        _ => {}
                    }
                }
            }
            p.truncate(end);
            Some(GenericParam {
                name,
                kind,
                decl: p,
            })
        })
        .collect()
}

fn parse(input: TokenStream) -> Result<Input, Error> {
    let tokens: Tokens = input.into_iter().collect();
    let mut i = 0;
    let mut sequential = false;
    for (span, items) in take_attrs(&tokens, &mut i) {
        if items.is_empty() {
            return Err(Error::new(
                span,
                "#[module] on a struct needs an option: expected `sequential`",
            ));
        }
        for item in items {
            match item.as_slice() {
                [k] if is_ident(k, "sequential") => sequential = true,
                [k, ..] if is_ident(k, "skip") || is_ident(k, "rename") => {
                    return Err(Error::new(
                        k.span(),
                        format!("#[module({})] belongs on a field, not on the struct", k),
                    ))
                }
                [k, ..] => {
                    return Err(Error::new(
                        k.span(),
                        format!(
                            "unknown #[module] option `{}` on a struct: expected `sequential` (fields run in order as forward)",
                            to_string(&item)
                        ),
                    ))
                }
                [] => {}
            }
        }
    }
    skip_vis(&tokens, &mut i);
    match tokens.get(i) {
        Some(t) if is_ident(t, "struct") => i += 1,
        Some(t) if is_ident(t, "enum") || is_ident(t, "union") => {
            return Err(Error::new(
                t.span(),
                "#[derive(Module)] supports structs only; wrap the alternatives in a struct of Option fields",
            ))
        }
        _ => return Err(Error::new(Span::call_site(), "#[derive(Module)] expects a struct")),
    }
    let name = match tokens.get(i) {
        Some(TokenTree::Ident(id)) => id.clone(),
        _ => {
            return Err(Error::new(
                Span::call_site(),
                "#[derive(Module)]: expected the struct's name",
            ))
        }
    };
    i += 1;

    // Generics: from `<` to the matching `>`.
    let mut generics = Vec::new();
    if tokens.get(i).is_some_and(|t| is_punct(t, '<')) {
        let start = i + 1;
        let mut depth = 0i32;
        let mut j = i;
        loop {
            let Some(tt) = tokens.get(j) else {
                return Err(Error::new(
                    name.span(),
                    "#[derive(Module)]: unclosed generics",
                ));
            };
            if is_punct(tt, '<') {
                depth += 1;
            } else if is_punct(tt, '>') && !is_punct(&tokens[j - 1], '-') {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            j += 1;
        }
        generics = parse_generics(&tokens[start..j]);
        i = j + 1;
    }

    // Where clause before a brace body or a `;` (unit struct); the body.
    let mut where_tokens: Tokens = Vec::new();
    let mut take_where = |i: &mut usize| {
        if tokens.get(*i).is_some_and(|t| is_ident(t, "where")) {
            *i += 1;
            while let Some(tt) = tokens.get(*i) {
                let brace = matches!(tt, TokenTree::Group(g) if g.delimiter() == Delimiter::Brace);
                if brace || is_punct(tt, ';') {
                    break;
                }
                where_tokens.push(tt.clone());
                *i += 1;
            }
        }
    };
    let fields = match tokens.get(i) {
        Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis => {
            i += 1;
            take_where(&mut i);
            parse_fields(g, false)?
        }
        _ => {
            take_where(&mut i);
            match tokens.get(i) {
                Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => {
                    parse_fields(g, true)?
                }
                Some(t) if is_punct(t, ';') => Vec::new(),
                _ => {
                    return Err(Error::new(
                        name.span(),
                        "#[derive(Module)]: expected the struct's fields",
                    ))
                }
            }
        }
    };
    let where_preds = split_top_commas(&where_tokens);
    Ok(Input {
        name,
        generics,
        where_preds,
        fields,
        sequential,
    })
}

fn parse_fields(body: &Group, named: bool) -> Result<Vec<Field>, Error> {
    let tokens: Tokens = body.stream().into_iter().collect();
    let mut out = Vec::new();
    for (index, f) in split_top_commas(&tokens).into_iter().enumerate() {
        let mut i = 0;
        let attrs = take_attrs(&f, &mut i);
        skip_vis(&f, &mut i);
        let (member, path_name, describe, span) = if named {
            let Some(TokenTree::Ident(id)) = f.get(i) else {
                return Err(Error::new(
                    body.span(),
                    "#[derive(Module)]: expected a field name",
                ));
            };
            if !f.get(i + 1).is_some_and(|t| is_punct(t, ':')) {
                return Err(Error::new(
                    id.span(),
                    "#[derive(Module)]: expected `:` after the field name",
                ));
            }
            let s = id.to_string();
            let plain = s.strip_prefix("r#").unwrap_or(&s).to_string();
            i += 2;
            (
                TokenTree::Ident(id.clone()),
                plain.clone(),
                format!("field `{plain}`"),
                id.span(),
            )
        } else {
            let Some(first) = f.get(i) else {
                return Err(Error::new(
                    body.span(),
                    "#[derive(Module)]: expected a field type",
                ));
            };
            let mut lit = Literal::usize_unsuffixed(index);
            lit.set_span(first.span());
            (
                TokenTree::Literal(lit),
                index.to_string(),
                format!("field {index}"),
                first.span(),
            )
        };
        let ty: Tokens = f[i..].to_vec();
        if ty.is_empty() {
            return Err(Error::new(span, "#[derive(Module)]: expected a field type"));
        }
        let opts = field_opts(attrs)?;
        let path_name = opts.rename.clone().unwrap_or(path_name);
        out.push(Field {
            member,
            path_name,
            describe,
            ty,
            span,
            opts,
        });
    }
    Ok(out)
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
fn obviously_not_module(ty: &[TokenTree]) -> bool {
    let mut names = Vec::new();
    idents(ty, &mut names);
    !names.is_empty() && names.iter().all(|n| NEVER_MODULES.contains(&n.as_str()))
}

/// The dtype and device type parameters, if the struct declares exactly one
/// parameter bounded by `Dtype` and one by `Device`/`Backend`.
fn find_dtype_device(inp: &Input) -> Option<(String, String)> {
    let mut dtype = Vec::new();
    let mut device = Vec::new();
    for g in inp.generics.iter().filter(|g| g.kind == ParamKind::Type) {
        let mut bounds = Vec::new();
        idents(&g.decl[1..], &mut bounds);
        for p in &inp.where_preds {
            if p.len() >= 2
                && is_ident(&p[0], &g.name)
                && is_punct(&p[1], ':')
                && !is_punct(&p[2.min(p.len() - 1)], ':')
            {
                idents(&p[2..], &mut bounds);
            }
        }
        if bounds.iter().any(|b| b == "Dtype") {
            dtype.push(g.name.clone());
        }
        if bounds.iter().any(|b| b == "Device" || b == "Backend") {
            device.push(g.name.clone());
        }
    }
    match (dtype.as_slice(), device.as_slice()) {
        ([e], [d]) if e != d => Some((e.clone(), d.clone())),
        _ => None,
    }
}

pub fn expand(input: TokenStream) -> Result<TokenStream, Error> {
    let inp = parse(input)?;
    let live: Vec<&Field> = inp.fields.iter().filter(|f| !f.opts.skip).collect();
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
    let mut errors = TokenStream::new();
    for f in &inp.fields {
        if !f.opts.skip && obviously_not_module(&f.ty) {
            errors.extend(compile_error(
                &format!(
                    "{} of `{}` has type `{}`, which holds no parameters: mark it #[module(skip)] \
                     (fields of a #[derive(Module)] struct must be modules or tensors)",
                    f.describe,
                    inp.name,
                    pretty(&f.ty)
                ),
                f.span,
            ));
        }
    }
    if !errors.is_empty() {
        return Ok(errors);
    }
    let mut out = params_impl(&inp);
    if inp.sequential {
        out.extend(sequential_impl(&inp));
    }
    Ok(out)
}

/// `<'a, T, N>` (the struct's arguments) and the declarations
/// (lifetimes first, then `extra`, then the rest).
fn generics_parts(inp: &Input, extra: &str) -> (TokenStream, TokenStream) {
    let mut args = TokenStream::new();
    for g in &inp.generics {
        args.extend(ts(&g.name));
        args.extend([punct(',')]);
    }
    let mut decls = TokenStream::new();
    for g in inp
        .generics
        .iter()
        .filter(|g| g.kind == ParamKind::Lifetime)
    {
        decls.extend(stream(&g.decl));
        decls.extend([punct(',')]);
    }
    decls.extend(ts(extra));
    for g in inp
        .generics
        .iter()
        .filter(|g| g.kind != ParamKind::Lifetime)
    {
        decls.extend(stream(&g.decl));
        decls.extend([punct(',')]);
    }
    (args, decls)
}

fn angle(inner: TokenStream) -> TokenStream {
    let mut t = TokenStream::new();
    t.extend([punct('<')]);
    t.extend(inner);
    t.extend([punct('>')]);
    t
}

fn group(delim: Delimiter, inner: TokenStream) -> TokenTree {
    TokenTree::Group(Group::new(delim, inner))
}

fn existing_where(inp: &Input) -> TokenStream {
    let mut w = TokenStream::new();
    for p in &inp.where_preds {
        w.extend(stream(p));
        w.extend([punct(',')]);
    }
    w
}

fn params_impl(inp: &Input) -> TokenStream {
    let detected = find_dtype_device(inp);
    let (e, d, extra) = match &detected {
        Some((e, d)) => (e.clone(), d.clone(), String::new()),
        None => (
            "__E".to_string(),
            "__D".to_string(),
            "__E: ::typegrad::Dtype, __D: ::typegrad::Backend,".to_string(),
        ),
    };
    let (args, decls) = generics_parts(inp, &extra);
    let trait_path = format!("::typegrad::nn::Params<{e}, {d}>");
    let other_params: Vec<&str> = inp
        .generics
        .iter()
        .filter(|g| g.kind != ParamKind::Lifetime && g.name != e && g.name != d)
        .map(|g| g.name.as_str())
        .collect();

    let mut where_clause = existing_where(inp);
    let fields: Vec<&Field> = inp.fields.iter().filter(|f| !f.opts.skip).collect();
    for f in &fields {
        // With the struct's own dtype/device parameters, a field whose type
        // involves no other parameter is checked where the struct is defined
        // (no bound). Otherwise the bound makes the impl apply only where the
        // field is a module; it points at the field if it is not.
        let mut names = Vec::new();
        idents(&f.ty, &mut names);
        let needs_bound =
            detected.is_none() || names.iter().any(|n| other_params.contains(&n.as_str()));
        if needs_bound {
            where_clause.extend(stream(&f.ty));
            where_clause.extend(respan(ts(&format!(": {trait_path},")), f.span));
        }
    }

    let mut visit = TokenStream::new();
    let mut visit_mut = TokenStream::new();
    let mut to_dev = TokenStream::new();
    for f in &fields {
        let name = Literal::string(&f.path_name);
        for (body, method, amp) in [
            (&mut visit, "visit_params", "&"),
            (&mut visit_mut, "visit_params_mut", "&mut"),
        ] {
            body.extend(ts("__path.push"));
            body.extend([
                group(
                    Delimiter::Parenthesis,
                    TokenTree::Literal(name.clone()).into(),
                ),
                punct(';'),
            ]);
            // The obligation `FieldType: Params` arises at this call: give it
            // the field's span so an error points at the field.
            let mut call = ts(&format!("<{} as {trait_path}>::{method}", to_string(&f.ty)));
            let mut a = ts(&format!("{amp} self."));
            a.extend([f.member.clone()]);
            a.extend(ts(", __path, __f"));
            call.extend([group(Delimiter::Parenthesis, a)]);
            body.extend(respan(call, f.span));
            body.extend(ts("; __path.pop();"));
        }
        let mut call = ts(&format!(
            "<{} as {trait_path}>::move_to_device",
            to_string(&f.ty)
        ));
        let mut a = ts("&mut self.");
        a.extend([f.member.clone()]);
        a.extend(ts(", __device"));
        call.extend([group(Delimiter::Parenthesis, a)]);
        to_dev.extend(respan(call, f.span));
        to_dev.extend([punct(';')]);
    }
    let (path_arg, f_ty, self_unused) = (
        "__path: &mut ::typegrad::nn::ParamPath",
        |r: &str| {
            format!("__f: &mut dyn FnMut(&::typegrad::nn::ParamPath, ::typegrad::nn::{r}<'_, {e}, {d}>)")
        },
        if fields.is_empty() {
            "let _ = (__path, __f);"
        } else {
            ""
        },
    );

    let mut out = ts("#[automatically_derived] #[allow(unused_qualifications, clippy::all)] impl");
    out.extend(angle(decls));
    out.extend(ts(&trait_path));
    out.extend(ts("for"));
    out.extend([TokenTree::Ident(inp.name.clone())]);
    out.extend(angle(args));
    out.extend(ts("where"));
    out.extend(where_clause);
    let mut items = TokenStream::new();
    items.extend(ts(&format!(
        "fn visit_params(&self, {path_arg}, {})",
        f_ty("ParamRef")
    )));
    let mut b = ts(self_unused);
    b.extend(visit);
    items.extend([group(Delimiter::Brace, b)]);
    items.extend(ts(&format!(
        "fn visit_params_mut(&mut self, {path_arg}, {})",
        f_ty("ParamMut")
    )));
    let mut b = ts(self_unused);
    b.extend(visit_mut);
    items.extend([group(Delimiter::Brace, b)]);
    items.extend(ts(&format!("fn move_to_device(&mut self, __device: &{d})")));
    let mut b = ts(if fields.is_empty() {
        "let _ = __device;"
    } else {
        ""
    });
    b.extend(to_dev);
    items.extend([group(Delimiter::Brace, b)]);
    out.extend([group(Delimiter::Brace, items)]);
    out
}

/// `impl<X> Module<X> for S where F0: Module<X>, F1: Module<<F0 as Module<X>>::Output>, ...`
fn sequential_impl(inp: &Input) -> TokenStream {
    let (args, decls) = generics_parts(inp, "__X,");
    let mut where_clause = existing_where(inp);
    let mut input_ty = String::from("__X");
    let mut body = TokenStream::new();
    for f in inp.fields.iter().filter(|f| !f.opts.skip) {
        let ty = to_string(&f.ty);
        where_clause.extend(stream(&f.ty));
        where_clause.extend(respan(
            ts(&format!(": ::typegrad::nn::Module<{input_ty}>,")),
            f.span,
        ));
        body.extend(ts("let __x ="));
        let mut call = ts(&format!(
            "<{ty} as ::typegrad::nn::Module<{input_ty}>>::forward"
        ));
        let mut a = ts("&self.");
        a.extend([f.member.clone()]);
        a.extend(ts(", __x"));
        call.extend([group(Delimiter::Parenthesis, a)]);
        body.extend(respan(call, f.span));
        body.extend([punct(';')]);
        input_ty = format!("<{ty} as ::typegrad::nn::Module<{input_ty}>>::Output");
    }
    body.extend(ts("__x"));
    let mut out = ts("#[automatically_derived] #[allow(unused_qualifications, clippy::all)] impl");
    out.extend(angle(decls));
    out.extend(ts("::typegrad::nn::Module<__X> for"));
    out.extend([TokenTree::Ident(inp.name.clone())]);
    out.extend(angle(args));
    out.extend(ts("where"));
    out.extend(where_clause);
    let mut items = ts(&format!(
        "type Output = {input_ty}; fn forward(&self, __x: __X) -> Self::Output"
    ));
    items.extend([group(Delimiter::Brace, body)]);
    out.extend([group(Delimiter::Brace, items)]);
    out
}
