//! The stdout relay: everything the process writes to fd 1 passes through
//! a pipe and [`Forwarder`] on its way to evcxr.
//!
//! On the way it
//! - announces a panic (`cell_panicked` marker) before evcxr's own
//!   `EVCXR_PANIC_NOTIFICATION` line, which a rayon worker's resumed panic
//!   reaches without running the hook;
//! - puts a `stderr_sync` marker on stderr at the end of each cell, so the
//!   kernel knows when the cell's last stderr line has arrived;
//! - turns evcxr's display blocks (`EVCXR_BEGIN_CONTENT <mime>` … `EVCXR_END_CONTENT`,
//!   printed by crates such as plotters' `evcxr_figure`) into display
//!   markers, each its own `display_data`, sent as printed and in order.
//!   evcxr itself would collect them into one bundle per cell, where a
//!   second block of a MIME type replaces the first and the bundle hides
//!   the cell's value. The one block left for evcxr is a `text/plain` block
//!   printed just before the cell ends: that is how evcxr sends the cell's
//!   value, which stays the `execute_result`.

use crate::marker::{self, VALUE_FOLLOWS};

const PANIC_NOTIFICATION: &[u8] = b"EVCXR_PANIC_NOTIFICATION";
const EXECUTION_COMPLETE: &[u8] = b"EVCXR_EXECUTION_COMPLETE";
const BEGIN: &[u8] = b"EVCXR_BEGIN_CONTENT ";
const END: &[u8] = b"EVCXR_END_CONTENT";
/// evcxr's protocol lines (`EVCXR_VARIABLE_CHANGED_TYPE:…`) may come
/// between the value and the end of the cell.
const EVCXR: &[u8] = b"EVCXR_";

/// Where forwarded bytes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sink {
    Stdout,
    Stderr,
}

/// The relay's state between reads of the pipe.
#[derive(Default)]
pub(crate) struct Forwarder {
    at_line_start: bool,
    /// The start of a line that may be a block's first line, or a line
    /// inside a block, waiting for its newline.
    partial: Vec<u8>,
    /// The block being read: its MIME type and lines so far.
    block: Option<(String, Vec<u8>)>,
    /// A finished `text/plain` block, as printed: the cell's value if the
    /// cell ends right after it, else a display.
    held: Option<(String, Vec<u8>)>,
    /// After [`VALUE_FOLLOWS`]: blocks pass to evcxr as printed, until a
    /// line that is not part of a block.
    value: bool,
    /// Inside a block that passes as printed.
    raw_block: bool,
}

impl Forwarder {
    pub(crate) fn new() -> Self {
        Forwarder { at_line_start: true, ..Default::default() }
    }

    /// Handles one read from the pipe; `emit` receives what to write where,
    /// in order.
    pub(crate) fn feed(&mut self, chunk: &[u8], emit: &mut dyn FnMut(Sink, &[u8])) {
        let mut out = Vec::with_capacity(chunk.len() + 64);
        for piece in chunk.split_inclusive(|&b| b == b'\n') {
            let joined;
            let piece = if self.partial.is_empty() {
                piece
            } else {
                self.partial.extend_from_slice(piece);
                joined = std::mem::take(&mut self.partial);
                &joined[..]
            };
            let complete = piece.ends_with(b"\n");
            let line = piece.strip_suffix(b"\n").unwrap_or(piece);
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if self.raw_block {
                out.extend_from_slice(piece);
                self.raw_block = !(complete && line == END);
                self.at_line_start = complete;
                continue;
            }
            if self.at_line_start && complete && line == VALUE_FOLLOWS.as_bytes() {
                self.flush_held(&mut out);
                self.value = true;
                continue;
            }
            if self.value && self.at_line_start && complete && line.starts_with(BEGIN) {
                out.extend_from_slice(piece);
                self.raw_block = true;
                continue;
            }
            if !(self.at_line_start && !complete && (BEGIN.starts_with(piece) || piece.starts_with(BEGIN))) {
                self.value = false;
            }
            if self.block.is_some() {
                if !complete {
                    self.partial = piece.to_vec();
                    continue;
                }
                if line == END {
                    self.end_block(&mut out);
                    continue;
                }
                if line != PANIC_NOTIFICATION {
                    let (_, content) = self.block.as_mut().expect("in a block");
                    if !content.is_empty() {
                        content.push(b'\n');
                    }
                    content.extend_from_slice(line);
                    continue;
                }
                // A panic inside a block: show what was printed, then the panic.
                self.end_block(&mut out);
            }
            if self.at_line_start && !complete && (BEGIN.starts_with(piece) || piece.starts_with(BEGIN)) {
                self.partial = piece.to_vec();
                continue;
            }
            if self.at_line_start && complete {
                if let Some(mime) = line.strip_prefix(BEGIN) {
                    self.flush_held(&mut out);
                    self.block = Some((String::from_utf8_lossy(mime).trim().to_owned(), Vec::new()));
                    continue;
                }
                if line == EXECUTION_COMPLETE {
                    if let Some((mime, content)) = self.held.take() {
                        raw_block(&mut out, &mime, &content);
                    }
                    emit(Sink::Stdout, &out);
                    out.clear();
                    // evcxr stops reading stdout here but reads stderr on its
                    // own thread: this marker tells the kernel stderr is done.
                    emit(Sink::Stderr, marker::stderr_sync().as_bytes());
                } else if line == PANIC_NOTIFICATION {
                    self.flush_held(&mut out);
                    out.extend_from_slice(marker::cell_panicked().as_bytes());
                } else if !line.starts_with(EVCXR) {
                    self.flush_held(&mut out);
                }
            } else if !piece.is_empty() {
                self.flush_held(&mut out);
            }
            out.extend_from_slice(piece);
            self.at_line_start = complete;
        }
        if !out.is_empty() {
            emit(Sink::Stdout, &out);
        }
    }

