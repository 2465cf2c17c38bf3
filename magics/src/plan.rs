//! The dispatcher: which planner a cell goes to, by the table of magics.
//! The types it returns are in `contract.rs`.

use crate::contract::{Explain, Plan, Session, Shown, Step, UsageError};
use crate::help::HelpRequest;
use crate::line_magic::{split_name, LineMagic};
use crate::table::{self, Handler, Mode};

/// Turns a cell into a plan. A cell without magics is one step, its
/// code the cell's with names for its stand-alone impl blocks
/// (`items::attach_impls`), its errors drawn over the cell.
pub fn plan(cell: &str, session: &Session) -> Result<Plan, UsageError> {
    if let Some(request) = crate::help::help_request(cell) {
        return Ok(match request {
            HelpRequest::Magic { name, mode } => Plan::Page(
                crate::help::magic_help(&name, mode)
                    .ok_or_else(|| UsageError::new(format!("Object `{}{name}` not found.", mode.prefix())))?,
            ),
            HelpRequest::Name { name, source } => Plan::Inspect { name, source },
        });
    }
    if let Some(rest) = cell.trim_start().strip_prefix("%%") {
        let (first, body) = rest.split_once('\n').unwrap_or((rest, ""));
        let (name, args) = split_name(first);
        let Some(magic) = table::lookup(name, Mode::Cell) else {
            return Err(UsageError::new(format!("Cell magic `%%{name}` not found.")));
        };
        return match magic.handler {
            Handler::Timeit | Handler::Time => crate::timeit::plan_cell_magic(magic.handler, args, body, session),
            Handler::Timeline => crate::timeline::plan_cell_magic(args, body, session),
            Handler::Lprun => {
                let magic_line = cell[..cell.len() - cell.trim_start().len()].matches('\n').count() as u32 + 1;
                crate::lprun::plan_cell_magic(args, body, magic_line + 1, session)
            }
            Handler::Prun => crate::prun::plan_cell_magic(args, body, session),
            Handler::Mpirun => {
                // Blank lines above the magic line still count as cell lines.
                let magic_line = cell[..cell.len() - cell.trim_start().len()].matches('\n').count() as u32 + 1;
                crate::mpirun::plan_cell_magic(args, body, magic_line + 1, session)
            }
            _ => Err(UsageError::new(format!("Cell magic `%%{name}` not found."))),
        };
    }
    let lines: Vec<&str> = cell.lines().collect();
    let magic_lines: Vec<(usize, LineMagic<'_>)> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, line)| LineMagic::parse(line).map(|m| (i, m)))
        .collect();
    if magic_lines.is_empty() {
        return Ok(Plan::Steps(vec![user_cell(cell.to_owned(), Shown::Cell, session)]));
    }
    // Every line must name a magic of the table.
    let mut handlers = Vec::with_capacity(magic_lines.len());
    for (_, m) in &magic_lines {
        match table::lookup(m.name, Mode::Line) {
            Some(magic) => handlers.push(magic.handler),
            None => return Err(UsageError::new(format!("Line magic function `%{}` not found.", m.name))),
        }
    }
    // Magics that take the whole cell.
    for ((i, m), handler) in magic_lines.iter().zip(&handlers) {
        match handler {
            Handler::Lprun | Handler::Mprun | Handler::LoadExt => return crate::lprun::plan_line_magic(m.name, m.args, &lines, *i, session),
            Handler::Lsmagic | Handler::Who | Handler::Whos => return alone(cell, m, *handler),
            _ => {}
        }
    }
    let mut out = String::with_capacity(cell.len() * 2);
    let mut explain = Explain::None;
    // Only the timing magics need the runtime; a cell of `%env` lines and
    // code is still a plain cell.
    let mut timed = false;
    let mut next = magic_lines.iter().peekable();
    for (i, line) in lines.iter().enumerate() {
        match next.peek() {
            Some((j, m)) if *j == i => {
                let handler = table::lookup(m.name, Mode::Line).map(|magic| magic.handler);
                let code = match handler {
                    Some(h @ (Handler::Timeit | Handler::Time)) => {
                        explain = Explain::TimedStatement;
                        timed = true;
                        crate::timeit::rewrite_line_magic(h, m.args, m.binding, session)?
                    }
                    Some(Handler::Prun) => {
                        timed = true;
                        crate::prun::rewrite_line_magic(m.args, m.binding, cell, session)?
                    }
                    Some(Handler::Memit) => {
                        explain = Explain::TimedStatement;
                        timed = true;
                        crate::memit::rewrite_line(m.args, m.binding)?
                    }
                    Some(Handler::Env) if m.binding.is_empty() => crate::namespace::env_line(m.args),
                    _ => return Err(UsageError::new(format!("Line magic function `%{}` cannot be used here.", m.name))),
                };
                // Keep the line structure: the rewrite is one line, so rustc's
                // line numbers still point into the user's cell.
                out.push_str(m.indent);
                out.push_str(&code.replace('\n', " "));
                next.next();
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    // The cell's own items are evaluated with it, as in a plain cell: its
    // stand-alone impl blocks get the name a later edit replaces (see
    // `items::attach_impls`). The rewritten lines are statements, so the
    // items sit where `ItemRegistry::record_cell` finds them in the
    // user's cell, and only item lines change.
    let mut step = user_cell(out, Shown::Cell, session);
    if timed {
        step.explain = explain;
        step.needs_runtime = true;
    }
    Ok(Plan::Steps(vec![step]))
}

/// The user's code `code` (lines kept from `shown`) as a step: its
/// stand-alone impl blocks get names a later edit can replace.
pub(crate) fn user_cell(code: String, shown: Shown, session: &Session) -> Step {
    let code = crate::items::attach_impls(&code, session.execution_count, &session.items).unwrap_or(code);
    Step::user(code, shown)
}

/// `%lsmagic`, `%who`, `%whos`: answered by the kernel, so they must be
/// the only line of their cell.
fn alone(cell: &str, m: &LineMagic<'_>, handler: Handler) -> Result<Plan, UsageError> {
    if cell.lines().filter(|l| !l.trim().is_empty()).count() > 1 || !m.binding.is_empty() {
        return Err(UsageError::new(format!("%{} must be the only line of its cell", m.name)));
    }
    let types: Vec<String> = m.args.split_whitespace().map(str::to_owned).collect();
    match handler {
        Handler::Lsmagic if types.is_empty() => Ok(Plan::Lsmagic),
        Handler::Lsmagic => Err(UsageError::new("%lsmagic takes no arguments")),
        _ => Ok(Plan::Who { long: handler == Handler::Whos, types }),
    }
}

/// A plain-language replacement for a compile error of a generated step,
/// when one applies. `code` is rustc's error code (`E0507`), `message` its
/// message.
pub fn explain_compile_error(explain: Explain, code: Option<&str>, message: &str) -> Option<String> {
    match explain {
        Explain::TimedStatement => crate::timeit::explain::moved_variable(code, message),
        Explain::None | Explain::Internal => None,
    }
}
