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
//! cell. Nothing here runs code: see `README.md` for the instrumenter.

mod grammar;
pub(crate) mod instrument;
pub(crate) mod pretty;

use crate::plan::{Explain, LineMagic, Plan, Session, Step, UsageError};

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
        let rest = [before, after].iter().filter(|s| !s.trim().is_empty()).cloned().collect::<Vec<_>>().join("\n");
        return Ok(if rest.is_empty() { Plan::Nothing } else { Plan::Plain(rest) });
    }
    let binding = LineMagic::parse(lines[index]).map(|m| m.binding).unwrap_or("");
    let a = grammar::parse(args)?;
    let mut names = a.functions.clone();
    for m in &a.modules {
        let prefix = format!("{m}::");
        let found: Vec<String> = session.items.function_names().into_iter().filter(|n| n.starts_with(&prefix)).collect();
        if found.is_empty() {
            return Err(UsageError::new(format!("Could not find module {m}.")));
        }
        names.extend(found.into_iter().filter(|n| !a.functions.contains(n)));
    }
    let defs = session.items.redefinition(&names).map_err(|e| UsageError::new(e.to_string()))?;

    let mut steps = Vec::new();
    if !before.trim().is_empty() {
        steps.push(Step::new(before));
    }
    steps.push(Step { code: defs.instrumented.clone(), always: false, explain: Explain::Internal });
    steps.push(Step::new(profile_call(&defs, &a, binding)));
    steps.push(Step { code: defs.original, always: true, explain: Explain::Internal });
    if !after.trim().is_empty() {
        steps.push(Step::new(after));
    }
    Ok(Plan::Steps(steps))
}

/// The lines before and after the magic line, each checked to stand alone.
fn split_cell(lines: &[&str], index: usize) -> Result<(String, String), UsageError> {
    let before = lines[..index].join("\n");
    let after = lines[index + 1..].join("\n");
    for part in [&before, &after] {
        if part.lines().any(|l| LineMagic::parse(l).is_some()) {
            return Err(UsageError::new("%lprun and %load_ext must be the only magic in their cell"));
        }
        if syn::parse_str::<syn::Block>(&format!("{{{part}\n}}")).is_err() {
            return Err(UsageError::new(
                "%lprun must be a top-level line of its cell: the code before and after it runs as separate steps and must be complete on its own",
            ));
        }
    }
    Ok((before, after))
}

/// Step 2: `[let p =] ::parlab::__private::lprun(&[FnMeta…], options, || { STMT });`.
fn profile_call(defs: &crate::items::Redefinition, a: &grammar::LprunArgs<'_>, binding: &str) -> String {
    let metas: Vec<String> = defs
        .functions
        .iter()
        .map(|d| {
            format!(
                "::parlab::__private::FnMeta {{ name: {:?}, cell: {}, first_line: {}, lines: &{:?} }}",
                d.path, d.cell, d.first_line, d.lines
            )
        })
        .collect();
    let opts = format!(
        "::parlab::__private::LprunOptions {{ unit: {:?}, skip_zero: {}, text_file: {:?}, dump_file: {:?} }}",
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

#[cfg(test)]
mod tests;
