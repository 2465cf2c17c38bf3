//! How a [`Scaling`] study looks: a text table, an HTML table and an SVG
//! chart (plotters, rendered to a string, so no files and no fonts). In the
//! HTML the chart is an `<img>` with a `data:` source ([`svg_img`]), so a
//! saved notebook shows it before it is re-run (JupyterLab's sanitizer
//! drops an inline `<svg>` in an untrusted notebook).
//!
//! The chart plots the measured speed-ups against the ideal line `S = p`
//! and the fitted Amdahl curve, which flattens towards `1/f`.

use super::scaling::Scaling;
use crate::display::{display, svg_img, MimeBundle};
use plotters::prelude::*;
use std::fmt::Write as _;

impl std::fmt::Display for Scaling {
    /// The table as text, with the serial fraction below it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{:>7}  {:>12}  {:>8}  {:>10}", "threads", "time", "speed-up", "efficiency")?;
        for p in &self.points {
            let time = format!("{:.3} ms", p.seconds * 1e3);
            writeln!(f, "{:>7}  {:>12}  {:>8.2}  {:>9.0} %", p.threads, time, p.speedup, p.efficiency * 100.0)?;
        }
        match self.serial_fraction {
            Some(s) => write!(f, "Amdahl fit: serial fraction {:.1} % (speed-up limit {})", s * 100.0, limit(s)),
            None => write!(f, "Amdahl fit: needs two thread counts"),
        }
    }
}

fn limit(serial_fraction: f64) -> String {
    if serial_fraction > 0.0 {
        format!("{:.1}x", 1.0 / serial_fraction)
    } else {
        "none".to_owned()
    }
}

impl Scaling {
    /// The table as HTML.
    ///
    /// ```
    /// let s = parlab::Scaling::from_times([(1, 2.0), (2, 1.0)]);
    /// assert!(s.to_html().contains("<td>2.00</td>"));
    /// ```
    pub fn to_html(&self) -> String {
        let mut html = String::from(
            "<table><thead><tr><th>threads</th><th>time (ms)</th><th>speed-up</th><th>efficiency</th></tr></thead><tbody>",
        );
        for p in &self.points {
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{:.3}</td><td>{:.2}</td><td>{:.0} %</td></tr>",
                p.threads,
                p.seconds * 1e3,
                p.speedup,
                p.efficiency * 100.0
            );
        }
        html.push_str("</tbody></table>");
        if let Some(s) = self.serial_fraction {
            let _ = write!(html, "<p>Amdahl fit: serial fraction <b>{:.1} %</b> (speed-up limit {})</p>", s * 100.0, limit(s));
        }
        html
    }

    /// The chart as an SVG document: measured speed-up, ideal line, Amdahl
    /// fit.
    ///
    /// ```
    /// let svg = parlab::Scaling::from_times([(1, 2.0), (2, 1.1)]).to_svg();
    /// assert!(svg.contains("Amdahl"));
    /// ```
    pub fn to_svg(&self) -> String {
        crate::display::svg_or_error(|svg| self.draw(svg))
    }

    fn draw(&self, svg: &mut String) -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(svg, (560, 380)).into_drawing_area();
        root.fill(&WHITE)?;
        let p0 = self.points.first().map_or(1.0, |p| p.threads as f64);
        let p_max = self.points.last().map_or(2.0, |p| p.threads as f64).max(p0 + 1.0);
        let s_max = self.points.iter().map(|p| p.speedup).fold(p_max / p0, f64::max);
        let mut chart = ChartBuilder::on(&root)
            .caption("Speed-up by thread count", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(44)
            .build_cartesian_2d(0.0..p_max * 1.05, 0.0..s_max * 1.1)?;
        chart.configure_mesh().x_desc("threads").y_desc("speed-up").draw()?;

        let ideal = BLACK.mix(0.35);
        chart
            .draw_series(LineSeries::new([(p0, 1.0), (p_max, p_max / p0)], ideal.stroke_width(1)))?
            .label("ideal")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], ideal));
        if let Some(f) = self.serial_fraction {
            let curve = (0..=100).map(|i| p0 + (p_max - p0) * f64::from(i) / 100.0);
            let amdahl = curve.map(|p| (p, 1.0 / (f + (1.0 - f) * p0 / p)));
            chart
                .draw_series(LineSeries::new(amdahl, RED.stroke_width(2)))?
                .label(format!("Amdahl fit, serial {:.1} %", f * 100.0))
                .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RED.stroke_width(2)));
        }
        let measured: Vec<(f64, f64)> = self.points.iter().map(|p| (p.threads as f64, p.speedup)).collect();
        chart
            .draw_series(LineSeries::new(measured.iter().copied(), BLUE.stroke_width(2)))?
            .label("measured")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE.stroke_width(2)));
        chart.draw_series(measured.iter().map(|&xy| Circle::new(xy, 4, BLUE.filled())))?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()?;
        root.present()?;
        Ok(())
    }

    /// Text, HTML (chart as an image, then the table) and SVG, ready for
    /// [`display`]. The `image/svg+xml` copy is for frontends that do not
    /// render HTML (JupyterLab prefers the HTML, trusted or not).
    ///
    /// ```
    /// let b = parlab::Scaling::from_times([(1, 2.0), (2, 1.0)]).to_mime_bundle();
    /// let html = b.get("text/html").unwrap();
    /// assert!(html.starts_with("<div><img src=\"data:image/svg+xml;base64,"));
    /// assert!(html.contains("<td>2.00</td>") && !html.contains("<svg"));
    /// assert!(b.get("image/svg+xml").unwrap().starts_with("<svg"));
    /// ```
    pub fn to_mime_bundle(&self) -> MimeBundle {
        let svg = self.to_svg();
        MimeBundle::text(self.to_string())
            .with_html(format!("<div>{}{}</div>", svg_img(&svg, "chart of the speed-up by thread count"), self.to_html()))
            .with_svg(svg)
    }

    /// Displays the study now, mid-cell.
    ///
    /// ```
    /// parlab::Scaling::from_times([(1, 2.0), (2, 1.0)]).show();
    /// ```
    pub fn show(&self) {
        display(self.to_mime_bundle());
    }

    /// Makes a bare `scaling(…)` at the end of a cell show the study
    /// (evcxr calls this; it prints evcxr's content markers).
    pub fn evcxr_display(&self) {
        self.to_mime_bundle().evcxr_display();
    }
}
