//! `complete_request`: magics, their options, the notebook's function
//! names after `%lprun -f`, and evcxr's `:` commands come from
//! `parlab_magics::complete`; everything else is rust-analyzer's (through
//! evcxr).

use super::EvcxrInterpreter;
use crate::interpreter::{byte_to_char, char_to_byte, Completions};

impl EvcxrInterpreter {
    pub(super) fn complete_at(&mut self, code: &str, cursor: usize) -> Completions {
        let pos = char_to_byte(code, cursor);
        let commands = self.commands();
        if let Some(c) = parlab_magics::complete::complete(code, pos, &self.session.items, commands) {
            return Completions { matches: c.matches, cursor_start: byte_to_char(code, c.start), cursor_end: byte_to_char(code, c.end) };
        }
        let Ok(c) = self.ctx.completions(code, pos) else { return Completions::default() };
        let mut matches: Vec<String> = Vec::new();
        for item in c.completions {
            // rust-analyzer offers snippets (`foo($0)`); Jupyter wants names.
            let name: String = item.code.split(['(', '$', '<', ' ', '!']).next().unwrap_or("").to_owned();
            let name = if item.code.contains('!') && !name.is_empty() { format!("{name}!") } else { name };
            if !name.is_empty() && !matches.contains(&name) {
                matches.push(name);
            }
        }
        Completions { matches, cursor_start: byte_to_char(code, c.start_offset), cursor_end: byte_to_char(code, c.end_offset) }
    }
}
