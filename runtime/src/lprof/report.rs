//! line_profiler's text report, byte for byte, and an HTML table with a
//! heat bar per line.
//!
//! Layout (line_profiler 5.1 `show_text`/`show_func`): `Timer unit: %g s`,
//! a blank line, then per function `Total time: %g s`, `File:`,
//! `Function: NAME at line L`, a blank line, the header, `=` to its width,
//! one row per source line (`%6s %9s %12s %8s %8s  %-s`; columns widen to
//! their widest value) and a blank line. parlab adds one line after the
//! timer unit: how the times were measured and how uncertain they are
//! (the HTML table also gives each line's ± in a column of its own).

use super::stats::{FunctionProfile, LineProfile};
// One `%g` for the crate (Python's, `-0` included) and one HTML escaper.
use crate::display::escape_html;
use crate::timeit::format::format_g;
use std::fmt::Write;

/// Default widths: line, hits, time, per hit, % time.
const WIDTHS: [usize; 5] = [6, 9, 12, 8, 8];

/// The four number cells of each line that ran, as line_profiler formats
/// them; `None` for lines without hits.
fn cells(f: &FunctionProfile, scalar: f64) -> Vec<Option<[String; 4]>> {
    let total: u64 = f.lines.iter().map(|l| l.time).sum();
    f.lines
        .iter()
        .map(|l| {
            if l.hits == 0 {
                return None;
            }
            let time = l.time as f64 * scalar;
            let per_hit = time / l.hits as f64;
            let fixed_or_g = |v: f64, width: usize| {
                let s = format!("{v:5.1}");
                if s.len() > width { format!("{:>5}", format_g(v, 3)) } else { s }
            };
            let hits = l.hits.to_string();
            let hits = if hits.len() > WIDTHS[1] { format_g(l.hits as f64, 6) } else { hits };
            let percent = if total == 0 { String::new() } else { format!("{:5.1}", 100.0 * l.time as f64 / total as f64) };
            Some([hits, fixed_or_g(time, WIDTHS[2]), fixed_or_g(per_hit, WIDTHS[3]), percent])
        })
        .collect()
}

impl LineProfile {
    /// The line under the timer unit: the method and its uncertainty.
    fn method(&self) -> Option<String> {
        let t = &self.timing;
        if t.hz == 0.0 {
            return None;
        }
        let runs = if t.runs == 1 { "1 run".to_owned() } else { format!("{} runs", t.runs) };
        let mut s = format!("Time: sampled at {} Hz, {} samples over {runs}", t.hz.round(), t.samples);
        if t.samples == 0 {
            s.push_str(" (too short to sample: run it in a loop)");
            return Some(s);
        }
        // Worst case of two standard errors of a share: p = 1/2.
        let _ = write!(s, "; % Time ±{:.1} pp at most (95 %)", 100.0 / (t.samples as f64).sqrt());
        if t.plain_runs > 0 {
            let _ = write!(s, "; per run; probes' cost ({:.2} ns per event, measured against {} plain runs) taken out", t.probe_ns, t.plain_runs);
        } else if t.runs > 1 {
            s.push_str("; per run, probes' cost included");
        } else {
            s.push_str("; probes' cost included");
        }
        if t.other_threads {
            s.push_str("; lines that ran on other threads: their CPU time");
        }
        Some(s)
    }

    fn shown(&self) -> impl Iterator<Item = &FunctionProfile> {
        self.functions.iter().filter(|f| !(self.skip_zero && f.total_hits() == 0))
    }

    fn scalar(&self) -> f64 {
        self.timer_unit / self.output_unit.unwrap_or(self.timer_unit)
    }

