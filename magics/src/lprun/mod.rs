//! `%lprun` (line_profiler at Rust speed) and `%load_ext line_profiler`.
//!
//! A `%lprun -f NAME STMT` cell becomes [`Plan::Steps`]:
//!
//! 1. re-define each `NAME` with a probe per line (same name and
//!    signature, so every caller in the notebook reaches the probed copy);
//! 2. run `STMT` inside `::parlab::__private::lprun`, which records, shows
//!    the report and returns the `LineProfile`;
//! 3. put the original definitions back (`always: true`: also after a
//!    panic, an interrupt or a compile error).
//!
//! Lines of the cell before the `%lprun` line run as a step before 1, lines
//! after it as a step after 3; both must be complete statements/items on
//! their own (otherwise: a `UsageError`), and no other magic may share the
//! cell. Functions the lines before define are profiled in their new
//! version, and stand-alone impl blocks in either part are re-runnable as
//! in a plain cell. Nothing here runs code: see `README.md` for the
//! instrumenter.

mod cell;
mod grammar;
pub(crate) mod instrument;

pub(crate) use cell::plan_cell_magic;
pub(crate) mod pretty;
pub(crate) mod redefine;

use crate::items::attach_impls;
use crate::contract::{Explain, Plan, Session, Shown, Step, UsageError};
use crate::line_magic::LineMagic;

/// A cell with a `%lprun`/`%load_ext` line at `index` of `lines`.
pub(crate) fn plan_line_magic(name: &str, args: &str, lines: &[&str], index: usize, session: &Session) -> Result<Plan, UsageError> {
    let (before, after) = split_cell(lines, index)?;
    if name == "load_ext" {
        if args.trim() != "line_profiler" {
            return Err(UsageError::new(format!(
                "No extension named '{}': parlab has line_profiler built in (%lprun); nothing else can be loaded",
                args.trim()
            )));
        }
        if before.trim().is_empty() && after.trim().is_empty() {
            return Ok(Plan::Nothing);
        }
        // The magic line stays as an empty line: the rest keeps the cell's
        // line numbers (errors, and the names `attach_impls` derives).
        let mut rest = lines.to_vec();
        rest[index] = "";
        return Ok(Plan::Steps(vec![crate::plan::user_cell(rest.join("\n"), Shown::Cell, session)]));
    }
    let binding = LineMagic::parse(lines[index]).map(|m| m.binding).unwrap_or("");
    let profiler = if name == "mprun" { grammar::Profiler::Memory } else { grammar::Profiler::Lines };
    let a = grammar::parse_for(profiler, args)?;
    // The lines before `%lprun` run first: what they define is what gets
    // profiled (and put back afterwards), not an earlier cell's version.
    let mut items = session.items.clone();
    items.record_cell(session.execution_count, &before);
    let mut names = a.functions.clone();
    for m in &a.modules {
        let prefix = format!("{m}::");
        let found: Vec<String> = items.function_names().into_iter().filter(|n| n.starts_with(&prefix)).collect();
        if found.is_empty() {
            return Err(UsageError::new(format!("Could not find module {m}.")));
        }
        names.extend(found.into_iter().filter(|n| !a.functions.contains(n)));
    }
    let defs = crate::lprun::redefine::redefinition(&items, &names).map_err(|e| UsageError::new(e.to_string()))?;
    let (code_before, code_after) = attached(lines, index, session).unwrap_or_else(|| (before.clone(), after.clone()));

    let mut steps = Vec::new();
    if !before.trim().is_empty() {
        steps.push(Step::user(code_before, Shown::Text(before)));
    }
    steps.push(Step { explain: Explain::Internal, ..Step::new(defs.instrumented.clone()) });
    steps.push(Step::new(match profiler {
        grammar::Profiler::Lines => profile_call(&defs, &a, binding),
        grammar::Profiler::Memory => mprun_call(&defs, &a, binding),
    }));
    steps.push(Step { always: true, explain: Explain::Internal, ..Step::new(defs.original) });
    if !after.trim().is_empty() {
        steps.push(Step::user(code_after, Shown::Text(after)));
    }
    Ok(Plan::Steps(steps))
}

