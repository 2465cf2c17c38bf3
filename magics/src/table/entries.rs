//! The entries of the table: what a user reads in `%lsmagic` and
//! `%name?`. Written for Rust users: the statements are Rust, the values
//! are Rust values, and where parlab differs from IPython the text says so.

use super::{Completes, Handler, Magic, MagicOption};

const fn flag(flag: &'static str, help: &'static str) -> MagicOption {
    MagicOption { flag, value: None, help, completes: Completes::Nothing }
}

const fn valued(flag: &'static str, value: &'static str, help: &'static str) -> MagicOption {
    MagicOption { flag, value: Some(value), help, completes: Completes::Nothing }
}

const TIMEIT_OPTIONS: &[MagicOption] = &[
    valued("-n", "N", "Run the statement N times per repeat. Without it (or with 0) N is chosen as IPython does: \
        the first of 1, 10, 100, … whose repeat takes at least 0.2 s."),
    valued("-r", "R", "Number of repeats, each of N loops (default 7). The mean and standard deviation are over the R repeats."),
    flag("-t", "Time wall-clock time (`std::time::Instant`), the default."),
    flag("-c", "Time the process's CPU time (user + system, all threads) instead of wall time."),
    valued("-p", "P", "Significant digits of the printed times (default 3)."),
    flag("-q", "Quiet: print nothing (useful with -o)."),
    flag("-a", "Also print the heap allocations per loop (`allocations: 2 per loop (160 B)`), counted exactly by the \
        kernel's allocator on every thread. The `TimeitResult` has them either way (`allocs_per_loop`, `bytes_per_loop`)."),
    flag("-o", "Return the `TimeitResult` as the value of the magic: `let r = %timeit -o f();` binds it, and \
        `r.best`, `r.average`, `r.all_runs` are there."),
    valued("-v", "NAME", "Bind the `TimeitResult` to the notebook variable NAME (like -o, without `let`)."),
];

const LPRUN_OPTIONS: &[MagicOption] = &[
    MagicOption {
        flag: "-f",
        value: Some("NAME"),
        help: "Profile the notebook function NAME (`distance`, `Point::norm`, `geo::area`); repeat -f for several. \
            Every caller in the notebook reaches the profiled copy while the statement runs.",
        completes: Completes::Functions,
    },
    MagicOption {
        flag: "-m",
        value: Some("MODULE"),
        help: "Profile every function of a notebook module or every method of a type (`-m geo`, `-m Point`).",
        completes: Completes::Modules,
    },
    valued("-u", "UNIT", "Report times in UNIT seconds (`-u 1e-6` for microseconds); the default is 1e-9."),
    flag("-s", "Leave out functions that were never hit (line_profiler's old spelling of -z)."),
    flag("-z", "Leave out functions that were never hit."),
    flag("-r", "Return the `LineProfile` as the value of the magic (`let p = %lprun -r -f f f();`)."),
    valued("-T", "FILE", "Also write the text report to FILE."),
    valued("-D", "FILE", "Also save the profile to FILE (JSON); `LineProfile::load` reads it back."),
];

const PRUN_OPTIONS: &[MagicOption] = &[
    valued("-s", "KEY", "Sort the table by KEY: `tottime` (time in the function itself, the default; `time` too), \
        `cumtime` (with its callees; `cumulative` too) or `samples`."),
    valued("-l", "N", "Show only the first N rows of the table."),
    flag("-r", "Return the `Profile` as the value of the magic (`let p = %prun -r f();`): `p.share(\"f\")`, \
        `p.functions`, `p.collapsed()`."),
    flag("-q", "Quiet: show nothing (useful with -r, -T or -D)."),
    valued("-T", "FILE", "Also write the text table to FILE."),
    valued("-D", "FILE", "Also write the stacks to FILE in the collapsed format (`a;b;c 120`, µs of CPU time) \
        that inferno and speedscope read."),
    valued("--rate", "HZ", "Samples per second of each thread's CPU time (default 1000). Linux delivers them at most \
        at its scheduler tick (250 Hz here), so higher rates give no more samples."),
    flag("--threads", "In the flame graph, one root per worker thread instead of all workers merged."),
];

