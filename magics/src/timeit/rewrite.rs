//! The code a timing magic becomes.
//!
//! Everything is wrapped in a block `{ … }` so evcxr persists no new
//! names, and the timed code sits in a closure so notebook variables are
//! used by reference and are all still there afterwards. The runtime is
//! reached only through `::parlab::__private::…` (absolute paths, so user
//! code cannot shadow them). Shape of `%timeit STMT`:
//!
//! ```text
//! { ::parlab::__private::timeit(OPTIONS, |__parlab_run: ::parlab::__private::Run| -> ::std::time::Duration {
//!     SETUP;                                   // once per call: untimed
//!     let __parlab_t = __parlab_run.start();
//!     for __parlab_k in __parlab_run.chunks() { // interrupt check between chunks
//!         for _ in 0..__parlab_k { ::std::hint::black_box({ STMT }); }
//!     }
//!     __parlab_t.elapsed()
//! }); }
//! ```
//!
//! A statement that is one expression goes into `black_box(STMT)` without
//! the braces (they would draw an `unused_braces` warning).
//! The per-iteration cost is the inner `for` and the `black_box`, which is
//! what criterion and divan pay too. Cell forms keep the body on the cell's
//! own lines (the header shares the `%%` line), so rustc's line numbers
//! still point at the user's code.

use super::grammar::{Clock, TimeArgs, TimeitArgs};

const P: &str = "::parlab::__private";
/// How a `%%time` cell whose body runs at top level starts.
pub(crate) const TIME_START: &str = "::parlab::__private::time_start(";

/// `TimeitOptions { every field, ..DEFAULT }`: every option is written
/// out, so the runtime's defaults never decide what the user asked for
/// (`..DEFAULT` only fills fields a newer runtime adds).
fn options(a: &TimeitArgs<'_>, started_ns: u128) -> String {
    let clock = match a.clock {
        Clock::Cpu => "Cpu",
        Clock::Wall => "Wall",
    };
    format!(
        "{P}::TimeitOptions {{ loops: {}, repeat: {}, precision: {}, quiet: {}, allocs: {}, clock: {P}::Clock::{clock}, \
         cell_started_unix_ns: {started_ns}, ..{P}::TimeitOptions::DEFAULT }}",
        a.loops, a.repeat, a.precision, a.quiet, a.allocs
    )
}

/// The timing call: `timeit(opts, |run| { SETUP TIMED })` where `timed`
/// is laid out by the caller (one line or the cell's lines).
fn timeit_call(a: &TimeitArgs<'_>, started_ns: u128, setup: &str, timed_open: &str, body: &str, close: &str) -> String {
    format!(
        "{P}::timeit({}, |__parlab_run: {P}::Run| -> ::std::time::Duration {{ {setup}{timed_open}{body}{close}",
        options(a, started_ns),
    )
}

/// Closes `black_box({ BODY` … and the loops and closure.
const CLOSE_BLOCK: &str = " }); } } __parlab_t.elapsed() })";
/// Closes `black_box(EXPR` … and the loops and closure.
const CLOSE_BARE: &str = "); } } __parlab_t.elapsed() })";

const TIMED_OPEN: &str =
    "let __parlab_t = __parlab_run.start(); for __parlab_k in __parlab_run.chunks() { for _ in 0..__parlab_k { ::std::hint::black_box({ ";

/// Wraps the value of a magic: bound (`let r = VALUE;`), returned as the
/// block's value, or discarded.
fn finish(value_expr: String, returns: bool, binding: &str, semicolon: bool) -> String {
    match (binding.is_empty(), returns) {
        (false, true) => format!("{binding} {{ {value_expr} }};"),
        (false, false) => format!("{binding} {{ {value_expr}; }};"),
        (true, true) => format!("{{ {value_expr} }}{}", if semicolon { ";" } else { "" }),
        // A statement, not a `()` value: evcxr would show `()` as the
        // cell's result, and IPython's `%timeit` without `-o` shows none.
        (true, false) => format!("{{ {value_expr}; }};"),
    }
}

/// `%timeit [opts] STMT` on one line.
pub(crate) fn timeit_line(a: &TimeitArgs<'_>, stmt: &str, semicolon: bool, binding: &str, started_ns: u128) -> String {
    // A lone expression goes into `black_box(…)` bare: braces around it
    // would draw rustc's `unused_braces` warning.
    // (syn reads `let x = e` as an expression too: the `let` of `if let`.)
    let call = if syn::parse_str::<syn::Expr>(stmt).is_ok_and(|e| !matches!(e, syn::Expr::Let(_))) {
        let open = TIMED_OPEN.strip_suffix("{ ").unwrap_or(TIMED_OPEN);
        timeit_call(a, started_ns, "", open, stmt, CLOSE_BARE)
    } else if syn::parse_str::<syn::Block>(&format!("{{ {stmt} }}")).is_ok() {
        timeit_call(a, started_ns, "", TIMED_OPEN, stmt, CLOSE_BLOCK)
    } else {
        // `let w = v.clone()` (its `;` split off as the user's): a block
        // needs the semicolon back.
        timeit_call(a, started_ns, "", TIMED_OPEN, &format!("{stmt};"), CLOSE_BLOCK)
    };
    match &a.var {
        Some(var) => format!("let {var} = {{ {call} }};"),
        None => finish(call, a.output, binding, semicolon),
    }
}

