//! The marker lines: how code in the evaluation process (and in `%%mpirun`
//! ranks) tells the kernel something that is not text.
//!
//! A marker is one line on stdout (or, for [`stderr_sync`], stderr):
//!
//! ```text
//! \x01PARLAB {"t":"<tag>",…}
//! ```
//!
//! This module is the whole contract. It owns the prefix, the tags and a
//! builder per kind; the kernel depends on this crate for them and parses
//! every kind with one parser (`kernel/src/engine/marker.rs`), whose test
//! round-trips a line built here for every tag in [`TAGS`]. The prefix
//! starts with `\x01`, so text a user prints is never taken for a marker.
//!
//! Builders return the whole line, newline included, so a writer can send
//! it with one `write` (a marker split across two writes could interleave
//! with another thread's output).
//!
//! ```
//! use parlab_child::marker;
//! let line = marker::display([("text/plain", "3 items")], None, false);
//! assert_eq!(line, "\u{1}PARLAB {\"t\":\"display\",\"data\":{\"text/plain\":\"3 items\"},\"id\":null,\"update\":false}\n");
//! assert!(line.starts_with(marker::MARKER));
//! ```

use crate::json;

macro_rules! prefix {
    () => {
        "\u{1}PARLAB "
    };
}

/// Starts every marker line.
pub const MARKER: &str = prefix!();

/// The `t` of each kind of marker.
pub mod tag {
    /// A display block: `data` (MIME type → content), `id`, `update`.
    pub const DISPLAY: &str = "display";
    /// Clears the cell's output (`wait`).
    pub const CLEAR: &str = "clear";
    /// A panic, reported by the hook (message, location, thread).
    pub const PANIC: &str = "panic";
    /// The cell ended in a panic (seen on evcxr's own notification line).
    pub const CELL_PANICKED: &str = "cell_panicked";
    /// On stderr at the end of a cell: stderr is complete.
    pub const STDERR_SYNC: &str = "stderr_sync";
    /// The display blocks that follow are the cell's value ([`VALUE_FOLLOWS`](super::VALUE_FOLLOWS)).
    pub const VALUE: &str = "value";
}

/// Every tag, for tests that must cover every kind.
pub const TAGS: [&str; 6] = [tag::DISPLAY, tag::CLEAR, tag::PANIC, tag::CELL_PANICKED, tag::STDERR_SYNC, tag::VALUE];

/// Printed on a line of its own by a type's `evcxr_display` just before
/// its `EVCXR_BEGIN_CONTENT` blocks: they are the cell's value, left to
/// evcxr (the `execute_result`), not displays (see `stdout`). parlab's own
/// values (`TimeitResult`, `LineProfile`, charts) print it through
/// `parlab::MimeBundle::evcxr_display`. The child's stdout relay consumes
/// it; a `const` because the relay compares bytes against it.
///
/// ```
/// assert_eq!(parlab_child::marker::VALUE_FOLLOWS, "\u{1}PARLAB {\"t\":\"value\"}");
/// ```
pub const VALUE_FOLLOWS: &str = concat!(prefix!(), "{\"t\":\"value\"}");

fn start(tag: &str) -> String {
    let mut line = String::with_capacity(64);
    line.push_str(MARKER);
    line.push_str("{\"t\":");
    json::string(&mut line, tag);
    line
}

fn end(mut line: String) -> String {
    line.push_str("}\n");
    line
}

/// A display block: `data` is (MIME type, content) pairs; `id` names a
/// block that `update` replaces in place.
pub fn display<'a>(data: impl IntoIterator<Item = (&'a str, &'a str)>, id: Option<&str>, update: bool) -> String {
    let mut line = start(tag::DISPLAY);
    line.push_str(",\"data\":{");
    for (i, (mime, content)) in data.into_iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        json::string(&mut line, mime);
        line.push(':');
        json::string(&mut line, content);
    }
    line.push_str("},\"id\":");
    match id {
        Some(id) => json::string(&mut line, id),
        None => line.push_str("null"),
    }
    line.push_str(&format!(",\"update\":{update}"));
    end(line)
}

/// Clears the cell's output; with `wait`, when the next output arrives.
pub fn clear(wait: bool) -> String {
    let mut line = start(tag::CLEAR);
    line.push_str(&format!(",\"wait\":{wait}"));
    end(line)
}

/// What a panic report says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panic<'a> {
    /// The payload as text (`KeyboardInterrupt` for an interrupt).
    pub message: &'a str,
    /// Where it panicked, if known.
    pub file: Option<&'a str>,
    /// Line in `file`.
    pub line: Option<u32>,
    /// Column in `file`.
    pub col: Option<u32>,
    /// The thread's name (`<unnamed>` when it has none).
    pub thread: &'a str,
    /// On the process's main thread (where evcxr runs the cell).
    pub main: bool,
    /// The panic is parlab's interrupt.
    pub interrupt: bool,
}

/// A panic report.
pub fn panic(p: &Panic<'_>) -> String {
    let mut line = start(tag::PANIC);
    line.push_str(",\"message\":");
    json::string(&mut line, p.message);
    line.push_str(",\"file\":");
    match p.file {
        Some(f) => json::string(&mut line, f),
        None => line.push_str("null"),
    }
    line.push_str(&format!(",\"line\":{},\"col\":{},\"thread\":", json::opt(p.line), json::opt(p.col)));
    json::string(&mut line, p.thread);
    line.push_str(&format!(",\"main\":{},\"interrupt\":{}", p.main, p.interrupt));
    end(line)
}

/// The cell ended in a panic.
pub fn cell_panicked() -> String {
    end(start(tag::CELL_PANICKED))
}

/// Stderr is complete for this cell (written on stderr).
pub fn stderr_sync() -> String {
    end(start(tag::STDERR_SYNC))
}

/// [`VALUE_FOLLOWS`] as a line.
pub fn value() -> String {
    format!("{VALUE_FOLLOWS}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_follows_is_the_value_marker() {
        assert_eq!(value(), format!("{}\n", end(start(tag::VALUE)).trim_end()));
    }

    #[test]
    fn panic_line_is_pinned() {
        let p = Panic { message: "a \"b\"", file: Some("src/lib.rs"), line: Some(3), col: None, thread: "main", main: true, interrupt: false };
        assert_eq!(
            panic(&p),
            "\u{1}PARLAB {\"t\":\"panic\",\"message\":\"a \\\"b\\\"\",\"file\":\"src/lib.rs\",\"line\":3,\"col\":null,\"thread\":\"main\",\"main\":true,\"interrupt\":false}\n"
        );
    }
}
