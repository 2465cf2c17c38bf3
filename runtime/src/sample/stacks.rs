//! Call-stack samples of every thread of the process (`%prun`), on the
//! same `SIGPROF` handler as the counter stacks.
//!
//! Each thread gets a timer on *its own CPU-time clock* (Linux lets a
//! process create a timer on any of its threads' clocks), delivered to that
//! thread (`SIGEV_THREAD_ID`). A thread that waits burns no CPU, so its
//! timer never fires: idle pool workers cost nothing, unlike the monotonic
//! timers of `%lprun`, which would wake each of them thousands of times a
//! second. The price: Linux checks CPU-time timers at its scheduler tick,
//! so a thread is sampled at most at the tick rate (~250 Hz measured on
//! the VM); each sample therefore carries the CPU time its thread used
//! since its previous sample, and times are sums of those weights, not
//! counts × period.
//!
//! The handler unwinds the interrupted thread with
//! `backtrace::trace_unsynchronized` (libgcc's DWARF unwinder, through the
//! signal frame; as pprof-rs does) into a slot of one pre-allocated buffer,
//! claimed with one `fetch_add`: no allocation, no lock of ours. libgcc's
//! unwinder may take the dynamic loader's lock to find a library's unwind
//! tables, so a sample that lands while *another* thread holds it (inside
//! `dlopen`) waits for it; the statement's own code does not load
//! libraries while it runs. Symbols are resolved after the session, in
//! ordinary code.
//!
//! Threads started during a session are picked up by a watcher thread that
//! lists `/proc/self/task` every [`WATCH_EVERY`]; a thread that lives less
//! than that is missed.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering::{Acquire, Relaxed, Release, SeqCst}};
use std::sync::Mutex;
use std::time::Duration;

/// Tells the handler that `si_value` points at a [`Target`].
pub(crate) const STACK_MAGIC: u64 = 0x7061_726c_6162_5354; // "parlabST"

/// Frames kept per sample, from the innermost; deeper stacks lose their
/// outermost frames (the report marks them).
pub(crate) const FRAMES: usize = 64;

/// Samples one session can hold: 16,384 × 0.5 KiB = 8.6 MB, allocated on
/// the first session. At 250 Hz on two busy threads that is 33 s of
/// statement; later samples are counted as dropped.
const CAPACITY: usize = 16_384;

/// How often the watcher looks for new threads.
pub(crate) const WATCH_EVERY: Duration = Duration::from_millis(10);

/// One sampled thread: what its timer's signal carries. Leaked, and
/// reused by a later session on the same thread id.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct Target {
    magic: u64,
    tid: i32,
    clock: libc::clockid_t,
    armed: AtomicBool,
    /// The thread's CPU time at its previous sample (written by the
    /// handler on that thread only, and by `arm` before the timer runs).
    last_cpu_ns: AtomicU64,
    timer: AtomicUsize,
    has_timer: AtomicBool,
}

#[repr(C)]
struct Slot {
    /// The session that wrote the slot; a reader takes only its own.
    session: AtomicU32,
    tid: AtomicI32,
    depth: AtomicU32,
    weight_ns: AtomicU64,
    frames: [AtomicUsize; FRAMES],
}

struct Buffer {
    slots: Box<[Slot]>,
    next: AtomicUsize,
    dropped: AtomicU64,
}

static BUFFER: AtomicPtr<Buffer> = AtomicPtr::new(std::ptr::null_mut());
static TARGETS: Mutex<Vec<&'static Target>> = Mutex::new(Vec::new());
static SESSION: AtomicU32 = AtomicU32::new(0);
static ON: AtomicBool = AtomicBool::new(false);
static PERIOD_NS: AtomicU64 = AtomicU64::new(4_000_000);
/// Thread ids never to sample (the watcher).
static SKIP: AtomicI32 = AtomicI32::new(0);

/// One sample: the thread, the CPU time it stands for, and the return
/// addresses from the innermost frame out (the first is the interrupted
/// instruction itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sample {
    pub(crate) tid: i32,
    pub(crate) weight_ns: u64,
    pub(crate) frames: Vec<usize>,
}

/// What a session collected.
#[derive(Debug, Clone, Default)]
pub(crate) struct Stacks {
    pub(crate) samples: Vec<Sample>,
    /// Samples lost because the buffer was full.
    pub(crate) dropped: u64,
    /// Every thread that had a timer, with its name (`/proc` `comm`).
    pub(crate) threads: Vec<(i32, String)>,
}

