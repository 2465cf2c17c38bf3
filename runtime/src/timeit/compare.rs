//! [`compare`]: several `%timeit -o` results side by side, as a table
//! (mean, std. dev., speed-up relative to the first) and a bar chart.
//!
//! The speed-up is **mean over mean** ([`TimeitResult::speedup_over`], the
//! one metric the notebooks print too): the ratio of the two numbers shown
//! in the `mean` column, so a reader can check it, and a ratio that keeps
//! a parallel run's variability (the slowest worker, a late wake-up)
//! instead of picking its luckiest run. A footer line under the table says
//! so. Best over best gave a different figure for the same runs (notebook
//! 03: 1.99× against 1.90×), which is why there is only one.
//!
//! The chart is an SVG drawn with plotters, put below the HTML table as an
//! `<img>` with a `data:` source ([`svg_img`]), so notebooks saved to disk
//! keep it and show it before they are re-run (an inline `<svg>` does not
//! survive JupyterLab's sanitizer in an untrusted notebook). Plotters' naive
//! text layout is used (no font files): the SVG's text is laid out by the
//! browser.

use super::format::format_time;
use super::result::TimeitResult;
use crate::display::{display, escape_html, svg_img, MimeBundle};
use plotters::prelude::*;

/// Displays a comparison of timing results; the first is the baseline,
/// and each speed-up is the baseline's mean over the row's mean.
///
/// ```
/// use parlab::{compare, TimeitResult};
/// let serial = TimeitResult::new(10, vec![0.04, 0.041], 0.0, 3);
/// let parallel = TimeitResult::new(10, vec![0.011, 0.012], 0.0, 3);
/// compare(&[("serial", &serial), ("parallel", &parallel)]);
/// ```
pub fn compare(entries: &[(&str, &TimeitResult)]) {
    display(comparison(entries));
}

