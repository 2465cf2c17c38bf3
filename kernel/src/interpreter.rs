//! The seam between protocol and evaluation (xeus' `xinterpreter`).
//!
//! The server owns sockets, signing, busy/idle, execution counts, history
//! and stop-on-error; an [`Interpreter`] only evaluates. It never sees a
//! socket: output goes through an [`Output`], input comes through
//! [`Output::input`]. The evcxr implementation lives in `engine`; tests
//! use a mock.

use serde_json::{Map, Value};

/// What one execution produced, besides what it streamed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// Success, with the cell's value (`execute_result`) if it has one.
    Ok { result: Option<Map<String, Value>> },
    /// Failure, already described to the user by an `error` output.
    Error { ename: String, evalue: String, traceback: Vec<String> },
}

/// Where an execution sends what it produces. Implementations forward to
/// iopub (and stdin for input) with the request as parent.
pub(crate) trait Output: Send + Sync {
    fn stream(&self, name: &str, text: &str);
    /// `display_data`, or `update_display_data` when `update` is set.
    fn display(&self, data: Map<String, Value>, metadata: Map<String, Value>, display_id: Option<&str>, update: bool);
    /// Asks the user for a line; `None` when the client does not allow
    /// stdin or did not answer.
    fn input(&self, prompt: &str, password: bool) -> Option<String>;
    /// `clear_output`.
    fn clear(&self, wait: bool);
    /// Help for the pager (`%timeit?`, `Vec?`): a `page` payload of the
    /// execute reply, which JupyterLab shows below the cell and a console
    /// in its pager, as IPython's `?` does. Without a reply to carry it,
    /// a `display_data`.
    fn page(&self, data: Map<String, Value>) {
        self.display(data, Map::new(), None, false);
    }
}

/// Completion matches in code-point offsets.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Completions {
    pub matches: Vec<String>,
    pub cursor_start: usize,
    pub cursor_end: usize,
}

/// The evaluation side of a kernel.
pub(crate) trait Interpreter: Send {
    /// Runs one cell. `count` is its execution count (already assigned).
    fn execute(&mut self, code: &str, count: u32, silent: bool, out: std::sync::Arc<dyn Output>) -> Outcome;
    /// `cursor` is in code points, as the protocol says since 5.2.
    fn complete(&mut self, code: &str, cursor: usize) -> Completions;
    /// Documentation for the name at `cursor`: `text/plain` (and maybe
    /// `text/html`), or `None` when nothing is found.
    fn inspect(&mut self, code: &str, cursor: usize) -> Option<Map<String, Value>>;
    /// Called on `shutdown_request` before the process exits.
    fn shutdown(&mut self) {}
}

/// Interrupts whatever the interpreter is running; must work while
/// `execute` is blocked, from another thread.
pub(crate) trait Interrupter: Send + Sync {
    fn interrupt(&self);
    /// Ends evaluation for good (kernel shutdown), even of code that
    /// ignores interrupts.
    fn terminate(&self) {}
}

/// Converts a byte offset in `s` to a code-point offset.
pub(crate) fn byte_to_char(s: &str, byte: usize) -> usize {
    s[..byte.min(s.len())].chars().count()
}

/// Converts a code-point offset in `s` to a byte offset (clamped).
pub(crate) fn char_to_byte(s: &str, ch: usize) -> usize {
    s.char_indices().nth(ch).map(|(b, _)| b).unwrap_or(s.len())
}

#[cfg(test)]
mod tests {
    #[test]
    fn offsets_are_code_points() {
        let s = "é = 1; ab";
        assert_eq!(super::char_to_byte(s, 1), 2);
        assert_eq!(super::byte_to_char(s, 2), 1);
        assert_eq!(super::char_to_byte(s, 100), s.len());
    }
}
