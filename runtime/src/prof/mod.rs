//! The sampling profiler behind `%prun` and `%%prun`: which function, the
//! notebook's or a library's, on any thread, takes the CPU time.
//!
//! [`prun`] starts the [sampler](crate::sample)'s stack mode (a timer on
//! each thread's CPU-time clock; the handler unwinds the interrupted
//! thread), runs the statement once, as IPython's `%prun` does, names the
//! frames ([`symbols`]) and shows a [`Profile`]: a text table in `%prun`'s
//! shape and a flame graph (inferno's SVG in an `<img>`).
//!
//! Every thread of the process is sampled, not only the caller: rayon's
//! global pool (started before the session, so that its workers exist),
//! `Pool` workers, and threads the statement starts (a watcher lists
//! `/proc/self/task` every 10 ms). A waiting thread burns no CPU and takes
//! no sample, so pools that sit idle cost nothing.

#[cfg(target_os = "linux")]
mod objects;
mod profile;
mod symbols;

pub use profile::{FunctionStat, Profile, SortKey, StackStat};

use crate::display::{display, svg_img, MimeBundle};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

/// A notebook function as the generated code describes it, so that its
/// frames are named `name (<cell N>:line)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrunFn {
    /// `hot_inner`, `Point::norm`, `geo::area`.
    pub name: &'static str,
    /// Execution count of the defining cell.
    pub cell: u32,
    /// Cell line of the signature.
    pub line: u32,
}

/// `%prun`'s options (built with `..PrunOptions::DEFAULT`, so the runtime
/// may add fields).
#[derive(Debug, Clone, Copy)]
pub struct PrunOptions {
    /// `-s`.
    pub sort: SortKey,
    /// `-l N`.
    pub limit: Option<usize>,
    /// `-T FILE`.
    pub text_file: Option<&'static str>,
    /// `-D FILE`: the collapsed stacks.
    pub dump_file: Option<&'static str>,
    /// `--rate HZ`: samples per second of each thread's CPU time.
    pub rate_hz: u32,
    /// `--threads`: one flame-graph root per worker thread.
    pub split_threads: bool,
    /// `-q`: show nothing (with `-r`).
    pub quiet: bool,
    /// The execution count of the statement's cell (`<cell N>`).
    pub cell: u32,
}

impl PrunOptions {
    /// The defaults: sorted by tottime, every row, 1,000 Hz.
    pub const DEFAULT: PrunOptions = PrunOptions {
        sort: SortKey::Tottime,
        limit: None,
        text_file: None,
        dump_file: None,
        rate_hz: DEFAULT_RATE_HZ,
        split_threads: false,
        quiet: false,
        cell: 0,
    };
}

impl Default for PrunOptions {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The default rate. Linux delivers CPU-time timer signals at its
/// scheduler tick (250 Hz on the VM), so this asks for the tick's rate on
/// kernels with `HZ=1000` and gets every tick elsewhere; the measured cost
/// is in BENCHMARKS.md (`prun_overhead_ratio`).
pub(crate) const DEFAULT_RATE_HZ: u32 = 1000;

/// Runs `stmt` once under the sampling profiler and shows the report
/// (unless `quiet`); returns the [`Profile`]. If `stmt` panics or is
/// interrupted, the partial report is shown and the panic resumes. Where
/// the sampler cannot run, one line says why and `stmt` runs unprofiled.
pub fn prun<R>(functions: &[PrunFn], opts: PrunOptions, stmt: impl FnOnce() -> R) -> Profile {
    let (profile, outcome) = record(functions, &opts, stmt);
    if let Some(profile) = &profile {
        show(profile, &opts);
    }
    if let Err(payload) = outcome {
        if crate::interrupt::is_interrupt(&*payload) {
            println!("\n*** KeyboardInterrupt exception caught in code being profiled.");
        }
        resume_unwind(payload);
    }
    profile.unwrap_or_default()
}

type Outcome = Result<(), Box<dyn std::any::Any + Send>>;

/// Runs `stmt` sampled; `None` when the sampler is unavailable (said in
/// one line, and `stmt` still ran).
fn record<R>(functions: &[PrunFn], opts: &PrunOptions, stmt: impl FnOnce() -> R) -> (Option<Profile>, Outcome) {
    #[cfg(target_os = "linux")]
    {
        use crate::sample::stacks;
        // rayon's global pool starts on first use: make its workers exist
        // before the session so that they are sampled from the start.
        let _ = rayon::current_num_threads();
        // One session at a time per process (the sampler's buffer and
        // timers are process-wide); a nested or concurrent `prun` runs
        // its statement unprofiled.
        static ONE: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one = match ONE.try_lock() {
            Ok(guard) => guard,
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {
                println!("%prun: another profile is running in this process; the statement runs unprofiled.");
                return (None, catch_unwind(AssertUnwindSafe(|| drop(stmt()))));
            }
        };
        let base = own_stack();
        let period = Duration::from_secs_f64(1.0 / f64::from(opts.rate_hz.max(1)));
        if let Err(e) = stacks::start(period) {
            println!("%prun: {e}; the statement runs unprofiled.");
            return (None, catch_unwind(AssertUnwindSafe(|| drop(stmt()))));
        }
        let watcher = Watcher::spawn();
        let t = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| drop(stmt())));
        let wall = t.elapsed();
        watcher.stop();
        let collected = stacks::stop();
        (Some(build(functions, opts, &base, collected, wall)), outcome)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = functions;
        println!("%prun: per-thread CPU-time timer signals are Linux-only; the statement runs unprofiled.");
        (None, catch_unwind(AssertUnwindSafe(|| drop(stmt()))))
    }
}