/// Why a session cannot sample.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Unavailable {
    #[error("per-thread CPU-time timer signals are not available here ({0})")]
    Timers(String),
    #[error("call stacks cannot be unwound here")]
    Unwinding,
}

/// The CPU-time clock of thread `tid` of this process (glibc's
/// `MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED)`).
fn thread_clock(tid: i32) -> libc::clockid_t {
    ((!tid) << 3) | 6
}

fn now_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid out-pointer; an invalid clock only returns EINVAL.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn gettid() -> i32 {
    // SAFETY: no preconditions.
    unsafe { libc::gettid() }
}

/// Starts sampling every thread of the process (and, through the watcher,
/// those it starts) every `period` of each thread's CPU time.
pub(crate) fn start(period: Duration) -> Result<(), Unavailable> {
    if !unwinds() {
        return Err(Unavailable::Unwinding);
    }
    super::signal::install();
    if BUFFER.load(Acquire).is_null() {
        let slots = (0..CAPACITY)
            .map(|_| Slot {
                session: AtomicU32::new(0),
                tid: AtomicI32::new(0),
                depth: AtomicU32::new(0),
                weight_ns: AtomicU64::new(0),
                frames: [const { AtomicUsize::new(0) }; FRAMES],
            })
            .collect();
        let buf = Box::leak(Box::new(Buffer { slots, next: AtomicUsize::new(0), dropped: AtomicU64::new(0) }));
        BUFFER.store(buf, Release);
    }
    // SAFETY: set above, never freed.
    let buf = unsafe { &*BUFFER.load(Acquire) };
    PERIOD_NS.store(period.as_nanos().clamp(100_000, 1_000_000_000) as u64, Relaxed);
    SESSION.fetch_add(1, SeqCst);
    buf.next.store(0, SeqCst);
    buf.dropped.store(0, SeqCst);
    ON.store(true, SeqCst);
    // The calling thread first: if its timer cannot be made, nothing can.
    let me = gettid();
    arm(me).map_err(|e| {
        ON.store(false, SeqCst);
        Unavailable::Timers(e)
    })?;
    scan();
    Ok(())
}

/// Arms a timer for every thread of the process that has none yet.
pub(crate) fn scan() {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else { return };
    let skip = SKIP.load(Relaxed);
    for tid in dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok()) {
        if tid != skip {
            let _ = arm(tid);
        }
    }
}

/// Marks the calling thread as one never to sample (the watcher).
pub(crate) fn skip_this_thread() {
    SKIP.store(gettid(), Relaxed);
}

fn arm(tid: i32) -> Result<(), String> {
    if !ON.load(Relaxed) {
        return Ok(());
    }
    let mut targets = TARGETS.lock().unwrap_or_else(|e| e.into_inner());
    let target = match targets.iter().find(|t| t.tid == tid) {
        Some(t) if t.armed.load(Relaxed) => return Ok(()),
        Some(t) => *t,
        None => {
            let t: &'static Target = Box::leak(Box::new(Target {
                magic: STACK_MAGIC,
                tid,
                clock: thread_clock(tid),
                armed: AtomicBool::new(false),
                last_cpu_ns: AtomicU64::new(0),
                timer: AtomicUsize::new(0),
                has_timer: AtomicBool::new(false),
            }));
            targets.push(t);
            t
        }
    };
    if !target.has_timer.load(Relaxed) {
        let value = target as *const Target as *mut libc::c_void;
        match super::signal::create_timer_on(target.clock, value, tid) {
            Some(timer) => {
                target.timer.store(timer as usize, Relaxed);
                target.has_timer.store(true, Relaxed);
            }
            None => return Err(std::io::Error::last_os_error().to_string()),
        }
    }
    target.last_cpu_ns.store(now_ns(target.clock), Relaxed);
    target.armed.store(true, Release);
    let period = PERIOD_NS.load(Relaxed);
    super::signal::set_timer(target.timer.load(Relaxed) as libc::timer_t, period, period);
    Ok(())
}

