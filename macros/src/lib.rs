//! Proc-macros for `typegrad`: plain integer literals become typenum dims,
//! and `#[derive(Module)]` generates a model's parameter traversal (and,
//! for `#[module(sequential)]` structs, `forward` and the chain checks).
//!
//! typenum's own `U<N>` mapping stops at 1024 (plus a few powers), so a
//! 3072-wide MLP or a 50257-token vocabulary cannot be written with it. These
//! macros build the binary typenum type for any `u64` literal. This crate
//! never depends on `typegrad` (which would compile the core twice).
//!
//! Use them through `typegrad` (`typegrad::u!`, `typegrad::nn::Module`).
//!
//! **Paths to `typegrad`.** The generated code names items of the main
//! crate. `typegrad`'s `u!`, `shape!` and `dims!` are `macro_rules!` wrappers
//! that pass their own `$crate` as a first argument (`u!($crate; 784)`), so
//! they work whatever the dependency is called in the user's `Cargo.toml`
//! (and through crates that re-export typegrad). A derive macro has no
//! `$crate`: it emits `::typegrad::...` paths, and a struct that sees the
//! crate under another name says so with `#[module(crate = path)]`, as
//! serde's `#[serde(crate = "...")]`.

extern crate proc_macro;
mod chain;
mod derive;
mod device_test;
mod num;
mod summary;

use proc_macro::TokenStream;

/// The typenum type of an integer literal, with no range limit.
///
/// Call it as `typegrad::u!(50257)`. Called directly, it takes an optional
/// path to `typegrad` before a `;` (`u!(::my_typegrad; 784)`); without one
/// it emits `::typegrad::typenum::...`.
///
/// ```ignore
/// type Vocab = typegrad::u!(50257);
/// ```
#[proc_macro]
pub fn u(input: TokenStream) -> TokenStream {
    num::u(input.into()).into()
}

/// A shape *type*: integers become typenum dims, anything else (`Dyn`, a type
/// parameter, an alias) is kept as written. Takes the same optional
/// `path;` prefix as [`u!`](macro@u).
///
/// ```ignore
/// type Image = typegrad::shape!(Dyn, 1, 28, 28); // (Dyn, U1, U28, U28)
/// ```
#[proc_macro]
pub fn shape(input: TokenStream) -> TokenStream {
    num::shape(input.into()).into()
}

/// A shape *value*: integers become static dims, other expressions (such as
/// `Dyn(8)`) are kept. Takes the same optional `path;` prefix as
/// [`u!`](macro@u).
///
/// ```ignore
/// let s = typegrad::dims!(Dyn(8), 1, 28, 28); // (Dyn(8), U1, U28, U28)
/// ```
#[proc_macro]
pub fn dims(input: TokenStream) -> TokenStream {
    num::dims(input.into()).into()
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
/// On the struct:
///
/// - `#[module(sequential)]` also implements `Module<X>`: the fields
///   (skipped ones excepted) run in declaration order, each on the previous
///   one's output. Where consecutive layers fix their feature sizes
///   (`Linear<I, O>`; activations and dropout pass the size through), a
///   size that does not chain is a compile error at the struct's
///   definition naming the struct, the field and both sizes; see
///   `typegrad::nn::chain`.
/// - `#[module(summary_row)]`: the model summary (`typegrad::nn::Summary`)
///   shows the struct as one row, its output shape taken from its `Module`
///   impl (static shapes only). Without it, a `#[module(sequential)]`
///   struct gets a row per field, and other structs no `Summary` impl (write
///   one that lists the children in the order `forward` runs them).
/// - `#[module(crate = path)]`: the path of the `typegrad` crate, for a
///   dependency renamed in `Cargo.toml` (`tg = { package = "typegrad" }`:
///   `#[module(crate = tg)]`); the default is `::typegrad`.
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
    derive::expand(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// A test that passes without running (printing "skipped: no CUDA device"
/// once per test binary) when no CUDA GPU is present. Used through
/// `typegrad::per_device!`, which imports it as `test` in the CUDA copy of
/// the test items; a `#[should_panic(expected = "..")]` test panics with
/// its expected message when skipped, and one returning a `Result` returns
/// `Ok(())`.
#[proc_macro_attribute]
pub fn device_test(_attr: TokenStream, item: TokenStream) -> TokenStream {
    device_test::expand(item.into()).into()
}
