//! Protocol tests against a mock interpreter: no compiler, no sockets.
//! Requests go through `Kernel::handle` exactly as the socket loops call
//! it; iopub traffic is read from the channel the iopub socket would send.

use crate::interpreter::{Completions, Interpreter, Interrupter, Outcome, Output};
use crate::protocol::Session;
use crate::server::{IopubItem, Kernel};
use crate::wire::Message;
use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Echoes code; `fail` fails, `print X` streams, `show` displays, `help`
/// pages.
struct Mock;

impl Interpreter for Mock {
    fn execute(&mut self, code: &str, _count: u32, _silent: bool, out: Arc<dyn Output>) -> Outcome {
        if code == "fail" {
            return Outcome::Error { ename: "panic".into(), evalue: "boom".into(), traceback: vec!["tb".into()] };
        }
        if let Some(text) = code.strip_prefix("print ") {
            out.stream("stdout", text);
            return Outcome::Ok { result: None };
        }
        if code == "show" {
            let mut m = Map::new();
            m.insert("text/html".into(), json!("<b>x</b>"));
            out.display(m.clone(), Map::new(), None, false);
            out.display(m, Map::new(), Some("d1"), true);
            return Outcome::Ok { result: None };
        }
        let mut m = Map::new();
        m.insert("text/plain".into(), json!(code));
        if code == "help" {
            out.page(m);
            return Outcome::Ok { result: None };
        }
        Outcome::Ok { result: Some(m) }
    }
    fn complete(&mut self, _code: &str, cursor: usize) -> Completions {
        Completions { matches: vec!["println!".into()], cursor_start: cursor.saturating_sub(2), cursor_end: cursor }
    }
    fn inspect(&mut self, _code: &str, _cursor: usize) -> Option<Map<String, Value>> {
        None
    }
}

