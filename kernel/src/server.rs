//! Sockets and dispatch: the protocol half of the kernel.
//!
//! Five sockets from the connection file, one task each; shell and control
//! requests are dispatched by `msg_type` to a handler, wrapped in busy/idle
//! on iopub. Evaluation happens on one dedicated thread (the engine) that
//! owns the [`Interpreter`]; the shell task waits for it, the control task
//! does not, so `interrupt_request` is served while a cell runs. A frame
//! that fails to decode or verify is logged and dropped; no error ends a
//! loop.

use crate::history::History;
use crate::interpreter::{Interpreter, Interrupter, Outcome, Output};
use crate::protocol::{self, Session};
use crate::wire::{decode, encode, Message};
use bytes::Bytes;
use serde_json::{json, Map, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use zeromq::{Socket, SocketRecv, SocketSend, ZmqMessage};

pub(crate) fn log(what: impl std::fmt::Display) {
    eprintln!("[parlab-kernel] {what}");
}

pub(crate) enum IopubItem {
    Msg(Message),
    Flush(oneshot::Sender<()>),
}

pub(crate) struct StdinReq {
    parent: Message,
    prompt: String,
    password: bool,
    reply: std::sync::mpsc::Sender<Option<String>>,
}

enum Job {
    Execute { code: String, count: u32, silent: bool, out: Arc<IopubOutput>, done: oneshot::Sender<Outcome> },
    Complete { code: String, cursor: usize, done: oneshot::Sender<Value> },
    Inspect { code: String, cursor: usize, done: oneshot::Sender<Value> },
    Shutdown { done: oneshot::Sender<()> },
}

/// Output of one request, forwarded to iopub with the request as parent.
struct IopubOutput {
    session: Session,
    parent: Message,
    iopub: mpsc::UnboundedSender<IopubItem>,
    stdin: mpsc::UnboundedSender<StdinReq>,
    allow_stdin: bool,
    /// `page` payloads for the execute reply.
    pages: Mutex<Vec<Map<String, Value>>>,
}

impl IopubOutput {
    fn publish(&self, msg_type: &str, content: Value) {
        let _ = self.iopub.send(IopubItem::Msg(self.session.iopub(Some(&self.parent), msg_type, content)));
    }
}

impl Output for IopubOutput {
    fn stream(&self, name: &str, text: &str) {
        self.publish("stream", json!({"name": name, "text": text}));
    }

    fn display(&self, data: Map<String, Value>, metadata: Map<String, Value>, id: Option<&str>, update: bool) {
        let mut content = json!({"data": data, "metadata": metadata});
        if let Some(id) = id {
            content["transient"] = json!({"display_id": id});
        }
        let kind = if update && id.is_some() { "update_display_data" } else { "display_data" };
        self.publish(kind, content);
    }

    fn clear(&self, wait: bool) {
        self.publish("clear_output", json!({"wait": wait}));
    }

    fn page(&self, data: Map<String, Value>) {
        self.pages.lock().unwrap().push(data);
    }

    fn input(&self, prompt: &str, password: bool) -> Option<String> {
        if !self.allow_stdin {
            return None;
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let req = StdinReq { parent: self.parent.clone(), prompt: prompt.into(), password, reply: tx };
        self.stdin.send(req).ok()?;
        rx.recv().ok().flatten()
    }
}

/// What serving a request produced, for the socket loop to act on.
pub(crate) struct Handled {
    pub(crate) reply: Option<Message>,
    /// `Some(stop_on_error)` when this was an execution that failed.
    pub(crate) failed: Option<bool>,
    pub(crate) shutdown: bool,
}

/// Shared by the shell and control tasks.
pub(crate) struct Kernel {
    session: Session,
    iopub: mpsc::UnboundedSender<IopubItem>,
    stdin: mpsc::UnboundedSender<StdinReq>,
    engine: std::sync::mpsc::Sender<Job>,
    interrupter: Arc<dyn Interrupter>,
    history: Mutex<History>,
    count: Mutex<u32>,
}

/// Runs the kernel until a `shutdown_request`. `make` builds the
/// interpreter on the engine thread (it may take seconds; `kernel_info`
/// is answered meanwhile).
pub(crate) async fn serve<I, F>(info: crate::connection::ConnectionInfo, make: F, interrupter: Arc<dyn Interrupter>) -> anyhow::Result<()>
where
    I: Interpreter + 'static,
    F: FnOnce() -> anyhow::Result<I> + Send + 'static,
{
    let session = Session::new(&info.key);
    let mut shell = zeromq::RouterSocket::new();
    shell.bind(&info.endpoint(info.shell_port)).await?;
    let mut control = zeromq::RouterSocket::new();
    control.bind(&info.endpoint(info.control_port)).await?;
    let mut stdin = zeromq::RouterSocket::new();
    stdin.bind(&info.endpoint(info.stdin_port)).await?;
    let mut iopub = zeromq::PubSocket::new();
    iopub.bind(&info.endpoint(info.iopub_port)).await?;
    let mut hb = zeromq::RepSocket::new();
    hb.bind(&info.endpoint(info.hb_port)).await?;

    let (kernel, iopub_rx, stdin_rx) = Kernel::start(session.clone(), make, interrupter)?;
    tokio::spawn(iopub_loop(iopub, iopub_rx, session.clone()));
    tokio::spawn(stdin_loop(stdin, stdin_rx, session.clone()));
    tokio::spawn(async move {
        loop {
            match hb.recv().await {
                Ok(m) => {
                    if let Err(e) = hb.send(m).await {
                        log(format!("heartbeat send: {e}"));
                    }
                }
                Err(e) => log(format!("heartbeat recv: {e}")),
            }
        }
    });
    let k = kernel.clone();
    tokio::spawn(async move { k.shell_loop(shell).await });
    kernel.control_loop(control).await
}

fn engine_loop<I: Interpreter, F: FnOnce() -> anyhow::Result<I>>(make: F, jobs: std::sync::mpsc::Receiver<Job>) {
    let mut interp = match make() {
        Ok(i) => Some(i),
        Err(e) => {
            log(format!("could not start the evaluation context: {e:#}"));
            None
        }
    };
    for job in jobs {
        match (job, interp.as_mut()) {
            (Job::Execute { code, count, silent, out, done }, Some(i)) => {
                let _ = done.send(i.execute(&code, count, silent, out));
            }
            (Job::Execute { done, .. }, None) => {
                let _ = done.send(Outcome::Error {
                    ename: "KernelError".into(),
                    evalue: "the Rust evaluation context failed to start; see the kernel log".into(),
                    traceback: vec![],
                });
            }
            (Job::Complete { code, cursor, done }, i) => {
                let c = i.map(|i| i.complete(&code, cursor)).unwrap_or_default();
                let cursor_end = if c.matches.is_empty() { cursor } else { c.cursor_end };
                let cursor_start = if c.matches.is_empty() { cursor } else { c.cursor_start };
                let _ = done.send(json!({"status": "ok", "matches": c.matches, "cursor_start": cursor_start, "cursor_end": cursor_end, "metadata": {}}));
            }
            (Job::Inspect { code, cursor, done }, i) => {
                let data = i.and_then(|i| i.inspect(&code, cursor));
                let _ = done.send(json!({"status": "ok", "found": data.is_some(), "data": data.unwrap_or_default(), "metadata": {}}));
            }
            (Job::Shutdown { done }, i) => {
                if let Some(i) = i {
                    i.shutdown();
                }
                let _ = done.send(());
                return;
            }
        }
    }
}

async fn iopub_loop(mut socket: zeromq::PubSocket, mut rx: mpsc::UnboundedReceiver<IopubItem>, session: Session) {
    while let Some(item) = rx.recv().await {
        match item {
            IopubItem::Msg(msg) => {
                if let Err(e) = send(&mut socket, &msg, &session).await {
                    log(format!("iopub send: {e}"));
                }
            }
            IopubItem::Flush(done) => {
                let _ = done.send(());
            }
        }
    }
}

async fn stdin_loop(mut socket: zeromq::RouterSocket, mut rx: mpsc::UnboundedReceiver<StdinReq>, session: Session) {
    while let Some(req) = rx.recv().await {
        let msg = session.reply(&req.parent, "input_request", json!({"prompt": req.prompt, "password": req.password}));
        if let Err(e) = send(&mut socket, &msg, &session).await {
            log(format!("stdin send: {e}"));
            let _ = req.reply.send(None);
            continue;
        }
        let answer = loop {
            match socket.recv().await {
                Ok(frames) => match decode(frames.into_vec(), &session.signer) {
                    Ok(m) if m.msg_type() == "input_reply" => break m.content["value"].as_str().map(str::to_owned),
                    Ok(m) => log(format!("unexpected {} on stdin", m.msg_type())),
                    Err(e) => log(format!("stdin: dropped a message: {e}")),
                },
                Err(e) => {
                    log(format!("stdin recv: {e}"));
                    break None;
                }
            }
        };
        let _ = req.reply.send(answer);
    }
}

async fn send<S: SocketSend>(socket: &mut S, msg: &Message, session: &Session) -> anyhow::Result<()> {
    let frames = encode(msg, &session.signer);
    let zmq = ZmqMessage::try_from(frames).map_err(|e| anyhow::anyhow!("{e}"))?;
    socket.send(zmq).await?;
    Ok(())
}

async fn recv<S: SocketRecv>(socket: &mut S, session: &Session, channel: &str) -> Option<Message> {
    match socket.recv().await {
        Ok(frames) => {
            let frames: Vec<Bytes> = frames.into_vec();
            match decode(frames, &session.signer) {
                Ok(m) => Some(m),
                Err(e) => {
                    log(format!("{channel}: dropped a message: {e}"));
                    None
                }
            }
        }
        Err(e) => {
            log(format!("{channel}: receive error: {e}"));
            tokio::time::sleep(Duration::from_millis(10)).await;
            None
        }
    }
}

impl Kernel {
    /// The kernel without its sockets: requests go in through `handle`,
    /// iopub and stdin traffic comes out of the returned receivers.
    pub(crate) fn start<I, F>(
        session: Session,
        make: F,
        interrupter: Arc<dyn Interrupter>,
    ) -> anyhow::Result<(Arc<Kernel>, mpsc::UnboundedReceiver<IopubItem>, mpsc::UnboundedReceiver<StdinReq>)>
    where
        I: Interpreter + 'static,
        F: FnOnce() -> anyhow::Result<I> + Send + 'static,
    {
        let (iopub_tx, iopub_rx) = mpsc::unbounded_channel();
        let (stdin_tx, stdin_rx) = mpsc::unbounded_channel();
        let (engine_tx, engine_rx) = std::sync::mpsc::channel();
        std::thread::Builder::new().name("engine".into()).spawn(move || engine_loop(make, engine_rx))?;
        let kernel = Arc::new(Kernel {
            session,
            iopub: iopub_tx,
            stdin: stdin_tx,
            engine: engine_tx,
            interrupter,
            history: Mutex::new(History::default()),
            count: Mutex::new(0),
        });
        Ok((kernel, iopub_rx, stdin_rx))
    }

    fn status(&self, parent: &Message, state: &str) {
        let msg = self.session.iopub(Some(parent), "status", json!({"execution_state": state}));
        let _ = self.iopub.send(IopubItem::Msg(msg));
    }

    async fn flush_iopub(&self) {
        let (tx, rx) = oneshot::channel();
        if self.iopub.send(IopubItem::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    async fn shell_loop(self: Arc<Self>, mut socket: zeromq::RouterSocket) {
        let mut next: Option<Message> = None;
        loop {
            let msg = match next.take() {
                Some(msg) => msg,
                None => match recv(&mut socket, &self.session, "shell").await {
                    Some(msg) => msg,
                    None => continue,
                },
            };
            let handled = self.handle(msg, "shell").await;
            self.finish(&mut socket, &handled, "shell").await;
            if handled.failed == Some(true) {
                next = self.abort_queued(&mut socket, chrono::Utc::now()).await;
            }
        }
    }

    async fn control_loop(self: Arc<Self>, mut socket: zeromq::RouterSocket) -> anyhow::Result<()> {
        loop {
            let Some(msg) = recv(&mut socket, &self.session, "control").await else { continue };
            let handled = self.handle(msg, "control").await;
            self.finish(&mut socket, &handled, "control").await;
        }
    }

    /// Sends the reply; on shutdown, ends evaluation and the process.
    async fn finish(&self, socket: &mut zeromq::RouterSocket, handled: &Handled, channel: &str) {
        if let Some(reply) = &handled.reply {
            if let Err(e) = send(socket, reply, &self.session).await {
                log(format!("{channel} send: {e}"));
            }
        }
        if handled.shutdown {
            self.interrupter.terminate();
            let (tx, rx) = oneshot::channel();
            if self.engine.send(Job::Shutdown { done: tx }).is_ok() {
                let _ = tokio::time::timeout(Duration::from_secs(5), rx).await;
            }
            self.flush_iopub().await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            std::process::exit(0);
        }
    }

    /// After a failed cell, answers the execute requests that were queued
    /// before the failure as aborted (what `stop_on_error` asks for);
    /// anything sent after it, and other requests, are served. "Queued"
    /// is read from the request's header date, so a client that waits for
    /// the error reply and then sends its next cell is not aborted.
    /// Returns the first request sent after the failure, to be served as
    /// usual (its own failure starts a new round).
    async fn abort_queued(&self, socket: &mut zeromq::RouterSocket, failed_at: chrono::DateTime<chrono::Utc>) -> Option<Message> {
        loop {
            let next = tokio::time::timeout(Duration::from_millis(100), socket.recv()).await;
            let Ok(Ok(frames)) = next else { return None };
            let Ok(msg) = decode(frames.into_vec(), &self.session.signer) else { continue };
            let sent = msg.header["date"]
                .as_str()
                .and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
                .map(|d| d.with_timezone(&chrono::Utc));
            let queued = sent.is_none_or(|d| d <= failed_at);
            if !queued {
                return Some(msg);
            }
            let handled = if msg.msg_type() == "execute_request" {
                self.abort(&msg)
            } else {
                self.handle(msg, "shell").await
            };
            self.finish(socket, &handled, "shell").await;
        }
    }

    pub(crate) fn abort(&self, msg: &Message) -> Handled {
        self.status(msg, "busy");
        let count = *self.count.lock().unwrap();
        let reply = self.session.reply(msg, "execute_reply", protocol::aborted_reply(count));
        self.status(msg, "idle");
        Handled { reply: Some(reply), failed: None, shutdown: false }
    }

    /// Serves one request: busy, outputs, idle on iopub; the reply is
    /// returned for the caller to send on the request's socket.
    pub(crate) async fn handle(&self, msg: Message, channel: &str) -> Handled {
        self.status(&msg, "busy");
        let mut failed = None;
        let mut shutdown = false;
        let reply: Option<(&str, Value)> = match msg.msg_type() {
            "kernel_info_request" => Some(("kernel_info_reply", protocol::kernel_info())),
            "is_complete_request" => Some(("is_complete_reply", protocol::is_complete(msg.content["code"].as_str().unwrap_or("")))),
            "history_request" => Some(("history_reply", protocol::history(&self.history.lock().unwrap(), &msg.content))),
            "comm_info_request" => Some(("comm_info_reply", json!({"status": "ok", "comms": {}}))),
            "comm_open" => {
                // No comm targets are registered: close it at once, as the
                // spec asks for unknown targets.
                let close = json!({"comm_id": msg.content["comm_id"].clone(), "data": {}});
                let _ = self.iopub.send(IopubItem::Msg(self.session.iopub(Some(&msg), "comm_close", close)));
                None
            }
            "comm_msg" | "comm_close" => None,
            "interrupt_request" => {
                self.interrupter.interrupt();
                Some(("interrupt_reply", json!({"status": "ok"})))
            }
            "shutdown_request" => {
                shutdown = true;
                let restart = msg.content["restart"].as_bool().unwrap_or(false);
                Some(("shutdown_reply", json!({"status": "ok", "restart": restart})))
            }
            "complete_request" => {
                let (tx, rx) = oneshot::channel();
                let code = msg.content["code"].as_str().unwrap_or("").to_owned();
                let cursor = msg.content["cursor_pos"].as_u64().unwrap_or(code.chars().count() as u64) as usize;
                let _ = self.engine.send(Job::Complete { code, cursor, done: tx });
                Some(("complete_reply", rx.await.unwrap_or_else(|_| json!({"status": "ok", "matches": [], "cursor_start": cursor, "cursor_end": cursor, "metadata": {}}))))
            }
            "inspect_request" => {
                let (tx, rx) = oneshot::channel();
                let code = msg.content["code"].as_str().unwrap_or("").to_owned();
                let cursor = msg.content["cursor_pos"].as_u64().unwrap_or(0) as usize;
                let _ = self.engine.send(Job::Inspect { code, cursor, done: tx });
                Some(("inspect_reply", rx.await.unwrap_or_else(|_| json!({"status": "ok", "found": false, "data": {}, "metadata": {}}))))
            }
            "execute_request" if channel == "shell" => {
                let (content, f) = self.execute(&msg).await;
                failed = f;
                Some(("execute_reply", content))
            }
            other => {
                log(format!("{channel}: ignoring unknown message type {other:?}"));
                None
            }
        };
        let reply = reply.map(|(kind, content)| self.session.reply(&msg, kind, content));
        self.status(&msg, "idle");
        Handled { reply, failed, shutdown }
    }

    async fn execute(&self, msg: &Message) -> (Value, Option<bool>) {
        let c = &msg.content;
        let code = c["code"].as_str().unwrap_or("").to_owned();
        let silent = c["silent"].as_bool().unwrap_or(false);
        let store = c["store_history"].as_bool().unwrap_or(true) && !silent;
        let stop_on_error = c["stop_on_error"].as_bool().unwrap_or(true);
        let count = {
            let mut n = self.count.lock().unwrap();
            if store {
                *n += 1;
            }
            *n
        };
        let publish = |kind: &str, content: Value| {
            let _ = self.iopub.send(IopubItem::Msg(self.session.iopub(Some(msg), kind, content)));
        };
        if !silent {
            publish("execute_input", json!({"code": code, "execution_count": count}));
        }
        if store {
            self.history.lock().unwrap().push(count, &code);
        }
        let out = Arc::new(IopubOutput {
            session: self.session.clone(),
            parent: msg.clone(),
            iopub: self.iopub.clone(),
            stdin: self.stdin.clone(),
            allow_stdin: c["allow_stdin"].as_bool().unwrap_or(false),
            pages: Mutex::new(Vec::new()),
        });
        let (tx, rx) = oneshot::channel();
        let _ = self.engine.send(Job::Execute { code, count, silent, out: out.clone(), done: tx });
        let outcome = rx.await.unwrap_or(Outcome::Error {
            ename: "KernelError".into(),
            evalue: "the evaluation thread stopped".into(),
            traceback: vec![],
        });
        match outcome {
            Outcome::Ok { result } => {
                if let (Some(data), false) = (result, silent) {
                    if let Some(text) = data.get("text/plain").and_then(Value::as_str) {
                        self.history.lock().unwrap().set_output(count, text.to_owned());
                    }
                    publish("execute_result", json!({"execution_count": count, "data": data, "metadata": {}}));
                }
                let mut reply = protocol::execute_reply(count, None);
                let pages = std::mem::take(&mut *out.pages.lock().unwrap());
                if !silent {
                    reply["payload"] = pages.into_iter().map(|data| json!({"source": "page", "data": data, "start": 0})).collect();
                }
                (reply, None)
            }
            Outcome::Error { ename, evalue, traceback } => {
                if !silent {
                    publish("error", json!({"ename": ename, "evalue": evalue, "traceback": traceback}));
                }
                (protocol::execute_reply(count, Some((&ename, &evalue, &traceback))), Some(stop_on_error))
            }
        }
    }
}
