//! [`compare`]: several `%timeit -o` results side by side, as a table
//! (mean, std. dev., speed-up relative to the first) and a bar chart.
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

/// Displays a comparison of timing results; the first is the baseline.
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
    if entries.is_empty() {
        return MimeBundle::text("(nothing to compare)");
    }
    let base = entries[0].1.average();
    let rows: Vec<[String; 4]> = entries
        .iter()
        .map(|(name, r)| {
            let p = r.precision;
            [(*name).to_owned(), format_time(r.average(), p), format_time(r.stdev(), p), speedup(base, r.average())]
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
    if let Some(svg) = bar_chart(entries) {
        html.push_str(&format!("<div>{}</div>", svg_img(&svg, "bar chart of the mean time per loop")));
    }
    MimeBundle::text(text.join("\n")).with_html(html)
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

fn speedup(base: f64, mean: f64) -> String {
    if mean > 0.0 && base > 0.0 {
        format!("{:.2}×", base / mean)
    } else {
        "–".to_owned()
    }
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
        let bundle = comparison(&[("serial", &a), ("parallel <4>", &b)]);
        insta::assert_snapshot!(bundle.get("text/plain").unwrap(), @r"
                      mean  std. dev.  speed-up
        serial        4 ms       0 ns     1.00×
        parallel <4>  1 ms       0 ns     4.00×
        ");
        let html = bundle.get("text/html").unwrap();
        assert!(html.contains("parallel &lt;4&gt;"));
        assert!(html.contains("4.00×"));
        // The chart is an image below the table, not an inline `<svg>`.
        let (table, chart) = html.split_once("</table>").unwrap();
        assert!(!html.contains("<svg"));
        assert!(table.contains("parallel &lt;4&gt;"));
        assert!(chart.starts_with("<div><img src=\"data:image/svg+xml;base64,"), "{chart:.80}");
        assert!(chart.ends_with("\" alt=\"bar chart of the mean time per loop\"></div>"));
    }

    #[test]
    fn allocations_column_when_results_have_counts() {
        let a = TimeitResult { allocs_per_loop: Some(2.0), bytes_per_loop: Some(160.0), ..TimeitResult::new(10, vec![0.04], 0.0, 3) };
        let b = TimeitResult { allocs_per_loop: Some(0.0), bytes_per_loop: Some(0.0), ..TimeitResult::new(10, vec![0.01], 0.0, 3) };
        let bundle = comparison(&[("boxed", &a), ("inline", &b)]);
        insta::assert_snapshot!(bundle.get("text/plain").unwrap(), @r"
                mean  std. dev.  speed-up  allocs/loop
        boxed   4 ms       0 ns     1.00×    2 (160 B)
        inline  1 ms       0 ns     4.00×      0 (0 B)
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
