//! Turning evcxr's failures into one Jupyter `error` each, in the user's
//! own cell lines: compile errors as annotated source, panics as a short
//! IPython-style traceback (never evcxr's frames), a dead process with the
//! variables it took with it.

use super::marker::PanicEvent;
use crate::interpreter::Outcome;

/// IPython's traceback colours (ANSI), for every error the kernel draws.
pub(crate) const RED: &str = "\x1b[0;31m";
pub(crate) const GREEN: &str = "\x1b[0;32m";
pub(crate) const RESET: &str = "\x1b[0m";

pub(crate) fn rule(ename: &str) -> Vec<String> {
    vec![
        format!("{RED}{}{RESET}", "-".repeat(75)),
        format!("{RED}{ename:<42}{RESET}Traceback (most recent call last)"),
    ]
}

/// Code evcxr evaluated for a cell: what it compiled and, when the two
/// share line numbers, what the user wrote (a magic line rewritten into
/// harness code is shown as the user typed it).
#[derive(Debug, Clone)]
pub(crate) struct CellSource {
    pub(crate) count: u32,
    pub(crate) generated: String,
    pub(crate) shown: Option<String>,
    /// Lines evcxr saw before the cell (the kernel's pending `:dep`
    /// lines): rustc's line numbers count them.
    pub(crate) hidden_lines: usize,
}

impl CellSource {
    #[cfg(test)]
    pub(crate) fn plain(count: u32, code: &str) -> Self {
        CellSource { count, generated: code.to_owned(), shown: None, hidden_lines: 0 }
    }

    fn text(&self) -> &str {
        self.shown.as_deref().unwrap_or(&self.generated)
    }
}

/// Where a line of the generated `lib.rs` came from: (cell, 1-based line).
/// evcxr copies user statements and items verbatim, so the line's text is
/// looked up in the cells, newest first. Generic lines (`}`) are not
/// located.
pub(crate) fn locate(lib_line: &str, cells: &[CellSource]) -> Option<(usize, usize)> {
    let needle = lib_line.trim();
    if needle.len() < 3 || needle.chars().all(|c| "{}();,".contains(c)) {
        return None;
    }
    cells.iter().enumerate().rev().find_map(|(k, c)| {
        c.generated.lines().position(|l| l.trim() == needle).map(|i| (k, i + 1))
    })
}

/// Source excerpt with an arrow at `line`, IPython's layout.
pub(crate) fn excerpt(code: &str, line: usize) -> String {
    let lines: Vec<&str> = code.lines().collect();
    let lo = line.saturating_sub(3).max(1);
    let hi = (line + 2).min(lines.len());
    excerpt_rows((lo..=hi).map(|n| (n, lines.get(n - 1).copied().unwrap_or(""), n == line)))
}

/// Numbered source rows (number shown, text, is the arrow's row), drawn
/// as IPython draws a traceback's excerpt.
pub(crate) fn excerpt_rows<'a>(rows: impl IntoIterator<Item = (usize, &'a str, bool)>) -> String {
    let mut s = String::new();
    for (n, text, at) in rows {
        if at {
            s.push_str(&format!("{GREEN}----> {n:<2}{RESET} {text}\n"));
        } else {
            s.push_str(&format!("      {n:<2} {text}\n"));
        }
    }
    s.trim_end().to_owned()
}

/// The error for a cell that panicked. `lib_rs` is the source evcxr
/// compiled; `cells` the notebook's cells so far.
pub(crate) fn panic_outcome(events: &[PanicEvent], lib_rs: &str, cells: &[CellSource]) -> Outcome {
    // The panic that ended the cell: the main thread's if there was one
    // (a worker's panic resumed there skips the hook), else the first.
    let ev = events
        .iter()
        .rev()
        .find(|e| e.main)
        .or_else(|| events.first())
        .cloned()
        .unwrap_or(PanicEvent {
            message: "the cell panicked".into(),
            file: None,
            line: None,
            thread: "main".into(),
            main: true,
            interrupt: false,
        });
    if ev.interrupt || events.iter().any(|e| e.interrupt) {
        return interrupted(None);
    }
    let mut tb = rule("panic");
    let origin = ev.file.as_deref().filter(|f| f.ends_with("src/lib.rs")).zip(ev.line);
    let located = origin.and_then(|(_, line)| {
        let text = lib_rs.lines().nth(line as usize - 1)?;
        locate(text, cells)
    });
    match located {
        Some((k, line)) => {
            let cell = &cells[k];
            tb.push(format!("Cell {GREEN}In[{}]{RESET}, line {line}", cell.count));
            tb.push(excerpt(cell.text(), line));
        }
        None => {
            if let (Some(file), Some(line)) = (&ev.file, ev.line) {
                if !file.ends_with("src/lib.rs") {
                    tb.push(format!("at {file}:{line}"));
                }
            }
        }
    }
    let thread = if ev.main { String::new() } else { format!(" (in thread '{}')", ev.thread) };
    tb.push(String::new());
    tb.push(format!("{RED}panic{RESET}: {}{thread}", ev.message));
    Outcome::Error { ename: "panic".into(), evalue: ev.message, traceback: tb }
}