/// The bundle [`compare`] displays.
pub(crate) fn comparison(entries: &[(&str, &TimeitResult)]) -> MimeBundle {
    comparison_on(entries, std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// [`comparison`] on a machine of `cores` cores.
fn comparison_on(entries: &[(&str, &TimeitResult)], cores: usize) -> MimeBundle {
    if entries.is_empty() {
        return MimeBundle::text("(nothing to compare)");
    }
    let rows: Vec<[String; 4]> = entries
        .iter()
        .map(|(name, r)| {
            let p = r.precision;
            [(*name).to_owned(), format_time(r.average(), p), format_time(r.stdev(), p), speedup(r.speedup_over(entries[0].1))]
        })
        .collect();
    let header = ["", "mean", "std. dev.", "speed-up"];
    let widths: Vec<usize> =
        (0..4).map(|c| rows.iter().map(|r| r[c].chars().count()).chain([header[c].chars().count()]).max().unwrap_or(0)).collect();
    let line = |cells: [&str; 4]| {
        let name = format!("{:<w$}", cells[0], w = widths[0]);
        let rest: Vec<String> = (1..4).map(|c| format!("{:>w$}", cells[c], w = widths[c])).collect();
        format!("{name}  {}", rest.join("  ")).trim_end().to_owned()
    };
    let mut text = vec![line(header)];
    text.extend(rows.iter().map(|r| line([&r[0], &r[1], &r[2], &r[3]])));
    // An allocations column when a result has counts (`%timeit` in the kernel).
    let allocs = allocs_column(entries);
    if let Some(cells) = &allocs {
        let w = cells.iter().map(|c| c.chars().count()).chain([ALLOCS_HEADER.chars().count()]).max().unwrap_or(0);
        let width = text.iter().map(|l| l.chars().count()).max().unwrap_or(0);
        for (l, cell) in text.iter_mut().zip(std::iter::once(ALLOCS_HEADER).chain(cells.iter().map(String::as_str))) {
            let pad = width - l.chars().count();
            l.push_str(&format!("{:pad$}  {cell:>w$}", ""));
        }
    }
    let footer = metric_footer(entries[0].0);
    text.push(footer.clone());
    let warning = superlinear(entries, cores);
    text.extend(warning.clone());

    let allocs_th = if allocs.is_some() { format!("<th>{ALLOCS_HEADER}</th>") } else { String::new() };
    let mut html = format!("<table class=\"parlab-compare\"><thead><tr><th></th><th>mean</th><th>std. dev.</th><th>speed-up</th>{allocs_th}</tr></thead><tbody>");
    for (i, r) in rows.iter().enumerate() {
        let allocs_td = allocs.as_ref().map(|c| format!("<td>{}</td>", c[i])).unwrap_or_default();
        html.push_str(&format!(
            "<tr><td style=\"text-align:left\">{}</td><td>{}</td><td>± {}</td><td><b>{}</b></td>{allocs_td}</tr>",
            escape_html(&r[0]),
            r[1],
            r[2],
            r[3]
        ));
    }
    html.push_str("</tbody></table>");
    html.push_str(&format!("<div style=\"font-size:smaller\">{}</div>", escape_html(&footer)));
    if let Some(w) = &warning {
        html.push_str(&format!("<div style=\"color:#a15c00\">⚠ {}</div>", escape_html(w)));
    }
    if let Some(svg) = bar_chart(entries) {
        html.push_str(&format!("<div>{}</div>", svg_img(&svg, "bar chart of the mean time per loop")));
    }
    MimeBundle::text(text.join("\n")).with_html(html)
}

/// Busy threads from which a row counts as parallel (see [`superlinear`]).
const MIN_PARALLEL: f64 = 1.5;

/// One line when a version is faster than the threads it kept busy allow:
/// the same work on `p` threads cannot run more than `p` times faster, so
/// the versions did different work. In a notebook that is usually
/// different machine code: each cell compiles its functions anew, and
/// `(0..8).map(work)` and `(0..8).map(|x| work(x))` ran the same serial
/// work in 15.1 and 25.3 ms (issue 15).
///
/// Busy threads are CPU time over wall time (`%timeit` measures both); the
/// check needs a CPU-bound baseline (a baseline that waits, on I/O or a
/// sleep, can be beaten by any number of waiting threads). Results without
/// CPU times are held to `cores` instead.
///
/// Only a row that kept more than one thread busy (1.5 or more) is
/// checked: it claims its speed-up from threads. Between two serial
/// versions a speed-up is as often a better algorithm as other machine
/// code (notebook 01's Gram matrix is 6× faster than its triple loop, on
/// one thread), and the times cannot tell the two apart.
fn superlinear(entries: &[(&str, &TimeitResult)], cores: usize) -> Option<String> {
    let (_, base) = entries.first()?;
    let base_wall = base.average();
    let base_busy = base.cpu_average().map(|cpu| cpu / base_wall);
    if !(base_wall > 0.0) || base_busy.is_some_and(|b| b < 0.8) {
        return None;
    }
    entries[1..].iter().find_map(|(name, r)| {
        let wall = r.average();
        let speedup = r.speedup_over(base)?;
        let threads = match (r.cpu_average(), base_busy) {
            (Some(cpu), Some(base_busy)) => cpu / wall / base_busy,
            _ => cores as f64,
        };
        // 5 % of slack for the noise of two CPU-time readings.
        (threads >= MIN_PARALLEL && speedup > 1.05 * threads).then(|| {
            format!(
                "warning: {name} is {speedup:.2}× faster on {threads:.1} busy threads: a super-linear speed-up, so the \
                 versions may not run the same machine code (each cell compiles its functions anew, with different inlining)"
            )
        })
    })
}

const ALLOCS_HEADER: &str = "allocs/loop";

/// `2 (160 B)` per entry, `–` for one without counts; `None` when no
/// entry has counts.
fn allocs_column(entries: &[(&str, &TimeitResult)]) -> Option<Vec<String>> {
    entries.iter().any(|(_, r)| r.allocs_per_loop.is_some()).then(|| {
        entries
            .iter()
            .map(|(_, r)| match (r.allocs_per_loop, r.bytes_per_loop) {
                (Some(n), Some(b)) => {
                    let n = if n.fract() == 0.0 { format!("{n}") } else { format!("{n:.2}") };
                    format!("{n} ({})", crate::alloc::format_bytes(b))
                }
                _ => "–".to_owned(),
            })
            .collect()
    })
}

fn speedup(s: Option<f64>) -> String {
    s.map_or_else(|| "–".to_owned(), |s| format!("{s:.2}×"))
}

/// The line under the table that names the metric.
fn metric_footer(baseline: &str) -> String {
    format!("speed-up = mean of {baseline} / mean of the row")
}

/// Horizontal bars of the mean time per loop, with ± std whiskers.
fn bar_chart(entries: &[(&str, &TimeitResult)]) -> Option<String> {
    let max = entries.iter().map(|(_, r)| r.average() + r.stdev()).fold(0.0, f64::max);
    if !(max > 0.0 && max.is_finite()) {
        return None;
    }
    // One unit for the whole axis, picked from the largest value.
    let (unit, scale) = [("s", 1.0), ("ms", 1e3), ("μs", 1e6), ("ns", 1e9)]
        .into_iter()
        .find(|(_, s)| max * s >= 1.0)
        .unwrap_or(("ns", 1e9));
    let n = entries.len();
    let height = 50 + 36 * n as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (560, height)).into_drawing_area();
        root.fill(&WHITE).ok()?;
        let mut chart = ChartBuilder::on(&root)
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(110)
            .build_cartesian_2d(0.0..max * scale * 1.08, (0..n).into_segmented())
            .ok()?;
        let names: Vec<String> = entries.iter().map(|(name, _)| (*name).to_owned()).collect();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc(format!("time per loop ({unit})"))
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => names.get(*i).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .draw()
            .ok()?;
        let colors = [RGBColor(31, 119, 180), RGBColor(255, 127, 14), RGBColor(44, 160, 44), RGBColor(214, 39, 40)];
        for (i, (_, r)) in entries.iter().enumerate() {
            let (mean, std) = (r.average() * scale, r.stdev() * scale);
            let color = colors[i % colors.len()];
            chart
                .draw_series([Rectangle::new(
                    [(0.0, SegmentValue::Exact(i)), (mean, SegmentValue::Exact(i + 1))],
                    color.mix(0.8).filled(),
                )])
                .ok()?;
            chart
                .draw_series([PathElement::new(
                    [(mean - std, SegmentValue::CenterOf(i)), (mean + std, SegmentValue::CenterOf(i))],
                    BLACK.stroke_width(2),
                )])
                .ok()?;
        }
        root.present().ok()?;
    }
    Some(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_and_chart() {
        let a = TimeitResult::new(10, vec![0.04, 0.04], 0.0, 3);
        let b = TimeitResult::new(10, vec![0.01, 0.01], 0.0, 3);
        let bundle = comparison_on(&[("serial", &a), ("parallel <4>", &b)], 4);
        insta::assert_snapshot!(bundle.get("text/plain").unwrap(), @r"
                      mean  std. dev.  speed-up
        serial        4 ms       0 ns     1.00×
        parallel <4>  1 ms       0 ns     4.00×
        speed-up = mean of serial / mean of the row
        ");
        let html = bundle.get("text/html").unwrap();
        assert!(html.contains("parallel &lt;4&gt;"));
        assert!(html.contains("4.00×"));
        // The table, the line naming the metric, then the chart: an image,
        // not an inline `<svg>`.
        let (table, rest) = html.split_once("</table>").unwrap();
        let chart = rest.strip_prefix("<div style=\"font-size:smaller\">speed-up = mean of serial / mean of the row</div>").unwrap();
        assert!(!html.contains("<svg"));
        assert!(table.contains("parallel &lt;4&gt;"));
        assert!(chart.starts_with("<div><img src=\"data:image/svg+xml;base64,"), "{chart:.80}");
        assert!(chart.ends_with("\" alt=\"bar chart of the mean time per loop\"></div>"));
    }

    fn with_cpu(wall: f64, cpu: f64) -> TimeitResult {
        TimeitResult { cpu_runs: vec![cpu, cpu], ..TimeitResult::new(1, vec![wall, wall], 0.0, 3) }
    }

    #[test]
    fn a_speedup_beyond_the_busy_threads_is_flagged() {
        // Issue 15's case: 25.3 ms of serial work became 15.1 ms, on 2 threads.
        let serial = with_cpu(0.0253, 0.0253);
        let parallel = with_cpu(0.00755, 0.0151);
        let w = superlinear(&[("serial", &serial), ("2 threads", &parallel)], 2).unwrap();
        assert_eq!(w, "warning: 2 threads is 3.35× faster on 2.0 busy threads: a super-linear speed-up, so the versions may not run the same machine code (each cell compiles its functions anew, with different inlining)");
        let bundle = comparison_on(&[("serial", &serial), ("2 threads", &parallel)], 2);
        assert_eq!(bundle.get("text/plain").unwrap().lines().last(), Some(w.as_str()));
        assert!(bundle.get("text/html").unwrap().contains("super-linear"));
    }

    #[test]
    fn linear_and_waiting_speedups_are_not_flagged() {
        let serial = with_cpu(0.04, 0.04);
        // Same work on 2 threads, a little overhead: 1.9×.
        assert_eq!(superlinear(&[("serial", &serial), ("pool", &with_cpu(0.021, 0.042))], 2), None);
        // Eight 100 ms waits on 8 threads: 7.9× with almost no CPU.
        let waits = with_cpu(0.8, 0.001);
        assert_eq!(superlinear(&[("serial", &waits), ("threads", &with_cpu(0.101, 0.001))], 2), None);
        // Without CPU times, the cores are the limit.
        let (a, b) = (TimeitResult::new(1, vec![0.04], 0.0, 3), TimeitResult::new(1, vec![0.019], 0.0, 3));
        assert_eq!(superlinear(&[("a", &a), ("b", &b)], 4), None);
        assert!(superlinear(&[("a", &a), ("b", &b)], 2).unwrap().starts_with("warning: b is 2.11× faster on 2.0 busy threads"));
    }

    #[test]
    fn serial_versions_are_not_flagged() {
        // Notebook 01: index loops 914 μs, the Gram matrix 145 μs, both on one thread.
        let slow = with_cpu(914e-6, 914e-6);
        assert_eq!(superlinear(&[("index loops", &slow), ("Gram matrix", &with_cpu(145e-6, 145e-6))], 2), None);
        // A loaded machine: the faster row got 0.9 of a core.
        assert_eq!(superlinear(&[("clone", &slow), ("borrow", &with_cpu(500e-6, 450e-6))], 2), None);
    }

    #[test]
    fn allocations_column_when_results_have_counts() {
        let a = TimeitResult { allocs_per_loop: Some(2.0), bytes_per_loop: Some(160.0), ..TimeitResult::new(10, vec![0.04], 0.0, 3) };
        let b = TimeitResult { allocs_per_loop: Some(0.0), bytes_per_loop: Some(0.0), ..TimeitResult::new(10, vec![0.01], 0.0, 3) };
        // On 8 cores a 4× speed-up is no warning: this test is about the column.
        let bundle = comparison_on(&[("boxed", &a), ("inline", &b)], 8);
        insta::assert_snapshot!(bundle.get("text/plain").unwrap(), @r"
                mean  std. dev.  speed-up  allocs/loop
        boxed   4 ms       0 ns     1.00×    2 (160 B)
        inline  1 ms       0 ns     4.00×      0 (0 B)
        speed-up = mean of boxed / mean of the row
        ");
        assert!(bundle.get("text/html").unwrap().contains("<th>allocs/loop</th>"));
        assert!(bundle.get("text/html").unwrap().contains("<td>2 (160 B)</td></tr>"));
    }

    #[test]
    fn degenerate_inputs() {
        assert_eq!(comparison(&[]).get("text/plain"), Some("(nothing to compare)"));
        let zero = TimeitResult::new(1, vec![0.0], 0.0, 3);
        let bundle = comparison(&[("a", &zero), ("b", &zero)]);
        assert!(bundle.get("text/plain").unwrap().contains('–'));
        assert!(!bundle.get("text/html").unwrap().contains("<img"));
    }
}