#[derive(Default)]
struct CountingInterrupter(AtomicUsize);
impl Interrupter for CountingInterrupter {
    fn interrupt(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

struct Harness {
    kernel: Arc<Kernel>,
    iopub: tokio::sync::mpsc::UnboundedReceiver<IopubItem>,
    interrupts: Arc<CountingInterrupter>,
}

fn harness() -> Harness {
    let interrupts = Arc::new(CountingInterrupter::default());
    let (kernel, iopub, _stdin) = Kernel::start(Session::new("key"), || Ok(Mock), interrupts.clone()).unwrap();
    Harness { kernel, iopub, interrupts }
}

fn request(msg_type: &str, content: Value) -> Message {
    Message {
        identities: vec![bytes::Bytes::from_static(b"client")],
        header: json!({"msg_id": uuid::Uuid::new_v4().to_string(), "msg_type": msg_type, "session": "c", "username": "u", "date": "2026-01-01T00:00:00Z", "version": "5.3"}),
        parent_header: json!({}),
        metadata: json!({}),
        content,
        buffers: vec![],
    }
}

impl Harness {
    async fn call(&mut self, msg_type: &str, content: Value) -> (Value, Vec<(String, Value)>) {
        let msg = request(msg_type, content);
        let handled = self.kernel.handle(msg.clone(), "shell").await;
        let mut iopub = Vec::new();
        while let Ok(item) = self.iopub.try_recv() {
            if let IopubItem::Msg(m) = item {
                assert_eq!(m.parent_header["msg_id"], msg.header["msg_id"], "iopub parent");
                iopub.push((m.msg_type().to_owned(), m.content));
            }
        }
        let reply = handled.reply.map(|r| {
            assert_eq!(r.parent_header["msg_id"], msg.header["msg_id"]);
            assert_eq!(r.identities, msg.identities);
            r.content
        });
        (reply.unwrap_or(Value::Null), iopub)
    }
}

fn kinds(iopub: &[(String, Value)]) -> Vec<&str> {
    iopub
        .iter()
        .map(|(k, c)| if k == "status" { c["execution_state"].as_str().unwrap() } else { k.as_str() })
        .collect()
}

#[tokio::test]
async fn execute_publishes_in_order_and_counts_from_one() {
    let mut h = harness();
    let (reply, iopub) = h.call("execute_request", json!({"code": "1 + 1"})).await;
    assert_eq!(reply["status"], "ok");
    assert_eq!(reply["execution_count"], 1);
    assert_eq!(kinds(&iopub), ["busy", "execute_input", "execute_result", "idle"]);
    assert_eq!(iopub[2].1["data"]["text/plain"], "1 + 1");
    let (reply, _) = h.call("execute_request", json!({"code": "x", "silent": true})).await;
    assert_eq!(reply["execution_count"], 1, "silent requests do not advance the count");
    let (reply, _) = h.call("execute_request", json!({"code": "y"})).await;
    assert_eq!(reply["execution_count"], 2);
}

#[tokio::test]
async fn errors_streams_and_displays() {
    let mut h = harness();
    let (reply, iopub) = h.call("execute_request", json!({"code": "fail"})).await;
    assert_eq!(reply["status"], "error");
    assert_eq!(reply["ename"], "panic");
    assert_eq!(kinds(&iopub), ["busy", "execute_input", "error", "idle"]);
    let (_, iopub) = h.call("execute_request", json!({"code": "print hi\n"})).await;
    assert_eq!(iopub[2].1, json!({"name": "stdout", "text": "hi\n"}));
    let (_, iopub) = h.call("execute_request", json!({"code": "show"})).await;
    assert_eq!(kinds(&iopub), ["busy", "execute_input", "display_data", "update_display_data", "idle"]);
    assert_eq!(iopub[3].1["transient"]["display_id"], "d1");
}

/// `%timeit?` is answered as IPython answers `?`: a `page` payload of the
/// reply, nothing on iopub.
#[tokio::test]
async fn pages_ride_on_the_execute_reply() {
    let mut h = harness();
    let (reply, iopub) = h.call("execute_request", json!({"code": "help"})).await;
    assert_eq!(reply["payload"], json!([{"source": "page", "data": {"text/plain": "help"}, "start": 0}]));
    assert_eq!(kinds(&iopub), ["busy", "execute_input", "idle"]);
    let (reply, _) = h.call("execute_request", json!({"code": "1"})).await;
    assert_eq!(reply["payload"], json!([]));
}

#[tokio::test]
async fn every_reply() {
    let mut h = harness();
    let (r, _) = h.call("kernel_info_request", json!({})).await;
    assert_eq!(r["language_info"]["name"], "rust");
    let (r, _) = h.call("is_complete_request", json!({"code": "fn f() {"})).await;
    assert_eq!(r["status"], "incomplete");
    let (r, _) = h.call("complete_request", json!({"code": "pri", "cursor_pos": 3})).await;
    assert_eq!(r["matches"], json!(["println!"]));
    let (r, _) = h.call("inspect_request", json!({"code": "x", "cursor_pos": 1, "detail_level": 0})).await;
    assert_eq!((r["status"].clone(), r["found"].clone()), (json!("ok"), json!(false)));
    let (r, _) = h.call("comm_info_request", json!({})).await;
    assert_eq!(r["comms"], json!({}));
    h.call("execute_request", json!({"code": "a"})).await;
    let (r, _) = h.call("history_request", json!({"hist_access_type": "tail", "n": 5, "output": true, "raw": true})).await;
    assert_eq!(r["history"], json!([[0, 1, ["a", "a"]]]));
    let (r, _) = h.call("interrupt_request", json!({})).await;
    assert_eq!(r["status"], "ok");
    assert_eq!(h.interrupts.0.load(Ordering::SeqCst), 1);
    let (r, iopub) = h.call("comm_open", json!({"comm_id": "c1", "target_name": "nope", "data": {}})).await;
    assert_eq!(r, Value::Null);
    assert_eq!(kinds(&iopub), ["busy", "comm_close", "idle"]);
}

#[tokio::test]
async fn unknown_types_get_busy_idle_and_no_reply() {
    let mut h = harness();
    let (r, iopub) = h.call("frobnicate_request", json!({})).await;
    assert_eq!(r, Value::Null);
    assert_eq!(kinds(&iopub), ["busy", "idle"]);
}

#[tokio::test]
async fn failed_cell_marks_stop_on_error_and_abort_replies() {
    let h = harness();
    let handled = h.kernel.handle(request("execute_request", json!({"code": "fail"})), "shell").await;
    assert_eq!(handled.failed, Some(true));
    let handled = h.kernel.handle(request("execute_request", json!({"code": "fail", "stop_on_error": false})), "shell").await;
    assert_eq!(handled.failed, Some(false));
    let aborted = h.kernel.abort(&request("execute_request", json!({"code": "1"})));
    assert_eq!(aborted.reply.unwrap().content["status"], "aborted");
}
