//! Set-up of the evaluation process, done once by the kernel.
//!
//! A crate of its own, depending on libc alone, because every cell links
//! it: evcxr builds each cell with cargo, and each dependency crate costs
//! every cell its fingerprint check and link (the full runtime's ~20
//! crates added ~60 ms to each cell, measured). The runtime proper,
//! `parlab`, is added to the session only when a cell needs it.
//!
//! Three things make a cell's failures clear and recoverable:
//! - `SIGINT` becomes a flag ([`crate::interrupt`]), so an interrupt can
//!   stop parlab's loops without killing the process and its variables.
//! - A panic hook replaces Rust's stderr message and backtrace with one
//!   marker line (message, location, thread) that the kernel turns into a
//!   Jupyter `error` in the user's own cell lines.
//! - stdout is relayed through a pipe, so the kernel learns that a cell
//!   ended in a panic even when no hook ran on the main thread (a rayon
//!   worker's panic is resumed there with `resume_unwind`, which skips the
//!   hook): evcxr's own `EVCXR_PANIC_NOTIFICATION` line is seen on the way
//!   and announced with a `cell_panicked` marker before it. evcxr's display
//!   blocks become display markers on the way too (see `stdout`).

pub mod interrupt;
mod json;
pub mod marker;
mod shared;
mod stdout;
#[cfg(feature = "value")]
pub mod value;

use std::io::Write;
use std::sync::Once;

pub use marker::{MARKER, VALUE_FOLLOWS};

/// Prepares the evaluation process. Idempotent; called by the kernel's
/// start-up cell, never by users.
pub fn init() {
    // Once per process, not per copy of this crate (each cell links its own
    // copy; see `interrupt`): the environment remembers it was done.
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os(READY_ENV).is_some() {
            return;
        }
        crate::interrupt::install();
        std::panic::set_hook(Box::new(panic_hook));
        relay_stdout();
        // SAFETY: the kernel's set-up cell runs before any user thread.
        unsafe { std::env::set_var(READY_ENV, "1") };
    });
    crate::interrupt::clear();
}

const READY_ENV: &str = "PARLAB_CHILD_READY";

fn panic_hook(info: &std::panic::PanicHookInfo<'_>) {
    if let Some(before) = shared::take_before_panic() {
        before();
    }
    report_panic(info);
    drain_stdout_pipe();
}

/// Registers `f` to run once, before the report of the next panic in the
/// process (`None` withdraws it). `%%time` prints its times there: IPython
/// prints them before it re-raises, and a cell's top-level code has no
/// place that runs on unwinding.
pub fn before_next_panic(f: Option<fn()>) {
    shared::set_before_panic(f);
}

/// Writes `info` as one panic marker line on stdout (message, location,
/// thread, whether it is an interrupt) and flushes it. The evaluation
/// process's hook and the `%%mpirun` ranks' hook (in `parlab::mpi`) both
/// report panics this way; the kernel turns the marker into the cell's
/// error.
pub fn report_panic(info: &std::panic::PanicHookInfo<'_>) {
    let payload = info.payload();
    let interrupt = interrupt::is_interrupt(payload);
    let message = if interrupt {
        "KeyboardInterrupt".to_owned()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_owned()
    };
    let thread = std::thread::current();
    let location = info.location();
    // `main`: the process's main thread, where evcxr runs the cell. (Thread
    // names do not tell: the cell's copy of std never named that thread.)
    // SAFETY: plain syscalls without arguments.
    let main = unsafe { libc::gettid() == libc::getpid() };
    let (line_no, col) = location.map_or((None, None), |l| (Some(l.line()), Some(l.column())));
    let line = marker::panic(&marker::Panic {
        message: &message,
        file: location.map(|l| l.file()),
        line: line_no,
        col,
        thread: thread.name().unwrap_or("<unnamed>"),
        main,
        interrupt,
    });
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(line.as_bytes());
    let _ = out.flush();
}