    /// The report as line_profiler prints it.
    pub fn to_text(&self) -> String {
        let mut out = format!("Timer unit: {} s\n", format_g(self.output_unit.unwrap_or(self.timer_unit), 6));
        if let Some(method) = self.method() {
            let _ = writeln!(out, "{method}");
        }
        out.push('\n');
        for f in self.shown() {
            let _ = writeln!(out, "Total time: {} s", format_g(f.total_time(self.timer_unit), 6));
            let _ = writeln!(out, "File: {}", f.file);
            let _ = writeln!(out, "Function: {} at line {}\n", f.name, f.first_line);
            let cells = cells(f, self.scalar());
            let mut w = WIDTHS;
            for c in cells.iter().flatten() {
                for k in 0..3 {
                    w[k + 1] = w[k + 1].max(c[k].len());
                }
            }
            let row = |cols: [&str; 6]| {
                format!("{:>a$} {:>b$} {:>c$} {:>d$} {:>e$}  {}", cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], a = w[0], b = w[1], c = w[2], d = w[3], e = w[4])
            };
            let header = row(["Line #", "Hits", "Time", "Per Hit", "% Time", "Line Contents"]);
            let _ = writeln!(out, "{header}\n{}", "=".repeat(header.len()));
            for (l, c) in f.lines.iter().zip(&cells) {
                let n = l.line.to_string();
                let line = match c {
                    Some([h, t, p, pc]) => row([&n, h, t, p, pc, &l.source]),
                    None => row([&n, "", "", "", "", &l.source]),
                };
                let _ = writeln!(out, "{line}");
            }
            out.push('\n');
        }
        out
    }

    /// The same report as an HTML table; `% Time` also drawn as a bar.
    pub fn to_html(&self) -> String {
        let unit = format_g(self.output_unit.unwrap_or(self.timer_unit), 6);
        let mut out = format!("<div class=\"parlab-lprun\"><p style=\"font-family:monospace\">Timer unit: {unit} s");
        if let Some(method) = self.method() {
            let _ = write!(out, "<br>{}", escape_html(&method));
        }
        out.push_str("</p>");
        for f in self.shown() {
            let _ = write!(
                out,
                "<p style=\"font-family:monospace\">Total time: {} s · {} · <b>{}</b> at line {}</p>\
                 <table style=\"font-family:monospace;border-collapse:collapse\"><tr><th>Line #</th><th>Hits</th><th>Time</th>\
                 <th>Per Hit</th><th>% Time</th><th title=\"two standard errors of Time, from the number of samples\">± Time</th>\
                 <th style=\"text-align:left\">Line Contents</th></tr>",
                format_g(f.total_time(self.timer_unit), 6),
                escape_html(&f.file),
                escape_html(&f.name),
                f.first_line
            );
            let total: u64 = f.lines.iter().map(|l| l.time).sum();
            for (l, c) in f.lines.iter().zip(cells(f, self.scalar())) {
                let [h, t, p, pc] = c.unwrap_or_default();
                let pct = if total == 0 { 0.0 } else { 100.0 * l.time as f64 / total as f64 };
                let err = if l.hits == 0 || self.timing.samples == 0 {
                    String::new()
                } else {
                    format!("{:5.1}", self.timing.error_ns(l.samples) * self.scalar())
                };
                let _ = write!(
                    out,
                    "<tr><td style=\"text-align:right\">{}</td><td style=\"text-align:right\">{h}</td><td style=\"text-align:right\">{t}</td>\
                     <td style=\"text-align:right\">{p}</td><td style=\"text-align:right;background:linear-gradient(to right,rgba(230,85,13,.55) {pct:.1}%,transparent {pct:.1}%)\">{pc}</td>\
                     <td style=\"text-align:right;color:#888\">{err}</td>\
                     <td style=\"text-align:left;white-space:pre\">{}</td></tr>",
                    l.line,
                    highlight(&l.source)
                );
            }
            out.push_str("</table>");
        }
        out.push_str("</div>");
        out
    }
}

const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "else", "enum", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "self", "Self", "static", "struct", "trait", "type", "unsafe", "use", "where", "while",
];

