//! How a [`Timeline`] looks: the summary line, a text Gantt chart (one row
//! per lane, `█` where the worker was in a task), and an SVG Gantt chart
//! (plotters, as the other charts) shown in HTML as an `<img>` with a
//! `data:` source, so untrusted notebooks show it too ([`svg_img`]).
//!
//! In the SVG each task is a bar on its worker's lane, coloured by chunk
//! (a batch of consecutive tasks one worker took at once: same colour,
//! separated by a thin white line), and idle time is the white between
//! bars. Past [`MAX_BARS`] tasks, the tasks of a chunk are drawn as one bar
//! so the image stays small.

use super::{Lane, Timeline};
use crate::display::{display, svg_img, MimeBundle};
use crate::timeit::format_time;
use plotters::prelude::*;
use std::collections::BTreeMap;

/// Above this many tasks, a chunk is drawn as one bar (an SVG rectangle is
/// ~150 bytes; 2,000 tasks make a ~600 KB image already).
const MAX_BARS: usize = 2_000;
/// Width of the text Gantt chart, in characters.
const TEXT_WIDTH: usize = 48;

/// Matplotlib's `tab10`, the palette the course's Python charts use.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

impl std::fmt::Display for Timeline {
    /// The summary, then one row per lane: its tasks, its busy time, and
    /// `█` for each slice of the span it spent mostly in tasks.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Some((start, end)) = self.span() else {
            return write!(f, "0 tasks: no Pool task ran while the timeline was recorded");
        };
        write!(f, "{}", self.summary())?;
        let width = self.lanes.iter().map(|l| l.name.chars().count()).max().unwrap_or(0);
        for lane in &self.lanes {
            let slice = (end - start) / TEXT_WIDTH as f64;
            let row: String = (0..TEXT_WIDTH)
                .map(|i| {
                    let (a, b) = (start + slice * i as f64, start + slice * (i + 1) as f64);
                    let inside: f64 = lane.tasks.iter().map(|t| (t.end.min(b) - t.start.max(a)).max(0.0)).sum();
                    if inside * 2.0 >= slice { '█' } else { ' ' }
                })
                .collect();
            write!(f, "\n{:<width$}  {:>4} {}  busy {:>9}  |{row}|", lane.name, lane.tasks.len(), if lane.tasks.len() == 1 { "task " } else { "tasks" }, format_time(lane.busy(), 3))?;
        }
        Ok(())
    }
}

impl Timeline {
    /// The Gantt chart as an SVG document.
    ///
    /// ```
    /// use parlab::timeline::{Lane, TaskSpan, Timeline};
    /// let t = Timeline::from_lanes(vec![Lane {
    ///     name: "worker 0".into(),
    ///     tasks: vec![TaskSpan { call: 0, task: 0, chunk: 0, start: 0.0, end: 0.002 }],
    /// }]);
    /// assert!(t.to_svg().starts_with("<svg") && t.to_svg().contains("worker 0"));
    /// ```
    pub fn to_svg(&self) -> String {
        crate::display::svg_or_error(|svg| self.draw(svg))
    }

    fn draw(&self, svg: &mut String) -> Result<(), Box<dyn std::error::Error + '_>> {
        let n = self.lanes.len().max(1);
        let height = 90 + 30 * n as u32;
        let root = SVGBackend::with_string(svg, (640, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let (start, end) = self.span().unwrap_or((0.0, 1e-3));
        let length = (end - start).max(1e-9);
        let (unit, scale) = [("s", 1.0), ("ms", 1e3), ("μs", 1e6), ("ns", 1e9)]
            .into_iter()
            .find(|(_, s)| length * s >= 1.0)
            .unwrap_or(("ns", 1e9));
        let x = |t: f64| (t - start) * scale;
        let merge = self.tasks() > MAX_BARS;
        let caption = if merge { format!("{} (one bar per chunk)", self.summary()) } else { self.summary() };
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 15))
            .margin(10)
            .x_label_area_size(34)
            .y_label_area_size(110)
            .build_cartesian_2d(0.0..length * scale * 1.02, (0..n).into_segmented())?;
        let names: Vec<&str> = self.lanes.iter().rev().map(|l| l.name.as_str()).collect();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc(format!("time since the first task ({unit})"))
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => names.get(*i).map(|s| (*s).to_owned()).unwrap_or_default(),
                _ => String::new(),
            })
            .draw()?;
        let colour = chunk_colours(self);
        for (i, lane) in self.lanes.iter().enumerate() {
            let y = n - 1 - i;
            for (key, a, b) in bars(lane, merge) {
                let corners = [(x(a), SegmentValue::Exact(y)), (x(b), SegmentValue::Exact(y + 1))];
                let mut bar = Rectangle::new(corners.clone(), colour[&key].filled());
                bar.set_margin(5, 5, 0, 0);
                let mut edge = Rectangle::new(corners, WHITE.stroke_width(1));
                edge.set_margin(5, 5, 0, 0);
                chart.draw_series([bar, edge])?;
            }
        }
        root.present()?;
        Ok(())
    }

    /// The summary and the chart, as HTML (the chart is an `<img>`).
    pub fn to_html(&self) -> String {
        let summary = if self.span().is_some() { self.summary() } else { self.to_string() };
        format!("<div><p><b>{summary}</b></p>{}</div>", svg_img(&self.to_svg(), "Gantt chart of the pool's tasks, one lane per worker"))
    }

    /// Text, HTML (summary and chart) and SVG, ready for [`display`].
    ///
    /// ```
    /// let pool = parlab::Pool::new(2);
    /// let (_, t) = parlab::Timeline::record(|| pool.map(|x: u8| x, 0..8));
    /// let b = t.to_mime_bundle();
    /// assert!(b.get("text/plain").unwrap().starts_with("8 tasks on 2 threads, busy "));
    /// assert!(b.get("text/html").unwrap().contains("<img src=\"data:image/svg+xml;base64,"));
    /// ```
    pub fn to_mime_bundle(&self) -> MimeBundle {
        let svg = self.to_svg();
        MimeBundle::text(self.to_string()).with_html(self.to_html()).with_svg(svg)
    }

    /// Displays the timeline now, mid-cell.
    pub fn show(&self) {
        display(self.to_mime_bundle());
    }

    /// Makes a `Timeline` at the end of a cell show its chart (evcxr calls
    /// this).
    pub fn evcxr_display(&self) {
        self.to_mime_bundle().evcxr_display();
    }
}

