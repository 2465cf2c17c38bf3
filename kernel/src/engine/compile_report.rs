//! rustc's errors drawn over the cell the user wrote, not over the code a
//! magic turned it into.
//!
//! A `%timeit STMT` line reaches rustc as one long generated line that
//! contains `STMT` verbatim. rustc's columns point into that line; drawn
//! as they are, the user would see parlab's harness instead of their own
//! statement. Rewrites keep the cell's line numbers (see
//! `parlab_magics::plan`), so only columns need mapping: on a rewritten
//! line, the longest tail of the user's line that appears in the generated
//! line anchors the map.
//!
//! evcxr's `CompilationError::build_report` does the same drawing but only
//! over the source it compiled; this is that function with the map added
//! (and char offsets, so non-ASCII cells are drawn too).

use ariadne::{Color, ColorGenerator, Label, Report, ReportKind};
use evcxr::CompilationError;

/// Maps (line, column) positions of generated code to the shown cell.
pub(crate) struct ColumnMap<'a> {
    generated: Vec<&'a str>,
    shown: Vec<&'a str>,
    hidden: usize,
}

impl<'a> ColumnMap<'a> {
    /// `hidden` lines came before `generated` in what rustc compiled
    /// (the kernel's pending `:dep` lines).
    pub(crate) fn new(generated: &'a str, shown: &'a str, hidden: usize) -> Self {
        ColumnMap { generated: generated.lines().collect(), shown: shown.lines().collect(), hidden }
    }

    /// 1-based (line, char column) in generated code → the same in the
    /// shown cell. Lines past the shown cell's end (a closing line some
    /// rewrites add) land at the end of its last line.
    pub(crate) fn map(&self, line: usize, column: usize) -> (usize, usize) {
        let line = line.saturating_sub(self.hidden).max(1);
        let n = self.shown.len().max(1);
        if line > n {
            return (n, self.shown.get(n - 1).map_or(1, |l| l.chars().count() + 1));
        }
        let shown = self.shown.get(line - 1).copied().unwrap_or("");
        let generated = self.generated.get(line - 1).copied().unwrap_or("");
        if shown == generated {
            return (line, column);
        }
        (line, map_column(generated, shown, column))
    }

    /// The shown cell's text.
    pub(crate) fn shown_source(&self) -> String {
        self.shown.join("\n")
    }
}

/// 1-based char column in `generated` → column in `shown`, anchored on the
/// longest tail of `shown` (without a trailing `;`) that `generated`
/// contains.
fn map_column(generated: &str, shown: &str, column: usize) -> usize {
    let starts: Vec<usize> = shown.char_indices().map(|(i, _)| i).collect();
    for (k, &byte) in starts.iter().enumerate() {
        let piece = shown[byte..].trim_end().trim_end_matches(';').trim_end();
        if piece.chars().count() < 2 {
            break;
        }
        if let Some(at) = generated.find(piece) {
            let g = generated[..at].chars().count();
            let len = piece.chars().count();
            let c0 = column.saturating_sub(1);
            let mapped = if c0 < g {
                k
            } else if c0 < g + len {
                k + (c0 - g)
            } else {
                k + len
            };
            return mapped + 1;
        }
    }
    // Nothing of the user's line survives: point at its first non-blank.
    shown.chars().take_while(|c| c.is_whitespace()).count() + 1
}

/// One error as ariadne draws it, over `map`'s shown source.
pub(crate) fn render(error: &CompilationError, name: &str, map: &ColumnMap<'_>) -> Option<String> {
    let source = map.shown_source();
    let line_starts: Vec<usize> = {
        let mut v = vec![0];
        let mut acc = 0;
        for l in &map.shown {
            acc += l.chars().count() + 1;
            v.push(acc);
        }
        v
    };
    let offset = |line: usize, column: usize| -> usize {
        let (line, column) = map.map(line, column);
        let start = line_starts.get(line - 1).copied().unwrap_or(0);
        (start + column.saturating_sub(1)).min(source.chars().count())
    };
    let mut colors = ColorGenerator::new();
    let mut notes = String::new();
    let mut labels = Vec::new();
    let mut first = None;
    for m in error.spanned_messages().iter().chain(error.help_spanned()) {
        match &m.span {
            Some(span) if !m.label.is_empty() => {
                let start = offset(span.start_line, span.start_column);
                let end = offset(span.end_line, span.end_column).max(start + 1);
                first.get_or_insert(start..end);
                let color = match colors.next() {
                    Color::Fixed(x) => Color::Fixed(255 - x),
                    other => other,
                };
                labels.push(
                    Label::new((name.to_owned(), start..end)).with_message(&m.label).with_color(color).with_order(10),
                );
            }
            Some(_) => {}
            None => notes.push_str(&m.label),
        }
    }
    // The header names the first label's place (`In[4]:2:9`), as rustc does.
    let mut builder = Report::build(ReportKind::Error, (name.to_owned(), first?)).with_message(error.message()).with_labels(labels);
    if let Some(code) = error.code() {
        builder = builder.with_code(code);
    }
    if !notes.is_empty() {
        builder.set_note(notes);
    }
    let mut buf = Vec::new();
    builder.finish().write(ariadne::sources([(name.to_owned(), source.as_str())]), &mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_of_a_rewritten_magic_line_land_on_the_statement() {
        let shown = "let v = 1;\n%timeit -n 10 v.foo()\nv";
        let generated = "let v = 1;\n{ ::parlab::__private::timeit(OPTS, |r| { black_box(v.foo()); }); };\nv";
        let map = ColumnMap::new(generated, shown, 0);
        let at = generated.lines().nth(1).unwrap().find("foo").unwrap() + 1;
        let (line, col) = map.map(2, at);
        assert_eq!(line, 2);
        assert_eq!(&shown.lines().nth(1).unwrap()[col - 1..col + 2], "foo");
        // Untouched lines map to themselves; harness columns clamp to the statement.
        assert_eq!(map.map(1, 5), (1, 5));
        assert_eq!(map.map(2, 1), (2, 15));
        // A closing line past the cell lands at the end of its last line.
        assert_eq!(map.map(4, 3), (3, 2));
    }

    #[test]
    fn hidden_lines_before_the_cell_are_taken_off() {
        let map = ColumnMap::new("let x: u8 = 300;", "let x: u8 = 300;", 2);
        assert_eq!(map.map(3, 13), (1, 13));
    }

    #[test]
    fn no_common_text_points_at_the_line_start() {
        assert_eq!(map_column("xyz", "    %time", 2), 5);
    }
}
