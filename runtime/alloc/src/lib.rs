//! Exact allocation counts per thread, for `%memit`, `%mprun` and
//! `%timeit -a`.
//!
//! **Why at the C level.** In Rust the `#[global_allocator]` belongs to each
//! final linked artifact: measured in the kernel (evcxr compiles each cell
//! into its own shared object, and the session's crates into the
//! `parlab-shared` dylib), a counting `#[global_allocator]` in the kernel
//! binary saw **0** of the 10 allocations of
//! `for _ in 0..10 { Vec::<u64>::with_capacity(1000); }` run in a cell:
//! the cell's code allocates through std's `System`, which calls `malloc`.
//! Every object makes that call through a slot of its global offset table,
//! so while a reader is armed those slots point at this crate's counting
//! functions (`got.rs`): the same cell counts exactly 10 allocations and
//! 80,000 bytes.
//!
//! **The two halves.** With the `interpose` feature (the kernel binary,
//! and test and bench executables), this crate holds counting versions of
//! `malloc`, `free`, `calloc`, `realloc`, `reallocarray`,
//! `posix_memalign`, `aligned_alloc`, `memalign`, `valloc` and `pvalloc`
//! on top of glibc's `__libc_*` functions (no `dlsym`, which itself calls
//! `calloc`), switches the slots on arm, and [`publish`]es a table of
//! accessors. Without it (the runtime, which cells link), it is the
//! reader's half: [`api`] finds that table.
//!
//! **Idle unless read, and then absent.** Counting only while a reader
//! holds an [`Armed`] guard (`%memit`, `%timeit`, `measure`, `%mprun`).
//! Idle, the executable defines no `malloc` and every slot holds glibc's:
//! an allocation costs what it costs without parlab. Earlier designs cost
//! 1.16–1.30× glibc's ~15 ns `Box` allocate + free pair (a header and
//! counts on every call) and 1.085–1.108× (an exported `malloc` testing a
//! flag and forwarding to glibc); BENCHMARKS.md, "Idle allocator, GOT
//! patching", has today's figures and what an arm costs (30–50 µs).
//!
//! **Per thread, when armed.** Each thread counts into its own
//! [`Counters`] block, with relaxed loads and stores only its own thread
//! makes (a plain `mov` on x86-64, no `lock` prefix): no shared cache line
//! on the hot path. Blocks are linked into one list once per thread, so a
//! reader can sum them (allocations that worker threads make count too). A
//! block is never freed: its counts stay part of the totals after its
//! thread ends (a thread costs 64 bytes for the life of the process).
//! Sizes: `bytes` are the bytes asked for; `live` and `peak` are usable
//! bytes (`malloc_usable_size`: what `free` can learn without a header).
//!
//! **`%mprun`'s Net** needs, at `free`, the line that allocated a block: a
//! side table that exists only while `%mprun` tracks (see `track.rs`).
//!
//! ```
//! // Found in an executable built with `interpose` (the kernel), or
//! // through the environment in a library it loads (a cell).
//! assert_eq!(parlab_alloc::api().is_some(), cfg!(feature = "interpose"));
//! if let Some(api) = parlab_alloc::api() {
//!     let me = (api.thread)();
//!     let _reading = api.armed();
//!     let before = me.allocs.load(std::sync::atomic::Ordering::Relaxed);
//!     drop(std::hint::black_box(vec![0u64; 1000]));
//!     assert_eq!(me.allocs.load(std::sync::atomic::Ordering::Relaxed) - before, 1);
//! }
//! ```

mod counters;
#[cfg(feature = "interpose")]
mod got;
#[cfg(feature = "interpose")]
mod interpose;
#[cfg(feature = "interpose")]
mod track;

pub use counters::{api, Api, Armed, Counters, Totals, API_ENV, TAG_SLOTS, VERSION};
#[cfg(feature = "interpose")]
pub use interpose::{arm_stats, publish};