/// A colour per chunk, `(call, chunk)`, in order: neighbouring chunks
/// differ.
fn chunk_colours(t: &Timeline) -> BTreeMap<(usize, usize), RGBColor> {
    let mut keys: Vec<(usize, usize)> = t.lanes.iter().flat_map(|l| l.tasks.iter().map(|t| (t.call, t.chunk))).collect();
    keys.sort_unstable();
    keys.dedup();
    keys.into_iter().enumerate().map(|(i, k)| (k, PALETTE[i % PALETTE.len()])).collect()
}

/// The bars of a lane: one per task, or one per chunk run when `merge`.
fn bars(lane: &Lane, merge: bool) -> Vec<((usize, usize), f64, f64)> {
    let mut out: Vec<((usize, usize), f64, f64)> = Vec::new();
    for t in &lane.tasks {
        let key = (t.call, t.chunk);
        match out.last_mut() {
            Some((k, _, end)) if merge && *k == key => *end = end.max(t.end),
            _ => out.push((key, t.start, t.end)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::TaskSpan;
    use super::*;

    fn lane(name: &str, spans: &[(usize, usize, f64, f64)]) -> Lane {
        let tasks = spans.iter().map(|&(task, chunk, start, end)| TaskSpan { call: 0, task, chunk, start, end }).collect();
        Lane { name: name.into(), tasks }
    }

    #[test]
    fn text_shows_the_summary_and_idle_gaps() {
        let t = Timeline::from_lanes(vec![
            lane("worker 0", &[(0, 0, 0.0, 0.5), (1, 0, 0.5, 1.0)]),
            lane("worker 1", &[(2, 2, 0.0, 0.5)]),
        ]);
        let text = t.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "3 tasks on 2 threads, busy 75 %, imbalance 1.33");
        assert_eq!(lines[1], format!("worker 0     2 tasks  busy       1 s  |{}|", "█".repeat(48)));
        assert_eq!(lines[2], format!("worker 1     1 task   busy    500 ms  |{}{}|", "█".repeat(24), " ".repeat(24)));
    }

    #[test]
    fn one_bar_per_task_coloured_by_chunk() {
        let t = Timeline::from_lanes(vec![
            lane("worker 0", &[(0, 0, 0.0, 0.1), (1, 0, 0.1, 0.2), (4, 4, 0.3, 0.4)]),
            lane("worker 1", &[(2, 2, 0.0, 0.1), (3, 2, 0.1, 0.2)]),
        ]);
        let svg = t.to_svg();
        let fill = |c: RGBColor| format!("fill=\"#{:02X}{:02X}{:02X}\"", c.0, c.1, c.2);
        let count = |c: RGBColor| svg.matches(&fill(c)).count();
        // Chunks (0,0), (0,2), (0,4) get the first three colours.
        assert_eq!((count(PALETTE[0]), count(PALETTE[1]), count(PALETTE[2])), (2, 2, 1), "{svg}");
        assert!(svg.contains("worker 0") && svg.contains("worker 1"));
        assert!(svg.contains("5 tasks on 2 threads"));
    }

    #[test]
    fn many_tasks_draw_one_bar_per_chunk() {
        let spans: Vec<(usize, usize, f64, f64)> = (0..3000).map(|i| (i, i / 1000 * 1000, i as f64, i as f64 + 1.0)).collect();
        let t = Timeline::from_lanes(vec![lane("worker 0", &spans)]);
        let svg = t.to_svg();
        let bars: usize = PALETTE.iter().map(|c| svg.matches(&format!("fill=\"#{:02X}{:02X}{:02X}\"", c.0, c.1, c.2)).count()).sum();
        assert_eq!(bars, 3);
        assert!(svg.contains("one bar per chunk"));
    }

    #[test]
    fn empty_timeline_says_so() {
        let t = Timeline::default();
        assert_eq!(t.to_string(), "0 tasks: no Pool task ran while the timeline was recorded");
        assert!(t.to_html().contains("no Pool task ran"));
        assert_eq!(t.imbalance(), 1.0);
        assert_eq!(t.busy(), 0.0);
    }
}