/// Waits (up to 100 ms) until the relay thread has forwarded this
/// process's output so far: std's stdout flushed, the pipe empty, and the
/// relay asleep in `read` (its state in `/proc`, found by its name). The
/// allocation counters call it before they arm: the relay allocates as it
/// forwards, and a `%timeit -a` that made no allocation counted 5 of the
/// relay's while it forwarded the line before (the counters sum every
/// thread). When nothing is in flight it returns after two small `/proc`
/// reads, so `parlab::alloc::measure` in a loop does not wait.
pub fn settle_stdout() {
    let _ = std::io::stdout().flush();
    let relay = relay_tid();
    for _ in 0..200 {
        let mut pending: libc::c_int = 0;
        // SAFETY: FIONREAD writes one int; fd 1 is the relay's pipe.
        let empty = unsafe { libc::ioctl(1, libc::FIONREAD, &mut pending) } != 0 || pending == 0;
        if empty && !relay.is_some_and(running) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_micros(500));
    }
}

/// The relay thread's id, found by its name among this process's threads.
fn relay_tid() -> Option<i32> {
    static TID: std::sync::OnceLock<i32> = std::sync::OnceLock::new();
    if let Some(&tid) = TID.get() {
        return Some(tid);
    }
    let tid = std::fs::read_dir("/proc/self/task").ok()?.flatten().find_map(|t| {
        let comm = std::fs::read_to_string(t.path().join("comm")).ok()?;
        (comm.trim_end() == RELAY_NAME).then(|| t.file_name().to_str()?.parse().ok())?
    })?;
    Some(*TID.get_or_init(|| tid))
}

/// Whether thread `tid` is running or runnable (`R` in its `stat`), not
/// asleep.
fn running(tid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/self/task/{tid}/stat"))
        .ok()
        .and_then(|stat| stat.rsplit_once(')').and_then(|(_, rest)| rest.trim_start().chars().next()))
        .is_some_and(|state| state == 'R')
}

/// Waits (up to 100 ms) until the relay thread has read what is in the
/// stdout pipe. A panic that cannot unwind (one inside a `Drop` during
/// unwinding, a failed precondition check) aborts right after the hook,
/// and the marker with its message would die in the pipe; after an
/// ordinary panic the pipe is empty within microseconds.
fn drain_stdout_pipe() {
    for _ in 0..100 {
        let mut pending: libc::c_int = 0;
        // SAFETY: FIONREAD writes one int; fd 1 is the relay's pipe.
        if unsafe { libc::ioctl(1, libc::FIONREAD, &mut pending) } != 0 || pending == 0 {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// The relay thread's name ([`settle_stdout`] finds it by it).
const RELAY_NAME: &str = "parlab-stdout";

fn relay_stdout() {
    // SAFETY: plain POSIX fd juggling on fds this process owns; on any
    // failure we leave stdout as it was.
    unsafe {
        let real = libc::dup(1);
        if real < 0 {
            return;
        }
        let mut fds = [0 as libc::c_int; 2];
        if libc::pipe(fds.as_mut_ptr()) != 0 {
            libc::close(real);
            return;
        }
        let _ = std::io::stdout().flush();
        if libc::dup2(fds[1], 1) < 0 {
            libc::close(real);
            libc::close(fds[0]);
            libc::close(fds[1]);
            return;
        }
        libc::close(fds[1]);
        let read_fd = fds[0];
        std::thread::Builder::new()
            .name(RELAY_NAME.into())
            .spawn(move || forward(read_fd, real))
            .expect("spawn stdout relay");
    }
}

fn forward(read_fd: libc::c_int, real_fd: libc::c_int) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut forwarder = stdout::Forwarder::new();
    loop {
        // SAFETY: reading into a buffer we own.
        let n = unsafe { libc::read(read_fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        if n <= 0 {
            return;
        }
        forwarder.feed(&buf[..n as usize], &mut |sink, bytes| match sink {
            stdout::Sink::Stdout => write_all(real_fd, bytes),
            stdout::Sink::Stderr => write_all(2, bytes),
        });
    }
}

fn write_all(fd: libc::c_int, mut data: &[u8]) {
    while !data.is_empty() {
        // SAFETY: writing from a slice we own.
        let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
        if n < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        data = &data[n as usize..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_running_thread_reads_r_and_a_sleeping_one_does_not() {
        // SAFETY: no arguments.
        assert!(running(unsafe { libc::gettid() }));
        let (tx, rx) = std::sync::mpsc::channel();
        let sleeper = std::thread::spawn(move || {
            // SAFETY: no arguments.
            tx.send(unsafe { libc::gettid() }).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(300));
        });
        let tid = rx.recv().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!running(tid));
        sleeper.join().unwrap();
    }
}