/// The return addresses from this function's caller outward: the part of
/// every sample of the calling thread that is not the statement's.
#[inline(never)]
fn own_stack() -> (i32, Vec<usize>) {
    let mut ips = Vec::new();
    backtrace::trace(|frame| {
        ips.push(frame.ip() as usize);
        true
    });
    // SAFETY: gettid has no preconditions.
    #[cfg(target_os = "linux")]
    let tid = unsafe { libc::gettid() };
    #[cfg(not(target_os = "linux"))]
    let tid = 0;
    (tid, ips)
}

#[cfg(target_os = "linux")]
fn build(functions: &[PrunFn], opts: &PrunOptions, base: &(i32, Vec<usize>), collected: crate::sample::stacks::Stacks, wall: Duration) -> Profile {
    let mut namer = symbols::Namer::new(functions, opts.cell);
    let names: std::collections::HashMap<i32, String> = collected.threads.iter().cloned().collect();
    let mut stacks = Vec::with_capacity(collected.samples.len());
    let mut threads = std::collections::HashSet::new();
    for s in &collected.samples {
        let mut frames = &s.frames[..];
        if s.tid == base.0 {
            // Cut what the caller's stack shares with the sample (evcxr's
            // frames under the cell), from the outer end.
            let common = frames.iter().rev().zip(base.1.iter().rev()).take_while(|(a, b)| a == b).count();
            frames = &frames[..frames.len() - common];
        }
        let mut named: Vec<String> = frames
            .iter()
            .enumerate()
            .rev()
            .map(|(i, &ip)| namer.name(ip, i == 0))
            .filter(|n| !symbols::is_plumbing(n))
            .collect();
        let root = if s.tid == base.0 {
            format!("<cell {}>", opts.cell)
        } else {
            let skip = named.iter().take_while(|n| symbols::is_thread_root(n)).count();
            // Keep the innermost frame even if it is all start-up code.
            named.drain(..skip.min(named.len().saturating_sub(1)));
            if opts.split_threads {
                format!("[thread {} {}]", names.get(&s.tid).map(String::as_str).unwrap_or("?"), s.tid)
            } else {
                "[worker threads]".to_owned()
            }
        };
        if named.first() != Some(&root) {
            named.insert(0, root);
        }
        if s.frames.len() == crate::sample::stacks::FRAMES {
            named.insert(1, "[deeper frames cut]".to_owned());
        }
        named.dedup();
        threads.insert(s.tid);
        stacks.push((named, s.weight_ns));
    }
    let mut profile = Profile::from_stacks(stacks, wall.as_secs_f64(), threads.len(), f64::from(opts.rate_hz));
    profile.dropped = collected.dropped;
    profile
}

/// Arms timers for threads started while the statement runs.
#[cfg(target_os = "linux")]
struct Watcher {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

#[cfg(target_os = "linux")]
impl Watcher {
    fn spawn() -> Watcher {
        use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("parlab-prun-watch".into())
            .spawn(move || {
                crate::sample::stacks::skip_this_thread();
                while !flag.load(Relaxed) {
                    std::thread::park_timeout(crate::sample::stacks::WATCH_EVERY);
                    crate::sample::stacks::scan();
                }
            })
            .ok();
        Watcher { stop, handle }
    }

    fn stop(mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            h.thread().unpark();
            let _ = h.join();
        }
    }
}

/// The table as text, the flame graph as an image (unless `-q`); `-T`
/// and `-D` files.
fn show(profile: &Profile, opts: &PrunOptions) {
    let text = profile.to_text(opts.sort, opts.limit);
    if !opts.quiet {
        display_report(profile, opts, &text);
    }
    if let Some(path) = opts.dump_file {
        match std::fs::write(path, profile.collapsed()) {
            Ok(()) => println!("\n*** Collapsed stacks written to file '{path}' (inferno, speedscope)."),
            Err(e) => eprintln!("cannot write {path:?}: {e}"),
        }
    }
    if let Some(path) = opts.text_file {
        match std::fs::write(path, &text) {
            Ok(()) => println!("\n*** Profile printout saved to text file '{path}'."),
            Err(e) => eprintln!("cannot write {path:?}: {e}"),
        }
    }
}

fn display_report(profile: &Profile, opts: &PrunOptions, text: &str) {
    let mut bundle = MimeBundle::text(text.to_owned());
    let title = format!("%prun: cell {}, {} samples on {} threads", opts.cell, profile.samples, profile.threads);
    match profile.flamegraph_svg(&title) {
        Ok(svg) => {
            let table = crate::display::escape_html(text);
            bundle = bundle.with_html(format!("<pre>{table}</pre>\n{}", svg_img(&svg, "flame graph")));
        }
        Err(e) => println!("%prun: no flame graph ({e})."),
    }
    display(bundle);
}
