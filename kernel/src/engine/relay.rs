//! Relays the evaluation process's stdout/stderr to the current cell.
//!
//! evcxr hands us the child's output line by line on two channels. Lines
//! starting with the runtime's marker (`\x01PARLAB {json}`) are not text:
//! they are display blocks (→ `display_data`/`update_display_data`, in
//! order with the text around them), panic reports, and the
//! `cell_panicked` notice. Consecutive text lines are batched into one
//! `stream` message so a chatty loop does not flood the frontend.

use crate::interpreter::Output;
use crossbeam_channel::{select, Receiver, Sender};
use serde_json::Map;
use std::sync::{Arc, Mutex};

use super::marker::{Line, Marker, PanicEvent};

/// What the current cell's output produced besides text.
#[derive(Default)]
pub(crate) struct CellEvents {
    pub(crate) panics: Vec<PanicEvent>,
    pub(crate) cell_panicked: bool,
    pub(crate) stderr_synced: bool,
}

#[derive(Default)]
struct Shared {
    out: Option<Arc<dyn Output>>,
    events: CellEvents,
}

/// Handle to the relay thread.
pub(crate) struct Relay {
    shared: Arc<Mutex<Shared>>,
    flush: Sender<Sender<()>>,
}

impl Relay {
    pub(crate) fn start(stdout: Receiver<String>, stderr: Receiver<String>) -> Relay {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let (flush_tx, flush_rx) = crossbeam_channel::unbounded::<Sender<()>>();
        let s = shared.clone();
        std::thread::Builder::new()
            .name("relay".into())
            .spawn(move || run(s, stdout, stderr, flush_rx))
            .expect("spawn relay");
        Relay { shared, flush: flush_tx }
    }

    /// Directs output to a new cell and forgets the last cell's events.
    pub(crate) fn begin(&self, out: Arc<dyn Output>) {
        let mut s = self.shared.lock().unwrap();
        s.out = Some(out);
        s.events = CellEvents::default();
    }

    /// Waits until every line evcxr has handed over is sent (and, when the
    /// runtime is set up, until its end-of-cell marker arrived on stderr),
    /// then returns the cell's events.
    pub(crate) fn finish(&self, wait_for_stderr: bool) -> CellEvents {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        loop {
            let (tx, rx) = crossbeam_channel::bounded(1);
            if self.flush.send(tx).is_ok() {
                let _ = rx.recv_timeout(std::time::Duration::from_secs(5));
            }
            let synced = self.shared.lock().unwrap().events.stderr_synced;
            if synced || !wait_for_stderr || std::time::Instant::now() > deadline {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        std::mem::take(&mut self.shared.lock().unwrap().events)
    }
}

fn run(shared: Arc<Mutex<Shared>>, stdout: Receiver<String>, stderr: Receiver<String>, flush: Receiver<Sender<()>>) {
    loop {
        select! {
            recv(stdout) -> line => match line {
                Ok(line) => handle_batch(&shared, "stdout", line, &stdout),
                Err(_) => return,
            },
            recv(stderr) -> line => if let Ok(line) = line {
                handle_batch(&shared, "stderr", line, &stderr);
            },
            recv(flush) -> ack => if let Ok(ack) = ack {
                while let Ok(line) = stdout.try_recv() {
                    handle_batch(&shared, "stdout", line, &stdout);
                }
                while let Ok(line) = stderr.try_recv() {
                    handle_batch(&shared, "stderr", line, &stderr);
                }
                let _ = ack.send(());
            },
        }
    }
}

/// Handles `first` and whatever else is already waiting on the channel.
fn handle_batch(shared: &Mutex<Shared>, name: &str, first: String, rx: &Receiver<String>) {
    let mut text = String::new();
    let mut line = Some(first);
    while let Some(l) = line.take() {
        match super::marker::parse(&l) {
            Line::Text(t) => {
                text.push_str(t);
                text.push('\n');
            }
            Line::Marker(m) => {
                flush_text(shared, name, &mut text);
                marker(shared, m);
            }
            Line::Unreadable { json, error } => {
                crate::server::log(format!("unreadable runtime marker ({error}): {json}"));
            }
        }
        if text.len() < 64 * 1024 {
            line = rx.try_recv().ok();
        }
    }
    flush_text(shared, name, &mut text);
}

fn flush_text(shared: &Mutex<Shared>, name: &str, text: &mut String) {
    if text.is_empty() {
        return;
    }
    let out = shared.lock().unwrap().out.clone();
    match out {
        Some(out) => out.stream(name, text),
        None => crate::server::log(format!("{name} (no cell): {text}")),
    }
    text.clear();
}

fn marker(shared: &Mutex<Shared>, parsed: Marker) {
    let mut s = shared.lock().unwrap();
    match parsed {
        Marker::Display { data, id, update } => {
            if let Some(out) = s.out.clone() {
                drop(s);
                out.display(data, Map::new(), id.as_deref(), update);
            }
        }
        Marker::Panic(p) => {
            // A panic off the main thread that the cell survives is shown
            // the way Rust shows it, one line on stderr.
            if !p.main && !p.interrupt {
                if let Some(out) = s.out.clone() {
                    out.stream("stderr", &format!("thread '{}' panicked: {}\n", p.thread, p.message));
                }
            }
            s.events.panics.push(p);
        }
        Marker::CellPanicked => s.events.cell_panicked = true,
        Marker::Value => {}
        Marker::StderrSync => s.events.stderr_synced = true,
        Marker::Clear { wait } => {
            if let Some(out) = s.out.clone() {
                drop(s);
                out.clear(wait);
            }
        }
    }
}
