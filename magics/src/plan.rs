//! The contract between the magics and the kernel.
//!
//! A cell becomes a [`Plan`]: either plain code for evcxr, nothing at all,
//! or a list of [`Step`]s. Each step is Rust source evaluated in the
//! session like a cell of its own. Generated code calls the runtime only
//! through `::parlab::__private::…` (absolute paths, so user code cannot
//! shadow them).

use crate::help::HelpRequest;
use crate::items::ItemRegistry;
use crate::table::{self, Handler, Mode};

/// What the kernel knows about the session when it plans a cell.
#[derive(Debug, Default)]
pub struct Session {
    /// The execution count this cell will get (`In [N]`); reports name
    /// cells `<cell N>`.
    pub execution_count: u32,
    /// Source of every item earlier cells defined (for `%lprun -f`).
    pub items: ItemRegistry,
    /// Wall-clock time the kernel received the cell, in nanoseconds since
    /// the Unix epoch. Generated timing code subtracts it from the time it
    /// starts running to report compile time, as IPython's `Compiler time`.
    pub cell_started_unix_ns: u128,
    /// `:dep` crates and `:opt` level of earlier cells (for `%%mpirun`).
    pub build: crate::mpirun::BuildSettings,
}

/// How to evaluate one cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Not a magic: evaluate the code as is.
    Plain(String),
    /// Accepted and deliberately ignored (`%load_ext line_profiler`).
    Nothing,
    /// Evaluate these steps in order.
    Steps(Vec<Step>),
    /// Build the cell as an MPI program and run it with mpirun
    /// (`%%mpirun`); nothing is evaluated in the session.
    Mpirun(Box<crate::mpirun::MpirunPlan>),
    /// Show this help text as a pager page (`%timeit?`); nothing runs.
    Page(String),
    /// Show the documentation of a Rust name (`Pool::new?`, `?Vec`); with
    /// `source`, also the notebook's source of it (`distance??`).
    Inspect { name: String, source: bool },
    /// `%lsmagic`: [`crate::help::lsmagic`] with evcxr's commands.
    Lsmagic,
    /// `%who` (`long`: `%whos`), for the variables of these types (all
    /// when empty): see [`crate::namespace`].
    Who { long: bool, types: Vec<String> },
}

/// One evaluation in a [`Plan::Steps`].
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Rust source, evaluated like a cell.
    pub code: String,
    /// Run even when an earlier step failed or was interrupted (used to
    /// restore functions after `%lprun`).
    pub always: bool,
    /// How to translate this step's compile errors for the user.
    pub explain: Explain,
    /// The user's text this step's code keeps line for line, when the
    /// step is a part of the cell (the lines around `%lprun`): compile
    /// errors are drawn over it rather than over `code`, whose item lines
    /// may carry added names (see `items::attach_impls`). `None`: the
    /// step is the whole cell, or generated.
    pub shown: Option<String>,
}

impl Step {
    /// A step that runs only if the previous ones succeeded.
    pub fn new(code: impl Into<String>) -> Self {
        Step { code: code.into(), always: false, explain: Explain::None, shown: None }
    }
}

/// Which translation applies to a step's compile errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Explain {
    /// Show rustc's errors as they are.
    #[default]
    None,
    /// The step repeats user code in a loop (`%timeit`): a moved variable
    /// gets a plain explanation instead of closure errors.
    TimedStatement,
    /// A generated step whose failure is parlab's fault, not the user's.
    Internal,
}

/// A wrong magic invocation, shown as IPython shows it: one line,
/// `UsageError: <message>`, and nothing runs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct UsageError {
    /// The line after `UsageError: `.
    pub message: String,
}

impl UsageError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        UsageError { message: message.into() }
    }
}

/// Turns a cell into a plan. Cells without magics come back as
/// [`Plan::Plain`] unchanged.
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
            Handler::Lprun => {
                let magic_line = cell[..cell.len() - cell.trim_start().len()].matches('\n').count() as u32 + 1;
                crate::lprun::plan_cell_magic(args, body, magic_line + 1, session)
            }
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
        return Ok(Plan::Plain(cell.to_owned()));
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
    if !timed {
        // Still a plain cell: the kernel attaches its impls as for any other.
        return Ok(Plan::Plain(out));
    }
    let out = crate::items::attach_impls(&out, session.execution_count, &session.items).unwrap_or(out);
    Ok(Plan::Steps(vec![Step { code: out, always: false, explain, shown: None }]))
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

/// A `%name args` line, possibly bound: `let r = %timeit -o stmt;`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LineMagic<'a> {
    /// Leading white space, kept in the rewrite.
    pub(crate) indent: &'a str,
    /// `let r =` (trimmed) when the magic's value is bound, else "".
    pub(crate) binding: &'a str,
    pub(crate) name: &'a str,
    /// Everything after the name, trimmed; a trailing `;` is the user's.
    pub(crate) args: &'a str,
}

impl<'a> LineMagic<'a> {
    pub(crate) fn parse(line: &'a str) -> Option<Self> {
        let body = line.trim_start();
        let indent = &line[..line.len() - body.len()];
        let (binding, magic) = if let Some(pos) = body.find('%') {
            let before = body[..pos].trim_end();
            if before.is_empty() {
                ("", &body[pos..])
            } else if before.starts_with("let ") && before.ends_with('=') && !before.ends_with("==") {
                (before, &body[pos..])
            } else {
                return None;
            }
        } else {
            return None;
        };
        let rest = magic.strip_prefix('%')?;
        if rest.starts_with('%') {
            return None;
        }
        let (name, args) = split_name(rest);
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        if !binding.is_empty() && !table::lookup(name, Mode::Line).is_some_and(|m| m.bindable) {
            return None;
        }
        Some(LineMagic { indent, binding, name, args })
    }
}

fn split_name(s: &str) -> (&str, &str) {
    let s = s.trim_end_matches('\r');
    match s.find(|c: char| c.is_whitespace()) {
        Some(i) => (&s[..i], s[i..].trim()),
        None => (s, ""),
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