/// `%%timeit [opts] [SETUP]` + body: line 1 holds the header and setup,
/// the body keeps its own lines.
pub(crate) fn timeit_cell(a: &TimeitArgs<'_>, setup: &str, body: &str, started_ns: u128) -> String {
    let setup = if setup.is_empty() || setup.ends_with(';') { setup.to_owned() } else { format!("{setup};") };
    let call = timeit_call(a, started_ns, &format!("{setup}\n"), TIMED_OPEN, &format!("{body}\n"), CLOSE_BLOCK);
    match &a.var {
        Some(var) => format!("let {var} = {{ {call} }};"),
        None if a.output => format!("{{ {call} }}"),
        None => format!("{{ {call}; }};"),
    }
}

/// `time_cell(..)` guard around code whose value is the block's value.
/// `ty` (the user's `let x: T` annotation) goes on the inner binding, so a
/// mismatch is reported on the user's expression, not on the harness.
fn timed_once(t: &TimeArgs<'_>, code: &str, ty: Option<&str>, started_ns: u128) -> String {
    let guard = format!("let __parlab_g = {P}::time_cell({started_ns});");
    if t.no_raise {
        format!("{guard} {P}::no_raise(|| {{ {code} ; }}); ::std::mem::drop(__parlab_g);")
    } else {
        let ty = ty.map(|t| format!(": {t}")).unwrap_or_default();
        format!("{guard} let __parlab_v{ty} = {{ {code} }}; ::std::mem::drop(__parlab_g); __parlab_v")
    }
}

/// `%time STMT` on one line. `let PAT = EXPR` keeps its binding (as
/// IPython's `%time x = f()` does).
pub(crate) fn time_line(t: &TimeArgs<'_>, stmt: &str, semicolon: bool, binding: &str, started_ns: u128) -> String {
    if binding.is_empty() && !t.no_raise {
        if let Some((pattern, ty, expr)) = split_let(stmt) {
            return format!("{pattern} = {{ {} }};", timed_once(t, expr, ty.as_deref(), started_ns));
        }
    }
    let block = timed_once(t, stmt, None, started_ns);
    if !binding.is_empty() {
        format!("{binding} {{ {block} }};")
    } else {
        format!("{{ {block} }}{}", if semicolon { ";" } else { "" })
    }
}

/// `%%time` + body: the times print after the body's own output, and the
/// body's last expression is the cell's value.
///
/// The body runs at top level, as IPython runs a `%%time` cell in the
/// user's namespace: its variables and items stay in the session. The
/// start goes on the magic's line; the final expression is passed through
/// `time_end` by reference (so a variable shown as the value is not moved),
/// or `time_end` follows the last statement. With `--no-raise-error`, or a
/// body syn cannot parse, the body runs in a block and its names are local.
pub(crate) fn time_cell(t: &TimeArgs<'_>, body: &str, started_ns: u128) -> String {
    if !t.no_raise {
        if let Some(code) = time_cell_top_level(body, started_ns) {
            return code;
        }
    }
    let guard = format!("let __parlab_g = {P}::time_cell({started_ns});");
    if t.no_raise {
        format!("{{ {guard} {P}::no_raise(|| {{\n{body}\n; }}); ::std::mem::drop(__parlab_g); }}")
    } else {
        format!("{{ {guard} let __parlab_v = {{\n{body}\n}}; ::std::mem::drop(__parlab_g); __parlab_v }}")
    }
}

fn time_cell_top_level(body: &str, started_ns: u128) -> Option<String> {
    bracket_top_level(body, &format!("{TIME_START}{started_ns});"), &format!("{P}::time_end"))
}

/// A cell body run at top level between `start` (a statement, put on the
/// magic's line) and `end` (a function that takes the cell's value by
/// reference and passes it through, or `&()` after a last statement), so
/// the body's names stay in the session and its lines keep their numbers.
/// `None` when syn cannot parse the body.
pub(crate) fn bracket_top_level(body: &str, start: &str, end: &str) -> Option<String> {
    use syn::spanned::Spanned;
    let wrapped = format!("{{\n{body}\n}}");
    let block: syn::Block = syn::parse_str(&wrapped).ok()?;
    let tail = match block.stmts.last() {
        Some(syn::Stmt::Expr(e, None)) => Some(e.span()),
        Some(syn::Stmt::Macro(m)) if m.semi_token.is_none() => Some(m.span()),
        _ => None,
    };
    let body = match tail {
        Some(span) => {
            // Offsets in `wrapped`, less its leading "{\n".
            let at = |p: proc_macro2::LineColumn| crate::items::record::byte_offset(&wrapped, p.line, p.column) - 2;
            let (a, b) = (at(span.start()), at(span.end()));
            format!("{}{end}(&({})){}", &body[..a], &body[a..b], &body[b..])
        }
        None => format!("{body}\n{end}(&());"),
    };
    Some(format!("{start}\n{body}"))
}

/// `let PAT = EXPR` (one statement, no `else`) as (`let PAT`, the type
/// `PAT` is annotated with, `EXPR`).
fn split_let(stmt: &str) -> Option<(&str, Option<String>, &str)> {
    if !stmt.starts_with("let") || stmt.contains('\n') {
        return None;
    }
    let parsed: syn::Stmt = syn::parse_str(&format!("{stmt};")).ok()?;
    let syn::Stmt::Local(local) = parsed else { return None };
    let init = local.init.as_ref()?;
    if init.diverge.is_some() {
        return None;
    }
    let ty = match &local.pat {
        syn::Pat::Type(p) => Some(quote::ToTokens::to_token_stream(&p.ty).to_string()),
        _ => None,
    };
    let col = init.eq_token.span.start().column;
    let (byte, _) = stmt.char_indices().nth(col)?;
    Some((stmt[..byte].trim_end(), ty, stmt[byte + 1..].trim()))
}