/// `KeyboardInterrupt`, optionally noting what a restart cost.
pub(crate) fn interrupted(lost: Option<&[String]>) -> Outcome {
    let evalue = match lost {
        None => String::new(),
        Some(lost) => format!(
            "the cell did not stop within {:.1} s, so the evaluation process was restarted; {}",
            super::child::GRACE.as_secs_f64(),
            lost_sentence(lost)
        ),
    };
    keyboard_interrupt(evalue)
}

/// IPython's `KeyboardInterrupt` error, with `evalue` as its message.
pub(crate) fn keyboard_interrupt(evalue: String) -> Outcome {
    let mut tb = rule("KeyboardInterrupt");
    tb.push(format!("{RED}KeyboardInterrupt{RESET}: {evalue}"));
    Outcome::Error { ename: "KeyboardInterrupt".into(), evalue, traceback: tb }
}

fn lost_sentence(lost: &[String]) -> String {
    if lost.is_empty() {
        "no variables were lost".into()
    } else {
        format!("variables lost: {}", lost.join(", "))
    }
}

/// The evaluation process died (abort, segfault, `process::exit`).
/// `panics` are the panics the process reported in this cell: one that
/// could not unwind ends in an abort, and their messages are the useful
/// part (`first → in drop → panic in a destructor during cleanup`).
pub(crate) fn process_died(detail: &str, lost: &[String], panics: &[PanicEvent]) -> Outcome {
    let cause = if panics.is_empty() {
        String::new()
    } else {
        let chain: Vec<&str> = panics.iter().map(|p| p.message.as_str()).collect();
        format!(" after a panic that could not unwind ({})", chain.join(" → "))
    };
    let evalue = format!(
        "the evaluation process died ({}){cause}; a new one was started, {}",
        detail.trim(),
        lost_sentence(lost)
    );
    let mut tb = rule("ProcessDied");
    tb.push(format!("{RED}ProcessDied{RESET}: {evalue}"));
    Outcome::Error { ename: "ProcessDied".into(), evalue, traceback: tb }
}

/// rustc's errors, drawn over the user's cell.
pub(crate) fn compile_outcome(errors: &[evcxr::CompilationError], cell: &CellSource) -> Outcome {
    let name = format!("In[{}]", cell.count);
    let map = super::compile_report::ColumnMap::new(&cell.generated, cell.text(), cell.hidden_lines);
    let mut tb = Vec::new();
    for e in errors {
        let mut rendered = None;
        if e.is_from_user_code() {
            rendered = super::compile_report::render(e, &name, &map);
        }
        let text = rendered.unwrap_or_else(|| {
            let code = e.code().map(|c| format!("[{c}]")).unwrap_or_default();
            let mut s = format!("{RED}error{code}{RESET}: {}", e.message());
            for h in e.help() {
                s.push_str(&format!("\nhelp: {h}"));
            }
            s
        });
        tb.push(text);
    }
    let evalue = errors.first().map(|e| e.message()).unwrap_or_default();
    Outcome::Error { ename: "CompileError".into(), evalue, traceback: tb }
}

/// A one-line error (UsageError, evcxr messages), IPython's shape.
pub(crate) fn simple(ename: &str, evalue: impl Into<String>) -> Outcome {
    let evalue = evalue.into();
    Outcome::Error {
        traceback: vec![format!("{RED}{ename}{RESET}: {evalue}")],
        ename: ename.into(),
        evalue,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_finds_newest_cell_and_skips_braces() {
        let cells = vec![
            CellSource::plain(1, "fn f() {\n    panic!(\"x\");\n}"),
            CellSource::plain(2, "let v = vec![1];\nv[3];"),
        ];
        assert_eq!(locate("    v[3];", &cells), Some((1, 2)));
        assert_eq!(locate("        panic!(\"x\");", &cells), Some((0, 2)));
        assert_eq!(locate("}", &cells), None);
    }

    #[test]
    fn panic_traceback_points_at_the_cell_line() {
        let cells = vec![CellSource::plain(4, "let v = vec![1, 2, 3];\nlet x = v[10];")];
        let lib = "fn generated() {\nlet x = v[10];\n}";
        let ev = PanicEvent {
            message: "index out of bounds".into(),
            file: Some("src/lib.rs".into()),
            line: Some(2),
            thread: "main".into(),
            main: true,
            interrupt: false,
        };
        let Outcome::Error { ename, evalue, traceback } = panic_outcome(&[ev], lib, &cells) else { panic!() };
        assert_eq!(ename, "panic");
        assert_eq!(evalue, "index out of bounds");
        let joined = traceback.join("\n");
        assert!(joined.contains("In[4]"), "{joined}");
        assert!(joined.contains("----> 2"), "{joined}");
        assert!(!joined.contains("evcxr"), "{joined}");
    }
}