const MEMIT_OPTIONS: &[MagicOption] = &[
    valued("-r", "R", "Run the statement R times (default 1) and report the run with the largest peak."),
    flag("-o", "Return the `MemitResult` as the value of the magic (`let m = %memit -o f();`)."),
    flag("-q", "Quiet: print nothing (useful with -o)."),
];

const MPRUN_OPTIONS: &[MagicOption] = &[
    MagicOption {
        flag: "-f",
        value: Some("NAME"),
        help: "Profile the notebook function NAME, as with %lprun; repeat -f for several.",
        completes: Completes::Functions,
    },
    flag("-r", "Return the `AllocProfile` as the value of the magic (`let p = %mprun -r -f f f();`)."),
    valued("-T", "FILE", "Also write the text report to FILE."),
];

const TIME_OPTIONS: &[MagicOption] = &[flag(
    "--no-raise-error",
    "After a panic, print the times and end the cell without an error (IPython's spelling).",
)];

const MPIRUN_OPTIONS: &[MagicOption] = &[
    valued("-n", "N", "Number of MPI ranks (processes); required. `-np N` is accepted too."),
    valued("--hostfile", "FILE", "Run the ranks on the hosts listed in FILE (Open MPI's format: `host slots=N`)."),
    valued("-H", "HOST,HOST", "Run the ranks on these hosts (`a,b` or `a:2,b:2` for slots); `--host` is accepted too."),
    flag("--oversubscribe", "Allow more ranks than the hosts have cores."),
    flag("--timeline", "After the run, show each rank's run as a lane of a Gantt chart, from a common barrier to its \
        end (the summary line counts ranks as threads)."),
];

const WHO_OPTIONS: &[MagicOption] = &[];

