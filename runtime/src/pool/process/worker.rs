//! One forked worker process and the wire between it and the parent.
//!
//! Each worker gets its own Unix socket pair. Messages are frames: a
//! little-endian `u64` length, then the bytes. The parent sends a task as
//! the bincode encoding of its argument; the worker answers with a tag byte
//! (`OK`, `PANIC`, `CODEC`) followed by the encoded result or a message.
//! The parent sends a worker its next task only after its answer, so both
//! sides never block writing to each other and a message of any size goes
//! through.
//!
//! Fork-safety: only the forking thread exists in the child. Any lock
//! another parent thread held at that moment stays locked forever there,
//! so the child does only the work: decode, call `f`, encode, write, with
//! raw syscalls for I/O; glibc's `malloc` is fork-safe. It silences the
//! panic hook's output (the hook may print through locks, and in the
//! notebook would announce a cell panic) and ends
//! with `_exit`, never running destructors or flushing buffers it shares
//! with the parent. It also closes every other descriptor, so no worker
//! holds another's socket open and a crash is seen as end-of-file at once.

use super::super::task::message;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

/// Set only in worker processes: their panics are reported over the
/// socket, so the hook must stay silent there.
static IN_WORKER: AtomicBool = AtomicBool::new(false);

/// Wraps the current panic hook, once, in one that does nothing in a
/// worker. Done in the parent because `set_hook` in the child would take
/// the hook's write lock, which hangs forever if some parent thread was
/// running the hook at the moment of the fork; a panicking worker only
/// takes the read lock, which a forked copy never blocks.
fn install_quiet_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_WORKER.load(Ordering::Relaxed) {
                previous(info);
            }
        }));
    });
}

pub(super) const OK: u8 = 0;
pub(super) const PANIC: u8 = 1;
pub(super) const CODEC: u8 = 2;

pub(super) fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

pub(super) struct Worker {
    pub(super) pid: libc::pid_t,
    pub(super) stream: UnixStream,
    /// The task in flight, if any.
    pub(super) task: Option<usize>,
}

impl Worker {
    /// Forks a worker that serves `f` until its socket closes.
    pub(super) fn spawn<A, R>(f: fn(A) -> R) -> io::Result<Worker>
    where
        A: DeserializeOwned,
        R: Serialize,
    {
        install_quiet_hook();
        let (parent, child) = UnixStream::pair()?;
        // SAFETY: the child only runs `serve`, which is fork-safe (module
        // docs), and never returns.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(io::Error::last_os_error());
        }
        if pid == 0 {
            // SAFETY: in the child, see above.
            unsafe { serve(child.as_raw_fd(), f) }
        }
        drop(child);
        Ok(Worker { pid, stream: parent, task: None })
    }

    pub(super) fn send(&self, bytes: &[u8]) -> io::Result<()> {
        let fd = self.stream.as_raw_fd();
        write_all(fd, &(bytes.len() as u64).to_le_bytes())?;
        write_all(fd, bytes)
    }

    /// Reads one answer: `(tag, bytes)`; an error or end-of-file means the
    /// worker is gone.
    pub(super) fn recv(&mut self) -> io::Result<(u8, Vec<u8>)> {
        let mut frame = read_frame(&mut self.stream)?;
        if frame.is_empty() {
            return Err(io::ErrorKind::InvalidData.into());
        }
        let tag = frame.remove(0);
        Ok((tag, frame))
    }

    /// Reaps the worker, killing it first unless it already exited.
    pub(super) fn reap(&self, kill: bool) -> ExitStatus {
        use std::os::unix::process::ExitStatusExt;
        let mut status = 0;
        // SAFETY: signalling and reaping our own child.
        unsafe {
            if kill {
                libc::kill(self.pid, libc::SIGKILL);
            }
            while libc::waitpid(self.pid, &mut status, 0) < 0
                && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted
            {}
        }
        ExitStatus::from_raw(status)
    }

    /// The worker's exit status if it has died, without waiting.
    pub(super) fn try_reap(&self) -> Option<ExitStatus> {
        use std::os::unix::process::ExitStatusExt;
        let mut status = 0;
        // SAFETY: reaping our own child without blocking.
        let r = unsafe { libc::waitpid(self.pid, &mut status, libc::WNOHANG) };
        (r == self.pid).then(|| ExitStatus::from_raw(status))
    }
}

fn read_frame(stream: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 8];
    stream.read_exact(&mut len)?;
    let len = usize::try_from(u64::from_le_bytes(len)).map_err(|_| io::ErrorKind::InvalidData)?;
    let mut bytes = vec![0u8; len];
    stream.read_exact(&mut bytes)?;
    Ok(bytes)
}

/// Writes with `MSG_NOSIGNAL`: a dead peer is an error, not a `SIGPIPE`.
fn write_all(fd: RawFd, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        // SAFETY: sending from a slice we own.
        let n = unsafe { libc::send(fd, bytes.as_ptr().cast(), bytes.len(), libc::MSG_NOSIGNAL) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        bytes = &bytes[n as usize..];
    }
    Ok(())
}

/// The worker's whole life. Never returns.
unsafe fn serve<A, R>(fd: RawFd, f: fn(A) -> R) -> !
where
    A: DeserializeOwned,
    R: Serialize,
{
    // Keep only stdio and our socket (moved to 3).
    let fd = if fd == 3 { fd } else { libc::dup2(fd, 3) };
    if fd != 3 || libc::syscall(libc::SYS_close_range, 4u32, u32::MAX, 0u32) != 0 {
        libc::_exit(3);
    }
    IN_WORKER.store(true, Ordering::Relaxed);
    // SAFETY: fd 3 is our socket and nobody else owns it in this process.
    let mut stream = <UnixStream as std::os::fd::FromRawFd>::from_raw_fd(fd);
    loop {
        let Ok(task) = read_frame(&mut stream) else { libc::_exit(0) };
        let (tag, bytes) = match bincode::serde::decode_from_slice::<A, _>(&task, config()) {
            Err(e) => (CODEC, format!("decoding the argument: {e}").into_bytes()),
            Ok((arg, _)) => {
                drop(task);
                match catch_unwind(AssertUnwindSafe(|| f(arg))) {
                    Err(payload) => (PANIC, message(&*payload).unwrap_or("Box<dyn Any>").as_bytes().to_vec()),
                    Ok(result) => match bincode::serde::encode_to_vec(&result, config()) {
                        Ok(bytes) => (OK, bytes),
                        Err(e) => (CODEC, format!("encoding the result: {e}").into_bytes()),
                    },
                }
            }
        };
        let sent = write_all(fd, &(bytes.len() as u64 + 1).to_le_bytes())
            .and_then(|()| write_all(fd, &[tag]))
            .and_then(|()| write_all(fd, &bytes));
        if sent.is_err() {
            libc::_exit(1);
        }
    }
}
