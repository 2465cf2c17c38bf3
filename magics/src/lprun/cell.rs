//! `%%lprun [-f NAME]... [-u UNIT] [-s] [-z]`: the cell body's own lines
//! are profiled, with any `-f` functions.
//!
//! The body runs once, at top level (as `%%time`'s does), so the variables
//! and items it defines stay in the session; its top-level statements and
//! the blocks inside them get probes that report to the frame
//! `::parlab::__private::lprun_cell_start` opens (the body is the last
//! function of the session, named `<module>` as Python names top-level
//! code). Steps: the `-f` functions probed, the body between
//! `lprun_cell_start` and `lprun_cell_end` (which passes the cell's value
//! through, as `time_end`), the originals put back (always). A panic or an
//! interrupt in the body shows the partial profile from the runtime's
//! panic hook. Usage errors are found before anything runs.

use super::grammar;
use crate::getopt::{getopt, Opt};
use crate::contract::{Explain, Plan, Session, Step, UsageError};
use syn::spanned::Spanned;

/// The options `%%lprun` accepts (a subset of `%lprun`'s).
const SPEC: &str = "szf:u:";

/// Plans a `%%lprun` cell whose body starts at cell line `body_line`.
pub(crate) fn plan_cell_magic(args: &str, body: &str, body_line: u32, session: &Session) -> Result<Plan, UsageError> {
    let parsed = getopt(SPEC, &[], args).map_err(|e| UsageError::new(e.to_string()))?;
    if !parsed.rest.is_empty() {
        return Err(UsageError::new(format!(
            "%%lprun takes only options on its line (usage: %%lprun [-f NAME]... [-u UNIT] [-s] [-z]); the code to profile goes below it, found {:?}",
            parsed.rest
        )));
    }
    let mut a = grammar::LprunArgs::default();
    for opt in parsed.opts {
        let Opt::Short(c, value) = opt else { continue };
        let value = value.unwrap_or_default();
        match c {
            'f' if !a.functions.contains(&value) => a.functions.push(value),
            'u' => match value.parse::<f64>() {
                Ok(u) if u.is_finite() && u > 0.0 => a.unit = Some(u),
                _ => return Err(UsageError::new("Timer unit setting must be a float.")),
            },
            's' | 'z' => a.skip_zero = true,
            _ => {}
        }
    }
    if body.trim().is_empty() {
        return Err(UsageError::new("%%lprun needs a body to profile: the lines below the magic line"));
    }
    let wrapped = format!("{{\n{body}\n}}");
    let mut block: syn::Block = syn::parse_str(&wrapped).map_err(|e| UsageError::new(format!("%%lprun cannot parse the cell body: {e}")))?;
    if let Some(stmt) = block.stmts.iter().find(|s| matches!(s, syn::Stmt::Macro(m) if m.mac.path.is_ident("lprun"))) {
        return Err(UsageError::new(format!("%%lprun cannot profile another magic (line {})", stmt.span().start().line)));
    }
    let defs = crate::lprun::redefine::redefinition(&session.items, &a.functions).map_err(|e| UsageError::new(e.to_string()))?;
    let body_id = defs.functions.len() as u32;
    let lines: Vec<&str> = body.split('\n').collect();
    let last = body_line + lines.len() as u32 - 1;
    // `wrapped` puts the body's first line on line 2.
    let probe = super::instrument::Probe { fn_id: body_id, offset: body_line - 2, first: body_line, last };
    super::instrument::instrument_cell_block(&mut block, probe);
    let tail = match block.stmts.pop() {
        Some(syn::Stmt::Expr(e, None)) => Some(quote::quote!(#e)),
        Some(syn::Stmt::Macro(m)) if m.semi_token.is_none() => Some(quote::quote!(#m)),
        Some(other) => {
            block.stmts.push(other);
            None
        }
        None => None,
    };
    let stmts = &block.stmts;
    let end = match tail {
        Some(e) => quote::quote!(::parlab::__private::lprun_cell_end(&(#e))),
        None => quote::quote!(::parlab::__private::lprun_cell_end(&());),
    };
    let mut metas: Vec<String> = defs.functions.iter().map(super::fn_meta).collect();
    metas.push(format!(
        "::parlab::__private::FnMeta {{ name: \"<module>\", cell: {}, first_line: {body_line}, lines: &{:?} }}",
        session.execution_count, lines
    ));
    let opts = format!(
        "::parlab::__private::LprunOptions {{ unit: {:?}, skip_zero: {}, ..::core::default::Default::default() }}",
        a.unit, a.skip_zero
    );
    let code = format!(
        "::parlab::__private::lprun_cell_start(&[{}], {opts});\n{}",
        metas.join(", "),
        super::pretty::pretty(quote::quote!(#(#stmts)* #end))
    );
    let code = crate::items::attach_impls(&code, session.execution_count, &session.items).unwrap_or(code);
    let mut steps = Vec::new();
    if !defs.functions.is_empty() {
        steps.push(Step { explain: Explain::Internal, ..Step::new(defs.instrumented.clone()) });
    }
    steps.push(Step::new(code));
    if !defs.functions.is_empty() {
        steps.push(Step { always: true, explain: Explain::Internal, ..Step::new(defs.original) });
    }
    Ok(Plan::Steps(steps))
}