/// Light syntax colouring: keywords, string literals, `//` comments.
fn highlight(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("//") {
            let _ = write!(out, "<span style=\"color:#888\">{}</span>", escape_html(rest));
            break;
        }
        let len = if c == '"' {
            let end = rest[1..].find('"').map_or(rest.len(), |i| i + 2);
            let _ = write!(out, "<span style=\"color:#1a7f37\">{}</span>", escape_html(&rest[..end]));
            end
        } else if c.is_alphabetic() || c == '_' {
            let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
            let word = &rest[..end];
            if KEYWORDS.contains(&word) {
                let _ = write!(out, "<span style=\"color:#8250df;font-weight:bold\">{word}</span>");
            } else {
                out.push_str(word);
            }
            end
        } else {
            out.push_str(&escape_html(&rest[..c.len_utf8()]));
            c.len_utf8()
        };
        rest = &rest[len..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_g_matches_python() {
        let cases = [(1e-9, 6, "1e-09"), (1.53165, 6, "1.53165"), (11932504.0, 3, "1.19e+07"), (0.61, 6, "0.61"), (1e-6, 6, "1e-06"), (123456.0, 6, "123456"), (1234567.0, 6, "1.23457e+06"), (0.0001, 6, "0.0001"), (100.0, 3, "100")];
        for (x, p, want) in cases {
            assert_eq!(format_g(x, p), want, "{x} %.{p}g");
        }
    }
}

#[cfg(test)]
mod snapshot {
    use crate::lprof::{FunctionProfile, LineProfile, LineStat};

    /// The seed's `distance()` numbers from line_profiler (reference §2).
    fn seed() -> LineProfile {
        let rows: [(&str, u64, u64); 14] = [
            ("def distance():", 0, 0),
            ("    X = np.random.rand(100, 100)", 1, 11_932_504),
            ("    D = np.empty((100, 100))", 1, 1663),
            ("", 0, 0),
            ("    M = X.shape[0]", 1, 1539),
            ("    N = X.shape[1]", 1, 370),
            ("    for i in range(M):", 101, 19_438),
            ("        for j in range(M):", 10_100, 3_209_889),
            ("            d = 0.0", 10_000, 1_816_623),
            ("            for k in range(N):", 1_010_000, 251_779_941),
            ("                tmp = X[i, k] - X[j, k]", 1_000_000, 833_766_028),
            ("                d += tmp * tmp", 1_000_000, 417_731_878),
            ("            D[i, j] = np.sqrt(d)", 10_000, 11_394_283),
            ("", 0, 0),
        ];
        let lines = rows.iter().zip(1..).map(|(&(s, hits, time), line)| LineStat { line, source: s.into(), hits, time, samples: time / 100_000 }).collect();
        let never = FunctionProfile { name: "unused".into(), file: "<cell 3>".into(), first_line: 1, lines: vec![LineStat { line: 1, source: "fn unused() {}".into(), hits: 0, time: 0, samples: 0 }] };
        LineProfile {
            timing: crate::lprof::Timing { hz: 4000.0, runs: 3, samples: 15_316, ns_per_sample: 100_000.0, plain_runs: 12, probe_ns: 0.93, ns_per_cpu_ns: 0.0, other_threads: false },
            functions: vec![FunctionProfile { name: "distance".into(), file: "<cell 2>".into(), first_line: 1, lines }, never],
            ..LineProfile::default()
        }
    }

    #[test]
    fn text_report_matches_line_profiler_layout() {
        insta::assert_snapshot!(seed().to_text());
    }

    #[test]
    fn unit_and_skip_zero() {
        let p = LineProfile { output_unit: Some(1e-6), skip_zero: true, ..seed() };
        insta::assert_snapshot!(p.to_text());
    }

    #[test]
    fn html_has_a_heat_bar_per_line() {
        let html = seed().to_html();
        assert!(html.contains("54.4%,transparent 54.4%") && html.contains("<span style=\"color:#8250df;font-weight:bold\">for</span>"));
    }
}
