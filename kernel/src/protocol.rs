//! Building messages: headers, replies, iopub broadcasts, and the
//! protocol's fixed replies (`kernel_info`, `is_complete`, `history`).
//!
//! Reply contents are built from `jupyter-protocol`'s typed structs where
//! they exist, so field names and enum spellings come from the field's own
//! definitions; every `Option` we leave `None` is checked not to become a
//! JSON `null` the clients' validators reject (see the tests).

use crate::history::{Entry, History};
use crate::is_complete::{check, Completeness};
use crate::wire::{Message, Signer};
use jupyter_protocol as jp;
use serde_json::{json, Value};

/// Protocol version we implement.
pub(crate) const PROTOCOL_VERSION: &str = "5.3";

/// The kernel's identity on the wire.
#[derive(Clone)]
pub(crate) struct Session {
    pub id: String,
    pub signer: Signer,
}

impl Session {
    pub(crate) fn new(key: &str) -> Self {
        Session { id: uuid::Uuid::new_v4().to_string(), signer: Signer::new(key) }
    }

    fn header(&self, msg_type: &str) -> Value {
        json!({
            "msg_id": uuid::Uuid::new_v4().to_string(),
            "session": self.id,
            "username": "parlab",
            "date": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "msg_type": msg_type,
            "version": PROTOCOL_VERSION,
        })
    }

    /// A reply on the socket the request came from.
    pub(crate) fn reply(&self, parent: &Message, msg_type: &str, content: Value) -> Message {
        Message {
            identities: parent.identities.clone(),
            header: self.header(msg_type),
            parent_header: parent.header.clone(),
            metadata: json!({}),
            content,
            buffers: vec![],
        }
    }

    /// An iopub broadcast; the topic frame is the message type.
    pub(crate) fn iopub(&self, parent: Option<&Message>, msg_type: &str, content: Value) -> Message {
        Message {
            identities: vec![bytes::Bytes::from(format!("kernel.{}.{msg_type}", self.id))],
            header: self.header(msg_type),
            parent_header: parent.map(|p| p.header.clone()).unwrap_or_else(|| json!({})),
            metadata: json!({}),
            content,
            buffers: vec![],
        }
    }
}

pub(crate) fn to_value(v: impl serde::Serialize) -> Value {
    serde_json::to_value(v).expect("protocol structs serialize")
}

/// `kernel_info_reply` content.
pub(crate) fn kernel_info() -> Value {
    to_value(jp::KernelInfoReply {
        status: jp::ReplyStatus::Ok,
        protocol_version: PROTOCOL_VERSION.into(),
        implementation: "parlab".into(),
        implementation_version: env!("CARGO_PKG_VERSION").into(),
        language_info: jp::LanguageInfo {
            name: "rust".into(),
            version: rustc_version(),
            mimetype: Some("text/rust".into()),
            file_extension: Some(".rs".into()),
            pygments_lexer: Some("rust".into()),
            codemirror_mode: Some(jp::CodeMirrorMode::Simple("rust".into())),
            nbconvert_exporter: Some("script".into()),
        },
        banner: format!(
            "parlab {} — Rust for performance work (evcxr {}). %lsmagic lists the magics; %timeit? or name? shows help.",
            env!("CARGO_PKG_VERSION"),
            "0.22"
        ),
        help_links: vec![
            jp::HelpLink { text: "Rust std docs".into(), url: "https://doc.rust-lang.org/std/".into() },
            jp::HelpLink { text: "rayon".into(), url: "https://docs.rs/rayon".into() },
        ],
        debugger: false,
        error: None,
    })
}

fn rustc_version() -> String {
    static V: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    V.get_or_init(|| {
        std::process::Command::new("rustc")
            .arg("--version")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.split_whitespace().nth(1).map(str::to_owned))
            .unwrap_or_default()
    })
    .clone()
}

/// `is_complete_reply` content.
pub(crate) fn is_complete(code: &str) -> Value {
    let reply = match check(code) {
        Completeness::Complete => jp::IsCompleteReply::new(jp::IsCompleteReplyStatus::Complete, String::new()),
        Completeness::Incomplete(indent) => jp::IsCompleteReply::new(jp::IsCompleteReplyStatus::Incomplete, indent),
        Completeness::Invalid => jp::IsCompleteReply::new(jp::IsCompleteReplyStatus::Invalid, String::new()),
    };
    let mut v = to_value(reply);
    if v["status"] != "incomplete" {
        v.as_object_mut().expect("object").remove("indent");
    }
    v
}