/// Ends the session: every timer is deleted, and the samples it took are
/// returned.
pub(crate) fn stop() -> Stacks {
    ON.store(false, SeqCst);
    let mut threads = Vec::new();
    for t in TARGETS.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        let was_armed = t.armed.swap(false, SeqCst);
        if t.has_timer.swap(false, SeqCst) {
            super::signal::delete_timer(t.timer.load(Relaxed) as libc::timer_t);
        }
        if was_armed {
            let name = std::fs::read_to_string(format!("/proc/self/task/{}/comm", t.tid)).unwrap_or_default();
            threads.push((t.tid, name.trim().to_owned()));
        }
    }
    let buf = BUFFER.load(Acquire);
    if buf.is_null() {
        return Stacks { threads, ..Stacks::default() };
    }
    // SAFETY: never freed.
    let buf = unsafe { &*buf };
    let session = SESSION.load(SeqCst);
    let n = buf.next.load(SeqCst).min(CAPACITY);
    let samples = buf.slots[..n]
        .iter()
        .filter(|s| s.session.load(Acquire) == session)
        .map(|s| {
            let depth = (s.depth.load(Relaxed) as usize).min(FRAMES);
            Sample {
                tid: s.tid.load(Relaxed),
                weight_ns: s.weight_ns.load(Relaxed),
                frames: s.frames[..depth].iter().map(|f| f.load(Relaxed)).collect(),
            }
        })
        .collect();
    Stacks { samples, dropped: buf.dropped.load(SeqCst), threads }
}

/// Whether this build can walk its own stack (no unwind tables: no).
fn unwinds() -> bool {
    let mut n = 0;
    // SAFETY: called in ordinary code, no other unwinder running here.
    unsafe {
        backtrace::trace_unsynchronized(|_| {
            n += 1;
            n < 3
        })
    };
    n >= 2
}

/// The interrupted instruction's address, from the signal's context.
///
/// # Safety
/// `ctx` is the third argument of an `SA_SIGINFO` handler.
unsafe fn interrupted_pc(ctx: *mut libc::c_void) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        if ctx.is_null() {
            return 0;
        }
        // SAFETY: the kernel passes a ucontext_t.
        unsafe { (*(ctx as *const libc::ucontext_t)).uc_mcontext.gregs[libc::REG_RIP as usize] as usize }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = ctx;
        0
    }
}

/// The handler's work for a [`Target`]'s signal, on the sampled thread.
///
/// # Safety
/// Called only from the `SIGPROF` handler with the signal's context.
pub(super) unsafe fn on_sample(target: &Target, ctx: *mut libc::c_void) {
    if !target.armed.load(Acquire) {
        return;
    }
    let buf = BUFFER.load(Acquire);
    if buf.is_null() {
        return;
    }
    // SAFETY: never freed.
    let buf = unsafe { &*buf };
    let cpu = now_ns(target.clock);
    let weight = cpu.saturating_sub(target.last_cpu_ns.swap(cpu, Relaxed));
    let i = buf.next.fetch_add(1, Relaxed);
    if i >= CAPACITY {
        buf.dropped.fetch_add(1, Relaxed);
        return;
    }
    // SAFETY: the caller's contract.
    let pc = unsafe { interrupted_pc(ctx) };
    // The walk starts in this handler; the samples start at the
    // interrupted instruction, which the unwinder reports for the frame
    // the signal interrupted.
    let mut tmp = [0usize; FRAMES + 16];
    let mut n = 0;
    // SAFETY: see the module doc (libgcc's unwinder from a handler).
    unsafe {
        backtrace::trace_unsynchronized(|frame| {
            tmp[n] = frame.ip() as usize;
            n += 1;
            n < tmp.len()
        })
    };
    let from = match tmp[..n].iter().position(|&ip| ip == pc) {
        Some(i) => i,
        None if pc == 0 => 0,
        None => {
            // The walk did not cross the signal frame: the leaf alone.
            tmp[0] = pc;
            n = 1;
            0
        }
    };
    let slot = &buf.slots[i];
    let frames = &tmp[from..n];
    let depth = frames.len().min(FRAMES);
    for (dst, &ip) in slot.frames.iter().zip(&frames[..depth]) {
        dst.store(ip, Relaxed);
    }
    slot.depth.store(depth as u32, Relaxed);
    slot.tid.store(target.tid, Relaxed);
    slot.weight_ns.store(weight, Relaxed);
    slot.session.store(SESSION.load(Relaxed), Release);
}
