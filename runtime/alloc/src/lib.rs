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
//! The dynamic loader resolves `malloc` to the first definition in the
//! global scope, and the executable comes first, so an executable that
//! defines the C allocation functions sees every allocation of every object
//! it loads (the way glibc documents "replacing malloc"): with this
//! crate's `interpose` feature in the kernel, the same cell counts exactly
//! 10 allocations and 80,000 bytes.
//!
//! **The two halves.** With the `interpose` feature (the kernel binary,
//! and test and bench executables), this crate defines `malloc`, `free`,
//! `calloc`, `realloc`, `reallocarray`, `posix_memalign`, `aligned_alloc`,
//! `memalign`, `valloc` and `pvalloc` on top of glibc's `__libc_*`
//! functions (no `dlsym`, which itself calls `calloc`), and [`publish`]es
//! a table of accessors. Without it (the runtime, which cells link), it is
//! the reader's half: [`api`] finds that table.
//!
//! **Idle unless read.** Always installed, counting only while a reader
//! holds an [`Armed`] guard (`%memit`, `%timeit`, `measure`, `%mprun`).
//! Idle, an allocation is one relaxed load and a predictable branch on top
//! of glibc's: blocks carry no header, so nothing else is needed. A 16-byte
//! header and six counter updates on every call cost 1.16–1.30× glibc's
//! ~15 ns `Box` allocate + free pair (BENCHMARKS.md, "Allocations (issue
//! 14)"); idle now costs what "Idle allocator (issue 14)" there says.
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