/// `history_reply` content for a request's content.
pub(crate) fn history(history: &History, content: &Value) -> Value {
    let output = content["output"].as_bool().unwrap_or(false);
    let int = |k: &str, d: i64| content[k].as_i64().unwrap_or(d);
    let entries: Vec<&Entry> = match content["hist_access_type"].as_str().unwrap_or("tail") {
        "range" => history.range(int("start", 1), int("stop", 0)),
        "search" => history.search(
            content["pattern"].as_str().unwrap_or("*"),
            int("n", 0).max(0) as usize,
            content["unique"].as_bool().unwrap_or(false),
        ),
        _ => history.tail(int("n", 10).max(0) as usize),
    };
    // Session 0 means "this session" in IPython's numbering.
    let items: Vec<jp::HistoryEntry> = entries
        .into_iter()
        .map(|e| {
            if output {
                jp::HistoryEntry::InputOutput(0, e.line as usize, (e.input.clone(), e.output.clone().unwrap_or_default()))
            } else {
                jp::HistoryEntry::Input(0, e.line as usize, e.input.clone())
            }
        })
        .collect();
    to_value(jp::HistoryReply::new(items))
}

/// `execute_reply` content.
pub(crate) fn execute_reply(count: u32, error: Option<(&str, &str, &[String])>) -> Value {
    let mut reply = jp::ExecuteReply {
        status: jp::ReplyStatus::Ok,
        execution_count: jp::ExecutionCount::new(count as usize),
        payload: vec![],
        user_expressions: Some(Default::default()),
        error: None,
    };
    if let Some((ename, evalue, traceback)) = error {
        reply.status = jp::ReplyStatus::Error;
        reply.error = Some(Box::new(jp::ReplyError {
            ename: ename.into(),
            evalue: evalue.into(),
            traceback: traceback.to_vec(),
        }));
    }
    to_value(reply)
}

/// `execute_reply` for a request skipped after an earlier error.
pub(crate) fn aborted_reply(count: u32) -> Value {
    json!({"status": "aborted", "execution_count": count, "user_expressions": {}, "payload": []})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has_null(v: &Value) -> bool {
        match v {
            Value::Null => true,
            Value::Array(a) => a.iter().any(has_null),
            Value::Object(o) => o.values().any(has_null),
            _ => false,
        }
    }

    #[test]
    fn replies_have_no_nulls() {
        assert!(!has_null(&kernel_info()));
        assert!(!has_null(&execute_reply(3, None)));
        assert!(!has_null(&execute_reply(3, Some(("panic", "boom", &["a".into()])))));
        assert!(!has_null(&is_complete("fn f() {")));
        assert!(!has_null(&history(&History::default(), &json!({"hist_access_type": "tail", "n": 3}))));
    }

    #[test]
    fn kernel_info_language() {
        let k = kernel_info();
        assert_eq!(k["language_info"]["name"], "rust");
        assert_eq!(k["language_info"]["file_extension"], ".rs");
        assert_eq!(k["status"], "ok");
    }

    #[test]
    fn execute_reply_error_fields_are_flat() {
        let r = execute_reply(2, Some(("panic", "boom", &["tb".into()])));
        assert_eq!(r["status"], "error");
        assert_eq!(r["ename"], "panic");
        assert_eq!(r["execution_count"], 2);
        assert_eq!(r["user_expressions"], json!({}));
    }

    #[test]
    fn is_complete_states() {
        assert_eq!(is_complete("fn f() {")["status"], "incomplete");
        assert_eq!(is_complete("fn f() {")["indent"], "    ");
        assert_eq!(is_complete("1 + 1")["status"], "complete");
        assert_eq!(is_complete("fn f() { ) }")["status"], "invalid");
    }

    #[test]
    fn history_shapes() {
        let mut h = History::default();
        h.push(1, "a");
        h.set_output(1, "1".into());
        let r = history(&h, &json!({"hist_access_type": "range", "start": 1, "stop": 2, "output": true}));
        assert_eq!(r["history"], json!([[0, 1, ["a", "1"]]]));
        let r = history(&h, &json!({"hist_access_type": "search", "pattern": "a*", "output": false}));
        assert_eq!(r["history"], json!([[0, 1, "a"]]));
    }
}
