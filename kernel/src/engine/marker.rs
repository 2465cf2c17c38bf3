//! Reads the runtime's marker lines (`\x01PARLAB {json}`), for both relays:
//! the evaluation process's (`relay`) and the `%%mpirun` ranks' (`mpirun::launch`).
//!
//! The format is `parlab_child::marker`'s: the prefix and the tags come from
//! there, and the test below round-trips a line built by that module for
//! every tag it lists, so a new kind of marker cannot go unread.

use parlab_child::marker::MARKER;
use serde::Deserialize;
use serde_json::{Map, Value};

/// A panic as the runtime's hook reported it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub(crate) struct PanicEvent {
    pub(crate) message: String,
    pub(crate) file: Option<String>,
    pub(crate) line: Option<u32>,
    pub(crate) thread: String,
    #[serde(default)]
    pub(crate) main: bool,
    #[serde(default)]
    pub(crate) interrupt: bool,
}

/// One marker. The serde tags are `parlab_child::marker::tag`'s (checked by
/// `every_tag_round_trips`).
#[derive(Debug, Deserialize, PartialEq)]
#[serde(tag = "t", rename_all = "snake_case")]
pub(crate) enum Marker {
    /// A display block; JSON MIME types carry parsed JSON, not text.
    Display {
        data: Map<String, Value>,
        id: Option<String>,
        #[serde(default)]
        update: bool,
    },
    Clear {
        #[serde(default)]
        wait: bool,
    },
    Panic(PanicEvent),
    CellPanicked,
    StderrSync,
    /// `parlab_child::VALUE_FOLLOWS`, seen here only when the child's
    /// stdout relay is not installed (it consumes the line): nothing to do.
    Value,
}

/// What a line is: text, or a marker (or a marker that could not be read).
#[derive(Debug, PartialEq)]
pub(crate) enum Line<'a> {
    Text(&'a str),
    Marker(Marker),
    Unreadable { json: &'a str, error: String },
}

/// Classifies one output line (without its newline).
pub(crate) fn parse(line: &str) -> Line<'_> {
    let Some(json) = line.strip_prefix(MARKER) else { return Line::Text(line) };
    match serde_json::from_str::<Marker>(json) {
        Ok(mut m) => {
            if let Marker::Display { data, .. } = &mut m {
                parse_json_blocks(data);
            }
            Line::Marker(m)
        }
        Err(e) => Line::Unreadable { json, error: e.to_string() },
    }
}

/// A block of a JSON MIME type (`application/json`, vega…) arrives as the
/// text evcxr printed; Jupyter wants the JSON itself.
fn parse_json_blocks(data: &mut Map<String, Value>) {
    for (mime, value) in data.iter_mut() {
        if let (true, Value::String(text)) = (mime.contains("json"), &*value) {
            if let Ok(parsed) = serde_json::from_str(text) {
                *value = parsed;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parlab_child::marker::{self as m, tag};
    use serde_json::json;

    /// One line per kind, built by the child's builders, and what it must read as.
    fn golden() -> Vec<(&'static str, String, Marker)> {
        let panic = m::Panic {
            message: "boom \"x\"\n",
            file: Some("src/lib.rs"),
            line: Some(7),
            col: Some(3),
            thread: "<unnamed>",
            main: false,
            interrupt: true,
        };
        vec![
            (
                tag::DISPLAY,
                m::display([("text/plain", "a\tb"), ("application/json", "{\"k\":[1,2]}")], Some("parlab-1-0"), true),
                Marker::Display {
                    data: json!({"text/plain": "a\tb", "application/json": {"k": [1, 2]}}).as_object().unwrap().clone(),
                    id: Some("parlab-1-0".into()),
                    update: true,
                },
            ),
            (tag::CLEAR, m::clear(true), Marker::Clear { wait: true }),
            (
                tag::PANIC,
                m::panic(&panic),
                Marker::Panic(PanicEvent {
                    message: "boom \"x\"\n".into(),
                    file: Some("src/lib.rs".into()),
                    line: Some(7),
                    thread: "<unnamed>".into(),
                    main: false,
                    interrupt: true,
                }),
            ),
            (tag::CELL_PANICKED, m::cell_panicked(), Marker::CellPanicked),
            (tag::STDERR_SYNC, m::stderr_sync(), Marker::StderrSync),
            (tag::VALUE, m::value(), Marker::Value),
        ]
    }

    #[test]
    fn every_tag_round_trips() {
        let cases = golden();
        for tag in m::TAGS {
            assert!(cases.iter().any(|(t, _, _)| *t == tag), "no round-trip case for marker tag {tag:?}");
        }
        for (tag, line, want) in cases {
            assert!(line.ends_with('\n') && line.matches('\n').count() == 1, "{tag}: one line: {line:?}");
            assert!(line.contains(&format!("\"t\":\"{tag}\"")), "{tag}: {line:?}");
            assert_eq!(parse(line.trim_end_matches('\n')), Line::Marker(want), "{tag}");
        }
    }

    #[test]
    fn text_and_broken_markers() {
        assert_eq!(parse("hello"), Line::Text("hello"));
        assert_eq!(parse(" \u{1}PARLAB {}"), Line::Text(" \u{1}PARLAB {}"));
        assert!(matches!(parse("\u{1}PARLAB {\"t\":\"nope\"}"), Line::Unreadable { .. }));
        assert!(matches!(parse("\u{1}PARLAB {"), Line::Unreadable { .. }));
    }

    #[test]
    fn value_follows_is_the_value_marker() {
        assert_eq!(parse(parlab_child::VALUE_FOLLOWS), Line::Marker(Marker::Value));
    }
}
