//! steward's attribute macros. Use them through the `steward` crate:
//! `#[steward::io_bound(path = param)]` and `#[steward::cpu_bound]`.
//!
//! Both keep the function's signature and run it through the process-wide
//! `steward::global()`; both take `async fn` and synchronous `fn` (a
//! synchronous `#[io_bound]` function blocks its thread while it waits for
//! a permit). What steward can fail with (no drive limiter, a
//! panicking job) comes back through the function's own `Result`, so the
//! function returns `Result<T, E>` with `E: From<steward::Error>`:
//! `steward::Error` itself, `std::io::Error`, `anyhow::Error`, or an error
//! of the application's with that `From`.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, Ident, ItemFn, Pat, ReturnType, Type, parse_macro_input};

/// Runs a function holding an IO permit on the drive of one of its
/// parameters (a path: `&Path`, `PathBuf`, `&str`, …) for its whole body.
///
/// An `async fn` awaits the permit. A synchronous `fn` **blocks its
/// thread** until a permit is free (`Drives::acquire_blocking`): call it
/// from threads that may block (a `#[cpu_bound]` body, `spawn_blocking`, a
/// plain thread), never from inside an async task.
///
/// ```ignore
/// #[steward::io_bound(path = file)]
/// async fn read(file: &std::path::Path) -> std::io::Result<Vec<u8>> {
///     tokio::fs::read(file).await
/// }
///
/// #[steward::io_bound(path = file)]
/// fn read_now(file: &std::path::Path) -> std::io::Result<Vec<u8>> {
///     std::fs::read(file)
/// }
/// ```
#[proc_macro_attribute]
pub fn io_bound(attr: TokenStream, item: TokenStream) -> TokenStream {
    let function = parse_macro_input!(item as ItemFn);
    expand_io_bound(attr.into(), function)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Runs a function's body on the CPU pool of the process-wide `Steward`.
///
/// A synchronous function blocks its caller until the body is done and may
/// recurse: a call from inside the pool runs inline. An `async fn` awaits
/// the pool instead (its parameters must then be owned, `'static`).
///
/// ```ignore
/// #[steward::cpu_bound]
/// fn factorial(n: u64) -> Result<u64, steward::Error> {
///     if n <= 1 { return Ok(1); }
///     Ok(n * factorial(n - 1)?)
/// }
/// ```
#[proc_macro_attribute]
pub fn cpu_bound(attr: TokenStream, item: TokenStream) -> TokenStream {
    let function = parse_macro_input!(item as ItemFn);
    expand_cpu_bound(attr.into(), function)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

fn expand_io_bound(attr: TokenStream2, function: ItemFn) -> syn::Result<TokenStream2> {
    let parameter = parse_path_argument(attr)?;
    if !has_parameter(&function, &parameter) {
        return Err(syn::Error::new(
            parameter.span(),
            format!("`{parameter}` is not a parameter of this function"),
        ));
    }
    require_result(&function, "io_bound")?;
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = function;
    let permit = Ident::new("__steward_io_permit", Span::mixed_site());
    let acquire = match sig.asyncness {
        Some(_) => quote! { acquire(&#parameter).await },
        None => quote! { acquire_blocking(&#parameter) },
    };
    Ok(quote! {
        #(#attrs)*
        #vis #sig {
            let #permit = ::steward::global()?.drives().#acquire.map_err(::steward::Error::from)?;
            #block
        }
    })
}

fn expand_cpu_bound(attr: TokenStream2, function: ItemFn) -> syn::Result<TokenStream2> {
    if !attr.is_empty() {
        return Err(syn::Error::new(
            attr.span(),
            "#[cpu_bound] takes no arguments",
        ));
    }
    let output = require_result(&function, "cpu_bound")?;
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = function;
    let cpu = Ident::new("__steward_cpu", Span::mixed_site());
    let run = match sig.asyncness {
        Some(_) => quote! { #cpu.run(move || -> #output #block).await },
        None => quote! { #cpu.run_blocking(move || -> #output #block) },
    };
    Ok(quote! {
        #(#attrs)*
        #vis #sig {
            let #cpu = ::steward::global()?.cpu().clone();
            match #run {
                ::core::result::Result::Ok(result) => result,
                ::core::result::Result::Err(error) => ::core::result::Result::Err(
                    ::core::convert::From::from(::steward::Error::from(error)),
                ),
            }
        }
    })
}

/// `path = ident`
fn parse_path_argument(attr: TokenStream2) -> syn::Result<Ident> {
    let usage = "expected `#[io_bound(path = parameter)]`";
    let name_value: syn::MetaNameValue =
        syn::parse2(attr.clone()).map_err(|err| syn::Error::new(err.span(), usage))?;
    if !name_value.path.is_ident("path") {
        return Err(syn::Error::new(name_value.path.span(), usage));
    }
    match name_value.value {
        syn::Expr::Path(path) if path.path.get_ident().is_some() => Ok(path
            .path
            .get_ident()
            .cloned()
            .ok_or_else(|| syn::Error::new(attr.span(), usage))?),
        other => Err(syn::Error::new(other.span(), usage)),
    }
}

fn has_parameter(function: &ItemFn, name: &Ident) -> bool {
    function.sig.inputs.iter().any(|input| match input {
        FnArg::Typed(typed) => matches!(&*typed.pat, Pat::Ident(pat) if pat.ident == *name),
        FnArg::Receiver(_) => false,
    })
}

/// The return type, which must be some `…Result<…>`.
fn require_result(function: &ItemFn, macro_name: &str) -> syn::Result<TokenStream2> {
    let message = format!(
        "#[{macro_name}] functions return `Result<T, E>` with `E: From<steward::Error>` \
         (for example `steward::Error` or `std::io::Error`), so steward's failures have a way out"
    );
    let ReturnType::Type(_, output) = &function.sig.output else {
        return Err(syn::Error::new(function.sig.span(), message));
    };
    let is_result = match &**output {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .is_some_and(|last| last.ident.to_string().ends_with("Result")),
        _ => false,
    };
    if !is_result {
        return Err(syn::Error::new(output.span(), message));
    }
    Ok(quote_spanned! { output.span() => #output })
}
