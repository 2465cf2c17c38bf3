//! From return addresses to the names `%prun` shows.
//!
//! evcxr compiles each cell into a crate named `ctx` (a `cdylib` built
//! with `debug = false`, `strip = "debuginfo"`: symbol tables stay, line
//! tables do not), and re-emits every earlier item into it. A sample in
//! a notebook function therefore symbolizes as `ctx::hot_inner`, whatever
//! cell defined it: the magic passes the notebook's functions with their
//! cell and signature line ([`PrunFn`]), and such a frame is shown as
//! `hot_inner (<cell 3>:1)`, as cProfile shows `file:line(function)` with
//! the line of the `def`. The cell's own code (`ctx::run_user_code_N`,
//! and its closures) is `<cell N>` with the statement's execution count.
//! Everything else keeps its demangled path, without the hash.
//!
//! Without line tables a function that the optimizer inlined into its
//! caller has no frame of its own: its time is its caller's
//! (`#[inline(never)]` keeps it apart).

use super::PrunFn;
#[cfg(target_os = "linux")]
use std::collections::HashMap;

/// The crate name evcxr gives every cell (evcxr 0.22, `module.rs`).
const CELL_CRATE: &str = "ctx::";

/// Names return addresses, with a cache (one resolution per address).
#[cfg(target_os = "linux")]
pub(crate) struct Namer<'a> {
    functions: &'a [PrunFn],
    cell: u32,
    objects: super::objects::Objects,
    cache: HashMap<usize, String>,
}

#[cfg(target_os = "linux")]
impl<'a> Namer<'a> {
    pub(crate) fn new(functions: &'a [PrunFn], cell: u32) -> Self {
        Namer { functions, cell, objects: super::objects::Objects::now(), cache: HashMap::new() }
    }

    /// The name of the code at `ip`; `leaf`: `ip` is the interrupted
    /// instruction itself, not a return address.
    pub(crate) fn name(&mut self, ip: usize, leaf: bool) -> String {
        // A return address may be one past its function's end (a call
        // that never returns): look up the call instruction, `ip - 1`;
        // the leaf is the interrupted instruction itself.
        let at = if leaf { ip } else { ip.saturating_sub(1) };
        if let Some(name) = self.cache.get(&at) {
            return name.clone();
        }
        let name = match self.objects.name(at) {
            Some(raw) => display_name(&raw, self.functions, self.cell),
            None => "[unknown]".to_owned(),
        };
        self.cache.insert(at, name.clone());
        name
    }
}

/// The name shown for the demangled symbol `raw` (see the module doc).
///
/// ```text
/// ctx::hot_inner                       -> hot_inner (<cell 3>:1)
/// ctx::run_user_code_7::{{closure}}    -> <cell 9>::{{closure}}
/// <ctx::P as core::ops::Add>::add      -> <P as core::ops::Add>::add (<cell 4>:2)
/// rayon_core::join::join_context       -> rayon_core::join::join_context
/// ```
pub(crate) fn display_name(raw: &str, functions: &[PrunFn], cell: u32) -> String {
    if !raw.contains(CELL_CRATE) {
        return raw.replace(';', ":");
    }
    let name = raw.replace(CELL_CRATE, "").replace(';', ":");
    // The path of the function itself, before its closures.
    let (path, rest) = match name.find("::{{closure}}") {
        Some(i) => (&name[..i], &name[i..]),
        None => (name.as_str(), ""),
    };
    if path.starts_with("run_user_code_") {
        return format!("<cell {cell}>{rest}");
    }
    // `<P as Trait>::m` is found as `P::m`.
    let key = match (path.strip_prefix('<'), path.rfind(">::")) {
        (Some(inner), Some(end)) => {
            let ty = inner[..end - 1].split(" as ").next().unwrap_or("");
            format!("{}::{}", ty, &path[end + 3..])
        }
        _ => path.to_owned(),
    };
    match functions.iter().rev().find(|f| f.name == key) {
        Some(f) => format!("{name} (<cell {}>:{})", f.cell, f.line),
        None => format!("{name} (<cell>)"),
    }
}

/// Frames that only carry a call from one place to another (closure
/// shims, `catch_unwind`, the profiler's own): left out of stacks, so the
/// statement's closure sits right under `<cell N>`.
pub(crate) fn is_plumbing(name: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "parlab::prof::",
        "core::ops::function::",
        "std::panicking::",
        "std::panic::catch_unwind",
        "__rust_try",
        "std::sys::backtrace::__rust_begin_short_backtrace",
        "std::sys::backtrace::__rust_end_short_backtrace",
    ];
    PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Frames at the outer end of a worker's stack that are thread start-up
/// and the pool's loop, not the work: trimmed from the root side.
pub(crate) fn is_thread_root(name: &str) -> bool {
    const PREFIXES: &[&str] =
        &["std::", "core::", "alloc::", "rayon_core::", "rayon::", "start_thread", "clone", "__clone", "[unknown]"];
    // `<std::sys::thread::unix::Thread>::new::thread_start`, `<rayon_core::job::StackJob<…> as …>::execute`.
    let path = name.strip_prefix('<').unwrap_or(name);
    PREFIXES.iter().any(|p| path.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FNS: &[PrunFn] = &[PrunFn { name: "hot_inner", cell: 3, line: 1 }, PrunFn { name: "P::add", cell: 4, line: 2 }];

    #[test]
    fn cell_frames_are_named_by_cell_and_line() {
        assert_eq!(display_name("ctx::hot_inner", FNS, 9), "hot_inner (<cell 3>:1)");
        assert_eq!(display_name("ctx::hot_inner::{{closure}}", FNS, 9), "hot_inner::{{closure}} (<cell 3>:1)");
        assert_eq!(display_name("ctx::run_user_code_7::{{closure}}", FNS, 9), "<cell 9>::{{closure}}");
        assert_eq!(display_name("ctx::run_user_code_7", FNS, 9), "<cell 9>");
        assert_eq!(display_name("<ctx::P as core::ops::Add>::add", FNS, 9), "<P as core::ops::Add>::add (<cell 4>:2)");
        assert_eq!(display_name("ctx::defined_here", FNS, 9), "defined_here (<cell>)");
    }

    #[test]
    fn library_frames_keep_their_path() {
        assert_eq!(display_name("rayon_core::join::join_context", FNS, 9), "rayon_core::join::join_context");
        assert!(is_plumbing("core::ops::function::FnOnce::call_once"));
        assert!(!is_plumbing("hot_inner (<cell 3>:1)"));
        assert!(is_thread_root("rayon_core::registry::WorkerThread::wait_until_cold"));
        assert!(is_thread_root("<std::sys::thread::unix::Thread>::new::thread_start"));
        assert!(is_thread_root("<rayon_core::job::StackJob<L,F,R> as rayon_core::job::Job>::execute"));
        assert!(!is_thread_root("<parlab::pool::checked::CheckedProducer<P> as rayon::iter::plumbing::Producer>::fold_with"));
        assert!(!is_thread_root("hot_inner (<cell 3>:1)"));
    }
}
