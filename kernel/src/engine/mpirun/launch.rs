//! Running the program with mpirun and relaying what each rank writes.
//!
//! mpirun runs with `--tag-output`; two threads read its stdout and
//! stderr, split the tagged stream back into each rank's lines
//! ([`super::tags`]) and send them on as they arrive, as `[rank] line` on
//! the same stream. Runtime markers from a rank (`display`, `panic`) are
//! not shown as text: displays become `display_data`, panics are kept for
//! the cell's error. mpirun's own lines (launch errors, its summary of a
//! failed job) are kept too, and shown only if the job fails.

use super::super::marker::{self, Line};
use super::relay_markers::{handle_marker, RankPanic};
use super::tags::{Demux, Piece, Stream};
use super::{Job, Stage};
use crate::interpreter::Output;
use parlab_magics::mpirun::MpirunOptions;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How a job ended.
pub(crate) struct JobEnd {
    pub(crate) status: std::io::Result<ExitStatus>,
    /// Panics reported by ranks, in arrival order.
    pub(crate) panics: Vec<RankPanic>,
    /// Lines mpirun printed itself.
    pub(crate) mpirun_lines: Vec<String>,
}

#[derive(Default)]
struct Collected {
    panics: Vec<RankPanic>,
    mpirun_lines: Vec<String>,
}

/// Runs `binary` on `options.ranks` ranks; returns once mpirun has exited.
pub(crate) fn launch(mpirun: &Path, options: &MpirunOptions, binary: &Path, job: &Job) -> std::io::Result<JobEnd> {
    let mut cmd = Command::new(mpirun);
    cmd.arg("--tag-output").args(options.mpirun_args()).arg(binary);
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        // Open MPI refuses to start as root unless told twice; containers
        // and CI machines often run everything as root.
        cmd.env("OMPI_ALLOW_RUN_AS_ROOT", "1").env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
    }
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = job.spawn(&mut cmd, Stage::Run)?;
    let collected = Arc::new(Mutex::new(Collected::default()));
    let (done_tx, done_rx) = mpsc::channel();
    for (pipe, name) in [
        (Box::new(child.stdout.take().expect("piped")) as Box<dyn Read + Send>, "stdout"),
        (Box::new(child.stderr.take().expect("piped")) as Box<dyn Read + Send>, "stderr"),
    ] {
        let out = job.out.clone();
        let collected = collected.clone();
        let done = done_tx.clone();
        std::thread::Builder::new()
            .name(format!("mpirun-{name}"))
            .spawn(move || {
                relay(pipe, &out, &collected);
                let _ = done.send(());
            })
            .expect("spawn mpirun relay");
    }
    let status = child.wait();
    job.finished();
    // The pipes close when mpirun and its ranks are gone; a rank that
    // somehow survived must not hold the cell open.
    for _ in 0..2 {
        if done_rx.recv_timeout(Duration::from_secs(5)).is_err() {
            crate::server::log("mpirun's output did not end with it; a rank may still be running".to_owned());
            break;
        }
    }
    let c = std::mem::take(&mut *collected.lock().unwrap_or_else(|e| e.into_inner()));
    Ok(JobEnd { status, panics: c.panics, mpirun_lines: c.mpirun_lines })
}

/// Reads one of mpirun's pipes to the end, sending each rank's lines on.
fn relay(pipe: Box<dyn Read + Send>, out: &Arc<dyn Output>, collected: &Mutex<Collected>) {
    let mut reader = BufReader::new(pipe);
    let mut demux = Demux::default();
    let mut batch = Batch::default();
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.strip_suffix('\n').unwrap_or(&text);
        for piece in demux.line(text.strip_suffix('\r').unwrap_or(text)) {
            batch.piece(piece, out, collected);
        }
        // Send what we have whenever mpirun has nothing more for now, so
        // output appears as produced without one message per line.
        if reader.buffer().is_empty() {
            batch.flush(out);
        }
    }
    for piece in demux.finish() {
        batch.piece(piece, out, collected);
    }
    batch.flush(out);
}

/// Rank lines waiting to be sent, per stream, in order.
#[derive(Default)]
struct Batch {
    stdout: String,
    stderr: String,
}

impl Batch {
    fn piece(&mut self, piece: Piece, out: &Arc<dyn Output>, collected: &Mutex<Collected>) {
        match piece {
            Piece::Rank { rank, stream, text } => {
                match marker::parse(&text) {
                    Line::Text(_) => {}
                    Line::Marker(marker) => {
                        // Text before a display must be shown before it.
                        self.flush(out);
                        if let Some(panic) = handle_marker(rank, marker, out) {
                            collected.lock().unwrap_or_else(|e| e.into_inner()).panics.push(panic);
                        }
                        return;
                    }
                    Line::Unreadable { .. } => return,
                }
                let buf = match stream {
                    Stream::Stdout => &mut self.stdout,
                    Stream::Stderr => &mut self.stderr,
                };
                buf.push_str(&format!("[{rank}] {text}\n"));
            }
            Piece::Mpirun(text) => collected.lock().unwrap_or_else(|e| e.into_inner()).mpirun_lines.push(text),
        }
    }

    fn flush(&mut self, out: &Arc<dyn Output>) {
        for (name, buf) in [("stdout", &mut self.stdout), ("stderr", &mut self.stderr)] {
            if !buf.is_empty() {
                out.stream(name, buf);
                buf.clear();
            }
        }
    }
}