/// Every magic, in `%lsmagic` order within each form.
pub static MAGICS: &[Magic] = &[
    Magic {
        name: "env",
        summary: "Get, set or list environment variables of the evaluation process.",
        line: Some("%env [VAR | VAR=VALUE | VAR VALUE]"),
        cell: None,
        bindable: false,
        options: &[],
        details: "Without an argument, lists every variable of the process that runs the cells, sorted by name. \
`%env VAR` prints one value, `%env VAR=VALUE` (or `%env VAR VALUE`) sets it with `std::env::set_var` in that process, \
so code in later cells (and threads and child processes it starts) sees it.

The line becomes ordinary std calls in the cell, so `%env` can sit above the code that needs it, \
as in `%env RAYON_NUM_THREADS=2`. Variables that a library reads once (rayon's global pool) must be set \
before its first use in the session; restart the kernel to start over.",
        examples: &["%env RUST_BACKTRACE=1", "%env PATH", "%env"],
        handler: Handler::Env,
    },
    Magic {
        name: "load_ext",
        summary: "Accepted for `line_profiler`, which is built in, so Python notebooks port line for line.",
        line: Some("%load_ext line_profiler"),
        cell: None,
        bindable: false,
        options: &[],
        details: "parlab's `%lprun` needs no extension. `%load_ext line_profiler` does nothing; any other \
extension is a usage error, as there is no Python here to load.",
        examples: &["%load_ext line_profiler"],
        handler: Handler::LoadExt,
    },
    Magic {
        name: "lprun",
        summary: "Line-by-line profile of notebook functions, in line_profiler's layout.",
        line: Some("%lprun -f NAME [-f NAME]... [-m MODULE] [-u UNIT] [-s|-z] [-r] [-T FILE] [-D FILE] STATEMENT"),
        cell: Some("%%lprun [-f NAME]... [-u UNIT] [-s] [-z]"),
        bindable: true,
        options: LPRUN_OPTIONS,
        details: "Each function named with -f is compiled again with a probe before every line, the statement runs, \
and the report lists per line: Hits, Time (in the timer unit), Per Hit, % Time, and the source. The original \
functions are put back afterwards, also after a panic or an interrupt.

Times are wall-clock time between one line's start and the next line's start in the same call, so a line that \
calls a function includes that function's time, as in line_profiler. Closures with a braced body get their own \
lines, so work handed to rayon or a `Pool` is profiled on its worker threads too. A probe costs about 10 ns, \
far more than a simple Rust line: compare lines with each other, and time the whole with %timeit.

`%%lprun` profiles the cell's own lines (and the -f functions).",
        examples: &["%lprun -f distance distance(&x, 100)", "let p = %lprun -r -z -f norm -f Point::dist total(&pts)"],
        handler: Handler::Lprun,
    },
    Magic {
        name: "lsmagic",
        summary: "List the line magics, the cell magics and the evcxr `:` commands.",
        line: Some("%lsmagic"),
        cell: None,
        bindable: false,
        options: &[],
        details: "Every magic has help: `%timeit?` (or `%%timeit?`, `%timeit??`) shows its usage, options and \
examples. Names work too: `Vec::with_capacity?`, `?Pool`, `my_fn??` (with its source), or Shift-Tab in the editor.",
        examples: &["%lsmagic"],
        handler: Handler::Lsmagic,
    },
    Magic {
        name: "memit",
        summary: "Peak memory and exact heap allocations of a statement, as memory_profiler's %memit.",
        line: Some("%memit [-r R] [-o] [-q] STATEMENT"),
        cell: None,
        bindable: true,
        options: MEMIT_OPTIONS,
        details: "Runs the statement and prints two lines:

    peak memory: 102.31 MiB, increment: 50.02 MiB
    allocations: 1 (50.0 MiB), peak heap: 50.0 MiB above start, still live: 0 B

The first is memory_profiler's, from the process's resident memory (the kernel resets Linux's high-water mark, \
`VmHWM`, before the run and reads it after). Resident memory counts pages that were touched: `vec![0u8; n]` gets \
fresh zeroed pages from the system and adds almost nothing until they are written, `vec![1u8; n]` adds n.

The second is exact, from the kernel's counting allocator, on every thread: the blocks allocated (reallocations \
included) and their bytes, the most heap held above the level at the start, and what is still allocated at the \
end. Notebook variables are used by reference and are unchanged afterwards, as with %timeit.",
        examples: &["%memit vec![1u8; 50 << 20]", "let m = %memit -o -r 3 v.iter().map(|x| x * 2).collect::<Vec<_>>();"],
        handler: Handler::Memit,
    },
    Magic {
        name: "mpirun",
        summary: "Run the cell as an MPI program (Open MPI), with the notebook's items in scope.",
        line: None,
        cell: Some("%%mpirun -n N [--hostfile FILE | -H HOST,HOST] [--oversubscribe] [--timeline] [-- MPIRUN_ARGS...]"),
        bindable: false,
        options: MPIRUN_OPTIONS,
        details: "The cell's body becomes the `main` of a program of its own, built with cargo (the session's `:dep` \
crates and `:opt` level apply) and started with `mpirun -n N`. Every item the notebook defined so far (functions, \
types, impls) is in it, and so are `world` (the communicator), `rank` and `size`. `parlab::mpi` has helpers: \
`split_range`, `reduce_sum_to_root`, `all_reduce_sum`, `timed`.

Each rank's output is shown as `[rank] line`. The cell changes nothing in the session: its variables and items \
are not kept. A panicking rank ends the whole job (MPI_Abort) and is named in the error.

Everything after `--` on the magic line goes to mpirun unchanged (`-- --bind-to core`).",
        examples: &["%%mpirun -n 4\nlet (lo, hi) = parlab::mpi::split_range(1_000_000, rank, size);\nlet part: u64 = (lo..hi).map(|i| i as u64).sum();\nlet total = parlab::mpi::reduce_sum_to_root(&world, part);\nif rank == 0 { println!(\"{total}\"); }"],
        handler: Handler::Mpirun,
    },
    Magic {
        name: "mprun",
        summary: "Heap allocations per line of notebook functions, exact, in line_profiler's layout.",
        line: Some("%mprun -f NAME [-f NAME]... [-T FILE] [-r] STATEMENT"),
        cell: None,
        bindable: true,
        options: MPRUN_OPTIONS,
        details: "memory_profiler's %mprun for Rust, counted by the kernel's allocator instead of sampled from the \
process's memory: the functions are chosen as with %lprun (same -f rules and errors), the statement runs once, and \
each function gets a table with the columns Line #, Hits, Allocs, Bytes, Peak, Net and Line Contents.

Allocs and Bytes are what was allocated while the line ran, callees included, and the work the line handed to a \
`Pool` or to rayon (allocations of other threads while the statement's own line ran). Peak is the most heap the \
line held above its level at its start, in the allocator's usable bytes (8,008 for an 8,000-byte Vec); Net is the \
bytes the line allocated that are still allocated when the statement ends. All figures \
are plain integers (bytes unscaled). The functions are put back afterwards, also after a panic (which shows the \
partial table first).",
        examples: &["%mprun -f build build(1000)", "let p = %mprun -r -f parse -f tokens parse(&text);"],
        handler: Handler::Mprun,
    },
    Magic {
        name: "prun",
        summary: "Sampling profile of a statement: which function, yours or a library's, on any thread, takes the CPU time.",
        line: Some("%prun [-s KEY] [-l N] [-r] [-q] [-T FILE] [-D FILE] [--rate HZ] [--threads] STATEMENT"),
        cell: Some("%%prun [-s KEY] [-l N] [-r] [-q] [-T FILE] [-D FILE] [--rate HZ] [--threads]"),
        bindable: true,
        options: PRUN_OPTIONS,
        details: "The statement runs once while every thread of the process that uses CPU (the cell's own, rayon's \
and `Pool` workers, threads it starts) is sampled: a timer on each thread's CPU-time clock interrupts it, and its call \
stack is recorded. Nothing is recompiled and no function needs naming, unlike %lprun.

The table has IPython's layout with samples instead of calls: per function, the samples that saw it, tottime \
(CPU seconds in the function itself), cumtime (with its callees) and its share of all CPU time. Below it, a flame \
graph: each box is a function, as wide as its CPU time, its callers below it; work on worker threads sits under \
`[worker threads]` (--threads: one root per thread). Notebook functions are named `name (<cell N>:line)`, \
the cell's own code `<cell N>`, library functions by their Rust path.

Cells are compiled without debug info, so a function the optimizer inlined into its caller has no frame of its own: \
mark it `#[inline(never)]` to see it apart. `%%prun` runs the cell's body in a closure: its `let`s stay local.",
        examples: &["%prun work(1_000_000)", "%prun -s cumtime -l 10 --threads pool.map(step, 0..64)", "let p = %prun -r -q work(10);"],
        handler: Handler::Prun,
    },
    Magic {
        name: "time",
        summary: "CPU and wall time of one run of a statement or of the cell.",
        line: Some("%time [--no-raise-error] STATEMENT"),
        cell: Some("%%time [--no-raise-error]"),
        bindable: true,
        options: TIME_OPTIONS,
        details: "Runs the code once and then prints, as IPython does:

    CPU times: user 3.17 ms, sys: 0 ns, total: 3.17 ms
    Wall time: 3.19 ms

CPU time is the whole process's (all threads), so parallel code shows more CPU than wall time. The value of \
the statement is the value of the line (`let v = %time build();` binds it), and what a `%%time` cell defines \
stays defined. Compile time is not included; it is printed as `Compiler :` when it exceeds 0.1 s. \
A panic prints the times first and then the error.",
        examples: &["%time v.sort()", "let total = %time (0..n).sum::<u64>();", "%%time\nlet v = build(1_000_000);\nv.len()"],
        handler: Handler::Time,
    },
    Magic {
        name: "timeit",
        summary: "Time a statement (or the cell) with IPython's timing line, from a compiled loop.",
        line: Some("%timeit [-n N] [-r R] [-p P] [-t|-c] [-q] [-a] [-o] [-v NAME] STATEMENT"),
        cell: Some("%%timeit [-n N] [-r R] [-p P] [-t|-c] [-q] [-a] [-o] [-v NAME] [SETUP]"),
        bindable: true,
        options: TIMEIT_OPTIONS,
        details: "The statement is compiled (at the session's opt level) into a loop of N runs, repeated R times, \
and the result is printed as IPython prints it:

    12 ns ± 3.38 ns per loop (mean ± std. dev. of 7 runs, 100,000,000 loops each)

In cell mode the rest of the `%%timeit` line is setup code, run once before each repeat and not timed; the \
lines below it are timed. The statement's value goes through `std::hint::black_box`, so the optimizer cannot \
delete the work. Notebook variables are used by reference and are unchanged afterwards; a statement that moves \
a variable (`drop(v)`) cannot be repeated and is a usage error: clone it in the setup instead.

An interrupt stops the timing between loops. A warning is printed when the slowest run took more than 4 times \
the fastest, and the compile time when it exceeds 0.1 s.",
        examples: &["%timeit v.iter().sum::<f64>()", "%timeit -n 100 -r 3 sort_copy(&v)", "let r = %timeit -o -q f(&x);", "%%timeit let mut w = v.clone();\nw.sort_unstable();"],
        handler: Handler::Timeit,
    },
    Magic {
        name: "timeline",
        summary: "Record every Pool task the cell runs and show them as a Gantt chart, one lane per worker.",
        line: None,
        cell: Some("%%timeline"),
        bindable: false,
        options: &[],
        details: "The cell runs as usual (its variables and items stay in the session) while every task of a \
blocking `Pool` call (`map`, `starmap`) is recorded: its worker thread, its index, its chunk (the batch of \
consecutive tasks one worker took at once) and its start and end. Then the cell shows a Gantt chart, one lane \
per worker, idle gaps in white and chunks in colours, and the summary line:

    8 tasks on 2 threads, busy 97 %, imbalance 1.02

busy is the share of the lanes' time spent in tasks, from the first task's start to the last one's end; \
imbalance is the busiest lane's busy time over the mean lane's (1 is perfect balance). Recording costs well \
under 1 µs per task. rayon's own `par_iter` and the background methods (`imap`, `apply_async`) are not \
recorded. In code, `parlab::timeline(|| …)` does the same for a closure, and `Timeline::record` returns the \
`Timeline` instead of showing it.",
        examples: &["%%timeline\nlet pool = Pool::new(2);\nlet sums = pool.map(|n: u64| (0..n).sum::<u64>(), vec![10_000_000; 8]);"],
        handler: Handler::Timeline,
    },
    Magic {
        name: "who",
        summary: "List the notebook's variables.",
        line: Some("%who [TYPE]..."),
        cell: None,
        bindable: false,
        options: WHO_OPTIONS,
        details: "Prints the names of the variables evcxr keeps between cells, sorted. With TYPE arguments only \
variables of those types are listed (`%who Vec<f64> usize`; a type also matches its generic form, `%who Vec`).",
        examples: &["%who", "%who Vec"],
        handler: Handler::Who,
    },
    Magic {
        name: "whos",
        summary: "Like %who, as a table with each variable's type and value.",
        line: Some("%whos [TYPE]..."),
        cell: None,
        bindable: false,
        options: WHO_OPTIONS,
        details: "A table in IPython's layout: Variable, Type, Data/Info. Data/Info is the variable's `Debug` text \
(shortened to its first and last 25 characters when longer than 50; `<no Debug>` when its type has none), \
read in the evaluation process, so it is the current value. Collections also show their length (`len=1000`).",
        examples: &["%whos", "%whos Vec"],
        handler: Handler::Whos,
    },
];