    fn end_block(&mut self, out: &mut Vec<u8>) {
        let Some((mime, content)) = self.block.take() else { return };
        self.flush_held(out);
        if mime == "text/plain" {
            self.held = Some((mime, content));
        } else {
            display_marker(out, &mime, &content);
        }
    }

    /// The held `text/plain` block was not the cell's value: a display.
    fn flush_held(&mut self, out: &mut Vec<u8>) {
        if let Some((mime, content)) = self.held.take() {
            display_marker(out, &mime, &content);
        }
    }
}

fn display_marker(out: &mut Vec<u8>, mime: &str, content: &[u8]) {
    let content = String::from_utf8_lossy(content);
    out.extend_from_slice(marker::display([(mime, &*content)], None, false).as_bytes());
}

fn raw_block(out: &mut Vec<u8>, mime: &str, content: &[u8]) {
    out.extend_from_slice(BEGIN);
    out.extend_from_slice(mime.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(content);
    out.extend_from_slice(b"\nEVCXR_END_CONTENT\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `chunks` and returns (stdout, stderr) as text.
    fn run(chunks: &[&str]) -> (String, String) {
        let mut f = Forwarder::new();
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        for c in chunks {
            f.feed(c.as_bytes(), &mut |sink, bytes| match sink {
                Sink::Stdout => stdout.extend_from_slice(bytes),
                Sink::Stderr => stderr.extend_from_slice(bytes),
            });
        }
        (String::from_utf8(stdout).unwrap(), String::from_utf8(stderr).unwrap())
    }

    const HTML_A: &str = "EVCXR_BEGIN_CONTENT text/html\n<b>a</b>\nEVCXR_END_CONTENT\n";
    const VALUE_5: &str = "EVCXR_BEGIN_CONTENT text/plain\n5\nEVCXR_END_CONTENT\n";

    #[test]
    fn blocks_become_display_markers_and_the_value_stays() {
        let (out, err) = run(&["hi\n", HTML_A, "between\n", HTML_A, VALUE_5, "EVCXR_EXECUTION_COMPLETE\n"]);
        let display = "\u{1}PARLAB {\"t\":\"display\",\"data\":{\"text/html\":\"<b>a</b>\"},\"id\":null,\"update\":false}\n";
        assert_eq!(out, format!("hi\n{display}between\n{display}{VALUE_5}EVCXR_EXECUTION_COMPLETE\n"));
        assert_eq!(err, "\u{1}PARLAB {\"t\":\"stderr_sync\"}\n");
    }

    #[test]
    fn a_plain_block_followed_by_output_is_a_display() {
        let (out, _) = run(&[VALUE_5, "more\n", "EVCXR_EXECUTION_COMPLETE\n"]);
        assert!(out.starts_with("\u{1}PARLAB {\"t\":\"display\",\"data\":{\"text/plain\":\"5\"},\"id\":null,\"update\":false}\nmore\n"), "{out}");
        let (out, _) = run(&[VALUE_5, "EVCXR_VARIABLE_CHANGED_TYPE:x\n", "EVCXR_EXECUTION_COMPLETE\n"]);
        assert_eq!(out, format!("EVCXR_VARIABLE_CHANGED_TYPE:x\n{VALUE_5}EVCXR_EXECUTION_COMPLETE\n"));
    }

    #[test]
    fn blocks_split_across_reads_and_multi_line_content() {
        let (out, _) = run(&["EVCXR_BEGIN_CO", "NTENT image/svg+xml\n<svg>\n", "</svg>\r\nEVCXR_END_", "CONTENT\n"]);
        assert_eq!(out, "\u{1}PARLAB {\"t\":\"display\",\"data\":{\"image/svg+xml\":\"<svg>\\n</svg>\"},\"id\":null,\"update\":false}\n");
        // Text that only looks like a start is passed on once its line ends.
        let (out, _) = run(&["EVCXR", "_X\nplain"]);
        assert_eq!(out, "EVCXR_X\nplain");
        // Not at the start of a line: text.
        let (out, _) = run(&["x EVCXR_BEGIN_CONTENT text/html\n"]);
        assert_eq!(out, "x EVCXR_BEGIN_CONTENT text/html\n");
    }

    #[test]
    fn blocks_after_value_follows_are_the_value() {
        let value = "\u{1}PARLAB {\"t\":\"value\"}\n";
        let (out, _) = run(&[HTML_A, value, HTML_A, VALUE_5, "EVCXR_EXECUTION_COMPLETE\n"]);
        let display = "\u{1}PARLAB {\"t\":\"display\",\"data\":{\"text/html\":\"<b>a</b>\"},\"id\":null,\"update\":false}\n";
        assert_eq!(out, format!("{display}{HTML_A}{VALUE_5}EVCXR_EXECUTION_COMPLETE\n"));
        // The value ends at the first line that is not a block.
        let (out, _) = run(&[value, HTML_A, "text\n", HTML_A]);
        assert_eq!(out, format!("{HTML_A}text\n{display}"));
    }

    #[test]
    fn panics_are_announced_also_inside_blocks() {
        let (out, _) = run(&["EVCXR_BEGIN_CONTENT text/html\n<i>\n", "EVCXR_PANIC_NOTIFICATION\n"]);
        assert_eq!(
            out,
            "\u{1}PARLAB {\"t\":\"display\",\"data\":{\"text/html\":\"<i>\"},\"id\":null,\"update\":false}\n\u{1}PARLAB {\"t\":\"cell_panicked\"}\nEVCXR_PANIC_NOTIFICATION\n"
        );
    }
}