/// The lines before and after the magic line, each checked to stand alone.
fn split_cell(lines: &[&str], index: usize) -> Result<(String, String), UsageError> {
    let before = lines[..index].join("\n");
    let after = lines[index + 1..].join("\n");
    for part in [&before, &after] {
        if part.lines().any(|l| LineMagic::parse(l).is_some()) {
            return Err(UsageError::new("%lprun, %mprun and %load_ext must be the only magic in their cell"));
        }
        if syn::parse_str::<syn::Block>(&format!("{{{part}\n}}")).is_err() {
            return Err(UsageError::new(
                "%lprun and %mprun must be a top-level line of their cell: the code before and after it runs as separate steps and must be complete on its own",
            ));
        }
    }
    Ok((before, after))
}

/// The lines before and after the magic line, with the cell's stand-alone
/// impl blocks given the names a later edit replaces (see
/// [`attach_impls`]). The whole cell is rewritten at once, so the names
/// are the ones `ItemRegistry::record_cell` gives the cell; `None` if the
/// magic line cannot be found again.
fn attached(lines: &[&str], index: usize, session: &Session) -> Option<(String, String)> {
    let cell = lines.join("\n");
    let out = attach_impls(&cell, session.execution_count, &session.items)?;
    let out: Vec<&str> = out.split('\n').collect();
    // Added text is on item lines only, and normally on one line.
    let at = (index..out.len()).find(|&i| out[i] == lines[index])?;
    Some((out[..at].join("\n"), out[at + 1..].join("\n")))
}

/// The runtime's description of one profiled function, as a
/// `::parlab::__private::FnMeta { … }` expression (its probe id is its
/// index in the slice handed to the runtime).
pub(crate) fn fn_meta(d: &redefine::ProfiledFn) -> String {
    format!("::parlab::__private::FnMeta {{ name: {:?}, cell: {}, first_line: {}, lines: &{:?} }}", d.path, d.cell, d.first_line, d.lines)
}

/// Step 2: `[let p =] ::parlab::__private::lprun(&[FnMeta…], options, || { STMT });`.
fn profile_call(defs: &redefine::Redefinition, a: &grammar::LprunArgs<'_>, binding: &str) -> String {
    let metas: Vec<String> = defs.functions.iter().map(fn_meta).collect();
    let opts = format!(
        "::parlab::__private::LprunOptions {{ unit: {:?}, skip_zero: {}, text_file: {:?}, dump_file: {:?}, ..::core::default::Default::default() }}",
        a.unit, a.skip_zero, a.text_file, a.dump_file
    );
    let call = format!("::parlab::__private::lprun(&[{}], {opts}, || {{ {} }})", metas.join(", "), a.statement);
    match (binding, a.return_profile) {
        ("", _) => format!("{call};"),
        (b, true) => format!("{b} {call};"),
        // Without `-r` the magic's value is `()`, as IPython binds `None`.
        (b, false) => format!("{b} {{ {call}; }};"),
    }
}

/// Step 2 of `%mprun`: `::parlab::__private::mprun(&[FnMeta…], options, || { STMT })`,
/// the same functions and statement as `%lprun`'s call.
fn mprun_call(defs: &redefine::Redefinition, a: &grammar::LprunArgs<'_>, binding: &str) -> String {
    let metas: Vec<String> = defs.functions.iter().map(fn_meta).collect();
    let opts = format!(
        "::parlab::__private::MprunOptions {{ text_file: {:?}, ..::core::default::Default::default() }}",
        a.text_file
    );
    let call = format!("::parlab::__private::mprun(&[{}], {opts}, || {{ {} }})", metas.join(", "), a.statement);
    match (binding, a.return_profile) {
        ("", _) => format!("{call};"),
        (b, true) => format!("{b} {call};"),
        (b, false) => format!("{b} {{ {call}; }};"),
    }
}

#[cfg(test)]
mod tests;
