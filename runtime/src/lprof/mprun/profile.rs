//! [`AllocProfile`]: the one type `%mprun` fills and its reports read.

use crate::display::{escape_html, MimeBundle};
use serde::{Deserialize, Serialize};

/// Allocations per line of the profiled functions.
///
/// ```
/// use parlab::{AllocLine, AllocProfile, FunctionAllocs};
/// let line = |line, source: &str, hits, allocs, bytes| AllocLine { line, source: source.into(), hits, allocs, bytes, peak: 0, net: 0 };
/// let p = AllocProfile {
///     counted: true,
///     functions: vec![FunctionAllocs {
///         name: "build".into(),
///         file: "<cell 2>".into(),
///         first_line: 1,
///         lines: vec![line(1, "fn build() {", 0, 0, 0), line(2, "    for _ in 0..10 { v(); }", 1, 10, 80_000), line(3, "}", 0, 0, 0)],
///     }],
/// };
/// let text = p.to_text();
/// assert!(text.contains("Line #      Hits     Allocs        Bytes         Peak          Net  Line Contents"));
/// assert!(text.contains("     2         1         10        80000            0            0      for _ in 0..10 { v(); }"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AllocProfile {
    /// Whether a counting allocator was there (false: only Hits are real).
    pub counted: bool,
    pub functions: Vec<FunctionAllocs>,
}

/// One function's lines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionAllocs {
    pub name: String,
    pub file: String,
    pub first_line: u32,
    pub lines: Vec<AllocLine>,
}

/// One line: what happened while it ran, callees (and the work it handed
/// to a `Pool` or rayon) included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AllocLine {
    pub line: u32,
    pub source: String,
    pub hits: u64,
    /// Blocks allocated (reallocations included).
    pub allocs: u64,
    /// Bytes requested by them.
    pub bytes: u64,
    /// The most heap the line held above its level at its start (on its
    /// thread), in glibc's usable bytes (`malloc_usable_size`: 8,008 for
    /// an 8,000-byte request).
    pub peak: u64,
    /// Requested bytes the line allocated (on its thread, callees
    /// included) that were still allocated when the statement ended,
    /// wherever they were freed.
    pub net: i64,
}

const HEADER: &str = "Line #      Hits     Allocs        Bytes         Peak          Net  Line Contents";

impl AllocProfile {
    /// A function's lines summed (a recursive function counts its inner
    /// calls again, as line_profiler's total time does).
    fn totals(f: &FunctionAllocs) -> (u64, u64) {
        f.lines.iter().fold((0, 0), |(a, b), l| (a + l.allocs, b + l.bytes))
    }

    /// line_profiler's text layout with allocation columns; figures are
    /// plain integers (bytes unscaled), so tools can read them back.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if !self.counted {
            out.push_str("(no counting allocator in this process: only Hits are measured)\n\n");
        }
        for f in &self.functions {
            let (allocs, bytes) = Self::totals(f);
            out.push_str(&format!("Total allocations: {allocs} ({bytes} B)\nFile: {}\nFunction: {} at line {}\n\n", f.file, f.name, f.first_line));
            out.push_str(HEADER);
            out.push('\n');
            out.push_str(&"=".repeat(HEADER.len()));
            out.push('\n');
            for l in &f.lines {
                if l.hits == 0 && l.allocs == 0 {
                    out.push_str(&format!("{:>6} {:>9} {:>10} {:>12} {:>12} {:>12}  {}\n", l.line, "", "", "", "", "", l.source));
                } else {
                    out.push_str(&format!(
                        "{:>6} {:>9} {:>10} {:>12} {:>12} {:>12}  {}\n",
                        l.line, l.hits, l.allocs, l.bytes, l.peak, l.net, l.source
                    ));
                }
            }
            out.push('\n');
        }
        out
    }

    /// The same table in HTML, with a heat bar on Bytes.
    pub fn to_html(&self) -> String {
        let mut html = String::from("<div class=\"parlab-mprun\">");
        for f in &self.functions {
            let max = f.lines.iter().map(|l| l.bytes).max().unwrap_or(0).max(1);
            let (allocs, bytes) = Self::totals(f);
            html.push_str(&format!(
                "<p><b>{}</b> ({}, line {}): {allocs} allocations, {bytes} B</p><table><thead><tr>\
                 <th>Line #</th><th>Hits</th><th>Allocs</th><th>Bytes</th><th>Peak</th><th>Net</th><th style=\"text-align:left\">Line Contents</th></tr></thead><tbody>",
                escape_html(&f.name),
                escape_html(&f.file),
                f.first_line
            ));
            for l in &f.lines {
                let hit = l.hits > 0 || l.allocs > 0;
                let cell = |v: String| if hit { v } else { String::new() };
                let share = 100.0 * l.bytes as f64 / max as f64;
                html.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td style=\"background:linear-gradient(90deg,#f4a58288 {share:.1}%,transparent {share:.1}%)\">{}</td><td>{}</td><td>{}</td><td style=\"text-align:left\"><pre style=\"margin:0\">{}</pre></td></tr>",
                    l.line,
                    cell(l.hits.to_string()),
                    cell(l.allocs.to_string()),
                    cell(l.bytes.to_string()),
                    cell(l.peak.to_string()),
                    cell(l.net.to_string()),
                    escape_html(&l.source)
                ));
            }
            html.push_str("</tbody></table>");
        }
        html.push_str("</div>");
        html
    }

    /// Shows the profile as a cell's value (`let p = %mprun -r …; p`).
    pub fn evcxr_display(&self) {
        MimeBundle::text(self.to_text()).with_html(self.to_html()).evcxr_display();
    }

    /// The line `line` of function `name`, if profiled.
    pub fn line(&self, name: &str, line: u32) -> Option<&AllocLine> {
        self.functions.iter().find(|f| f.name == name)?.lines.iter().find(|l| l.line == line)
    }
}
