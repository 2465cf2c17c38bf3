//! `%who`, `%whos` and `%lsmagic`, and the value summaries inspect shows.
//!
//! evcxr knows the variables' names and types; their values are in the
//! evaluation process, so `%whos` (and a variable's Shift-Tab) runs code
//! there that `parlab_magics::namespace` generates: std only, so these do
//! not add the runtime to the session.

use super::EvcxrInterpreter;
use crate::interpreter::{Outcome, Output};
use parlab_magics::Explain;
use serde_json::{Map, Value};
use std::sync::{Arc, OnceLock};

impl EvcxrInterpreter {
    /// The cells the kernel answers itself: `%lsmagic`, `%who`, `%whos`,
    /// `%magic?`, `name?`. They define nothing.
    pub(super) fn convenience(&mut self, plan: parlab_magics::Plan, count: u32, out: &Arc<dyn Output>) -> Outcome {
        use parlab_magics::Plan;
        match plan {
            Plan::Page(text) => {
                let mut data = Map::new();
                data.insert("text/plain".into(), Value::String(text));
                out.page(data);
                Outcome::Ok { result: None }
            }
            Plan::Inspect { name, source } => self.help_cell(&name, source, out),
            Plan::Lsmagic => {
                let text = parlab_magics::help::lsmagic(self.commands());
                let mut data = Map::new();
                data.insert("text/plain".into(), Value::String(text));
                Outcome::Ok { result: Some(data) }
            }
            Plan::Who { long, types } => {
                let types: Vec<&str> = types.iter().map(String::as_str).collect();
                let vars = self.variables();
                if !long {
                    out.stream("stdout", &parlab_magics::namespace::who(&vars, &types));
                    return Outcome::Ok { result: None };
                }
                match parlab_magics::namespace::whos(&vars, &types) {
                    Ok(code) => self.run(&code, count, Explain::Internal, &code, out),
                    Err(message) => {
                        out.stream("stdout", &message);
                        Outcome::Ok { result: None }
                    }
                }
            }
            other => super::errors::simple("KernelError", format!("not a plan the kernel answers itself: {other:?}")),
        }
    }

    /// The session's variables as (name, type).
    fn variables(&self) -> Vec<(String, String)> {
        self.ctx.variables_and_types().map(|(n, t)| (n.to_owned(), t.to_owned())).collect()
    }

    /// `%whos`'s Data/Info for one variable, evaluated quietly (nothing
    /// reaches the frontend); `None` if it could not be computed.
    pub(super) fn variable_summary(&mut self, name: &str) -> Option<String> {
        let expr = parlab_magics::namespace::summary_expr(name);
        self.relay.begin(Arc::new(Discard));
        let result = self.execute_internal(&expr);
        // Wait for the end-of-cell marker here, not in the next cell.
        let _ = self.relay.finish(self.setup.ready() && result.is_ok());
        let text = result.ok()?.content_by_mime_type.remove("text/plain")?;
        // evcxr shows the `String` with `{:?}`: a JSON-compatible quote.
        serde_json::from_str::<String>(&text).ok().or(Some(text))
    }

    /// evcxr's `:` commands (from its `:help`), without `:quit`, which
    /// the kernel refuses.
    pub(super) fn commands(&mut self) -> &'static [String] {
        static COMMANDS: OnceLock<Vec<String>> = OnceLock::new();
        if let Some(c) = COMMANDS.get() {
            return c;
        }
        let help = self.ctx.execute(":help").ok().and_then(|mut o| o.content_by_mime_type.remove("text/plain")).unwrap_or_default();
        let list: Vec<String> = help
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|c| c.starts_with(':') && *c != ":quit")
            .map(str::to_owned)
            .collect();
        COMMANDS.get_or_init(|| list)
    }
}

/// Where the output of the kernel's own evaluations goes: nowhere.
struct Discard;

impl Output for Discard {
    fn stream(&self, _: &str, _: &str) {}
    fn display(&self, _: Map<String, Value>, _: Map<String, Value>, _: Option<&str>, _: bool) {}
    fn input(&self, _: &str, _: bool) -> Option<String> {
        None
    }
    fn clear(&self, _: bool) {}
}
