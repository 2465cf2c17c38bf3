//! What the kernel adds to a cell on its way to evcxr, and the one state
//! that decides it ([`Setup`]).
//!
//! evcxr runs cargo whenever the session's dependencies change, even with
//! no code to go with them (`state_change_can_fail_compilation`): a
//! `:dep parlab-child` evaluated alone at start cost a build of its own
//! (1.8 s measured), and the set-up call another. Riding on the user's
//! next cell instead, they cost that cell's one build a little more, so a
//! fresh kernel's first reply waits for one build, not three.
//!
//! - Dependency lines go before the cell: evcxr takes commands only before
//!   code. rustc's line numbers then count them, so [`fold::Folded::hidden_lines`]
//!   says how many to take off.
//! - The set-up call and the shared library's anchor ([`shared`]) go at
//!   the start of the cell's first code line (the line keeps its number)
//!   or, in a cell of commands only, after it.
//!
//! `parlab-child` itself is no `:dep` at all when the kernel's build left
//! it as an rlib next to the kernel binary (see [`child_link::ChildLink`]): a new
//! dependency also makes evcxr reload rust-analyzer's whole workspace,
//! standard library included (about 1 s more than the build, measured),
//! while an `--extern` flag costs the link of a 120 kB rlib.

mod child_link;
pub(crate) mod fold;
pub(crate) mod shared;

pub(crate) use child_link::ChildLink;

use super::{runtime_dir, EvcxrInterpreter};
use crate::interpreter::Output;
use shared::{SharedLib, SharedSet};
use std::sync::Arc;

/// Where the evaluation process stands with `parlab_child::init`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Process {
    /// `init` rides on the next evaluation (a new process, or a new link).
    InitPending,
    /// `init` ran: panics are reported by the hook, and each evaluation
    /// ends with the child's end-of-cell marker.
    Ready,
    /// `parlab-child` could not be added: cells run without it.
    Bare,
}

/// Whether `parlab` (and rayon) are dependencies of the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Runtime {
    Absent,
    /// Queued or added; `:clear` and a failed add make it `Absent` again.
    Added,
}

/// Whether cells see `parlab_child::value`'s `evcxr_display` for std
/// values (one build per cell instead of evcxr's failed first build and
/// fallback; see that module).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueDisplay {
    /// The import rides on the next cell.
    Pending,
    /// evcxr keeps the import among the session's items.
    Imported,
    /// After `:fmt` or `:types`: `Deferred` is imported too, so evcxr's
    /// own fallback prints values again (the import rides on the next cell
    /// until one compiles).
    DeferPending,
    Deferred,
}

/// The set-up state of one session: everything the kernel folds into
/// cells and how the evaluation process stands.
#[derive(Debug)]
pub(crate) struct Setup {
    pub(crate) process: Process,
    /// The evaluation process this state describes (a new one needs `init`).
    pub(crate) pid: Option<i32>,
    runtime: Runtime,
    /// `:dep` lines the session does not have yet; they ride on the next
    /// evaluation.
    pending_deps: Vec<String>,
    /// How cells reach `parlab-child`; `child_checked` once a cell has
    /// compiled with it (until then a rejected prebuilt rlib falls back to
    /// the sources).
    child: ChildLink,
    child_checked: bool,
    /// evcxr's linker (its rustc flags depend on it).
    linker: String,
    shared: SharedLib,
    /// The shared library evcxr has as `parlab-shared` (or is queued).
    shared_added: Option<String>,
    /// Crates linked into each cell instead (they could not be shared).
    unshared: Vec<String>,
    /// The shared library itself could not be built: every crate is
    /// linked into each cell, as evcxr does.
    sharing_off: bool,
    /// The set of the last evaluation that compiled.
    last_good: Option<SharedSet>,
    value_display: ValueDisplay,
}

/// A cell ready for evcxr.
pub(super) struct Prepared {
    pub(super) folded: fold::Folded,
    /// `init` rides on this evaluation.
    pub(super) init: bool,
    /// The value-display import rides on it.
    display_import: bool,
    /// The shared set this evaluation builds with, if any.
    set: Option<SharedSet>,
}

/// What became of the kernel's additions after an evaluation.
pub(super) enum Settled {
    /// Added, or still pending after an error of the user's own.
    Fine,
    /// The kernel changed how cells are built (`parlab-child`'s `:dep` was
    /// given up, a crate left the shared library, the prebuilt rlib was
    /// rejected): evaluate the cell again.
    RunAgain,
    /// The runtime cannot be added: the cell's error message.
    RuntimeFailed(String),
}

impl Setup {
    pub(super) fn new(shared_root: std::path::PathBuf) -> Self {
        Setup {
            process: Process::InitPending,
            pid: None,
            runtime: Runtime::Absent,
            pending_deps: Vec::new(),
            child: ChildLink::Dep { dir: runtime_dir().join("child") },
            child_checked: false,
            linker: String::new(),
            shared: SharedLib::new(shared_root),
            shared_added: None,
            unshared: Vec::new(),
            sharing_off: false,
            last_good: None,
            value_display: ValueDisplay::Pending,
        }
    }

    /// The path cells call `parlab-child` by.
    pub(super) fn child_name(&self) -> &'static str {
        self.child.name()
    }

    /// Whether evaluations end with the child's end-of-cell marker.
    pub(super) fn ready(&self) -> bool {
        self.process == Process::Ready
    }

    /// Queues `parlab` (and rayon, which cells may `use` directly: cargo
    /// unifies it with the copy parlab is built on) for the session, once.
    pub(super) fn add_runtime(&mut self) {
        if self.runtime == Runtime::Absent {
            self.runtime = Runtime::Added;
            for (name, spec) in runtime_deps() {
                self.pending_deps.push(format!(":dep {name} = {spec}"));
            }
        }
    }

    /// The crates the shared library holds for a cell whose `:dep` and
    /// `:opt` lines give `build` (the session's settings with the cell's).
    fn shared_set(&self, build: &parlab_magics::BuildSettings) -> Option<SharedSet> {
        if self.sharing_off {
            return None;
        }
        let cwd = std::env::current_dir().unwrap_or_default();
        let mut deps: Vec<(String, String)> = Vec::new();
        if self.runtime == Runtime::Added {
            deps.extend(runtime_deps());
        }
        for (name, spec) in &build.deps {
            if !self.unshared.contains(name) && !deps.iter().any(|(n, _)| n == name) {
                deps.push((name.clone(), shared::absolute_paths(spec, &cwd)));
            }
        }
        if deps.is_empty() {
            return None;
        }
        let mut settings = format!("opt={}; {}", build.cargo_opt_level(), self.child.build_env(&self.linker));
        for (name, spec) in &deps {
            settings.push_str(&shared::path_stamp(name, spec));
        }
        Some(SharedSet { deps, settings })
    }

    /// What evcxr's fast rebuild of a cell (third_party/README.md) cannot
    /// see for itself: the sources of path crates linked into each cell
    /// (the shared library's are in its name, hence in `Cargo.toml`).
    /// `None` turns the fast rebuild off (`PARLAB_FAST_REBUILD=0`).
    pub(super) fn rebuild_key(&self, build: &parlab_magics::BuildSettings) -> Option<String> {
        if std::env::var_os("PARLAB_FAST_REBUILD").is_some_and(|v| v == "0") {
            return None;
        }
        let mut key = String::from("parlab");
        for (name, spec) in &build.deps {
            if self.sharing_off || self.unshared.contains(name) {
                key.push_str(&shared::path_stamp(name, spec));
            }
        }
        Some(key)
    }

    /// Folds the kernel's lines into `code` (already path-protected):
    /// pending `:dep` lines, the set-up call if due, and the shared
    /// library's anchor. `build` is the session's build settings with the
    /// cell's own lines applied.
    pub(super) fn prepare(&mut self, code: &str, build: &parlab_magics::BuildSettings) -> Prepared {
        let set = self.shared_set(build);
        let mut anchor = None;
        if let Some(set) = &set {
            match self.shared.write(set) {
                Ok(name) => {
                    if self.shared_added.as_deref() != Some(name.as_str()) {
                        self.pending_deps.retain(|d| fold::dep_name(d) != shared::PACKAGE);
                        self.pending_deps.extend(self.shared.dep_line());
                        self.shared_added = Some(name);
                    }
                    anchor = self.shared.anchor();
                }
                Err(e) => crate::server::log(format!("could not write the shared library's sources: {e}")),
            }
        } else {
            // Nothing left to share (its only crate could not join it): a
            // shared library queued for an earlier attempt must not be
            // added, or the cell fails on it again.
            self.pending_deps.retain(|d| fold::dep_name(d) != shared::PACKAGE);
            if self.last_good.as_ref().is_none_or(|s| s.deps.is_empty()) {
                self.shared_added = None;
            }
        }
        let init = self.process == Process::InitPending;
        let mut prefix = String::new();
        if init {
            prefix.push_str(&format!("{}::init();", self.child.name()));
        }
        if code.lines().any(|l| matches!(l.split_whitespace().next(), Some(":fmt" | ":types"))) {
            self.value_display = ValueDisplay::DeferPending;
        }
        let display_import = self.process != Process::Bare
            && matches!(self.value_display, ValueDisplay::Pending | ValueDisplay::DeferPending)
            && (init || fold::has_code(code));
        if display_import {
            let child = self.child.name();
            if !prefix.is_empty() {
                prefix.push(' ');
            }
            prefix.push_str(&format!("use {child}::value::StdDisplay as _;"));
            if self.value_display == ValueDisplay::DeferPending {
                prefix.push_str(&format!(" use {child}::value::Deferred as _;"));
            }
        }
        if let Some(anchor) = anchor.filter(|_| init || fold::has_code(code)) {
            if !prefix.is_empty() {
                prefix.push(' ');
            }
            prefix.push_str(&anchor);
        }
        let folded = fold::fold(code, &self.pending_deps, (!prefix.is_empty()).then_some(prefix.as_str()));
        if init {
            // The relay waits for the end-of-cell marker `init` installs.
            self.process = Process::Ready;
        }
        Prepared { folded, init, display_import, set }
    }

    /// After an evaluation of a prepared cell: whether it compiled.
    pub(super) fn compiled(&mut self, prepared: &Prepared, compiled: bool) {
        if prepared.init && self.process == Process::Ready {
            // A compile error means nothing ran, set-up included.
            if compiled {
                self.child_checked = true;
            } else {
                self.process = Process::InitPending;
            }
        }
        if compiled {
            self.last_good = prepared.set.clone();
            if prepared.display_import {
                self.value_display = match self.value_display {
                    ValueDisplay::Pending => ValueDisplay::Imported,
                    _ => ValueDisplay::Deferred,
                };
            }
        }
    }

    /// evcxr's `:clear` drops the session's dependencies (its rustc flags
    /// stay): they are added again with the next cell that needs them.
    pub(super) fn after_clear(&mut self) {
        self.runtime = Runtime::Absent;
        self.shared_added = None;
        self.shared.forget();
        self.last_good = None;
        self.value_display = match self.value_display {
            ValueDisplay::Pending | ValueDisplay::Imported => ValueDisplay::Pending,
            ValueDisplay::DeferPending | ValueDisplay::Deferred => ValueDisplay::DeferPending,
        };
        self.pending_deps.clear();
        if let Some(dep) = self.child.dep_line() {
            self.pending_deps.push(dep);
        }
    }
}

/// The runtime's crates, as the session and the shared library name them.
fn runtime_deps() -> [(String, String); 2] {
    let runtime = runtime_dir().display().to_string();
    [("parlab".to_owned(), format!("{{ path = {runtime:?} }}")), ("rayon".to_owned(), "\"1\"".to_owned())]
}

/// Whether rustc's or cargo's failure names the shared library.
fn names_shared(text: &str) -> bool {
    text.contains(shared::PACKAGE) || text.contains("parlab_shared")
}

impl EvcxrInterpreter {
    /// Chooses how cells reach `parlab-child` (the kernel's build leaves it
    /// next to the kernel binary) and queues the set-up for the first cell.
    pub(super) fn start_session(&mut self) {
        self.setup.linker = match self.ctx.execute(":linker") {
            Ok(out) => out.get("text/plain").unwrap_or("").trim_start_matches("linker:").trim().to_owned(),
            Err(_) => String::new(),
        };
        let rlib = std::env::var_os("PARLAB_CHILD_RLIB").map(std::path::PathBuf::from).or_else(|| {
            std::env::current_exe().ok().and_then(|exe| Some(exe.parent()?.join("libparlab_child.rlib")))
        });
        self.link_child(ChildLink::find(rlib, runtime_dir().join("child")));
    }

    /// Makes `link` the way cells reach `parlab-child`; the set-up call
    /// (and the `:dep`, if one is needed) ride on the next cell.
    pub(super) fn link_child(&mut self, link: ChildLink) {
        if let Err(e) = self.ctx.execute(&link.build_env(&self.setup.linker)) {
            crate::server::log(format!("could not set the cells' rustc flags: {e}"));
        }
        let s = &mut self.setup;
        s.pending_deps.retain(|d| fold::dep_name(d) != "parlab-child");
        if let Some(dep) = link.dep_line() {
            s.pending_deps.insert(0, dep);
        }
        s.child = link;
        s.child_checked = false;
        s.process = Process::InitPending;
    }

    /// Prepares a new evaluation process (after a restart of it).
    pub(super) fn init_child(&mut self) {
        self.setup.process = Process::InitPending;
        let build = self.session.build.clone();
        let prepared = self.setup.prepare("", &build);
        let result = self.ctx.execute(&prepared.folded.code);
        if let Settled::RuntimeFailed(message) = self.settle(&result, &prepared, None) {
            crate::server::log(message);
        }
        let compiled = !matches!(result, Err(evcxr::Error::CompilationErrors(_)));
        self.setup.compiled(&prepared, compiled);
        if let Err(e) = result {
            self.setup.process = Process::Bare;
            crate::server::log(format!("runtime set-up failed: {e}"));
        }
        self.setup.pid = self.control.pid();
        let _ = self.relay.finish(false);
    }

    /// Evaluates kernel-internal code (no cell of the user's) with the
    /// shared library's anchor, so it links what cells link.
    pub(super) fn execute_internal(&mut self, code: &str) -> Result<evcxr::EvalOutputs, evcxr::Error> {
        let code = match self.setup.shared.anchor() {
            Some(anchor) => format!("{anchor} {code}"),
            None => code.to_owned(),
        };
        self.ctx.execute(&code)
    }

    /// Drops from the pending dependencies those the session now has
    /// (`hidden_lines`: how many lines of the evaluated code they took). If
    /// the evaluation failed otherwise than by the user's own error (a bad
    /// command, their own `:dep`, their code), the rest are added alone, to
    /// tell a dependency cargo cannot resolve or build: `parlab-child`'s is
    /// given up (logged; the cell runs again without it), the runtime's
    /// becomes the cell's error (the next cell that needs it tries again).
    /// A shared library that failed to build loses the crates this cell
    /// added to it (they link into each cell; `out` is told why).
    pub(super) fn settle(
        &mut self,
        result: &Result<evcxr::EvalOutputs, evcxr::Error>,
        prepared: &Prepared,
        out: Option<&Arc<dyn Output>>,
    ) -> Settled {
        if let Some(again) = self.unshare_on_failure(result, prepared, out) {
            return again;
        }
        if self.setup.pending_deps.is_empty() {
            return Settled::Fine;
        }
        let hidden_lines = prepared.folded.hidden_lines;
        let listed = match self.ctx.execute(":show_deps") {
            Ok(out) => out.get("text/plain").unwrap_or("").to_owned(),
            Err(_) => String::new(),
        };
        self.setup.pending_deps.retain(|d| !fold::lists_dep(&listed, fold::dep_name(d)));
        let maybe_ours = match result {
            Ok(_) | Err(evcxr::Error::SubprocessTerminated(_)) => false,
            // evcxr reports a failed command on its line: ours are the
            // hidden lines before the cell.
            Err(evcxr::Error::CompilationErrors(errs)) => errs.iter().any(|e| {
                !e.is_from_user_code() || e.spanned_messages().iter().any(|m| m.span.as_ref().is_some_and(|s| s.start_line <= hidden_lines))
            }),
            Err(_) => true,
        };
        if self.setup.pending_deps.is_empty() || !maybe_ours {
            return Settled::Fine;
        }
        let (child, rest): (Vec<String>, Vec<String>) =
            std::mem::take(&mut self.setup.pending_deps).into_iter().partition(|d| fold::dep_name(d) == "parlab-child");
        let mut settled = Settled::Fine;
        if !child.is_empty() {
            if let Err(e) = self.ctx.execute(&child.join("\n")) {
                crate::server::log(format!("could not add parlab-child ({}): {e}", child.join("; ")));
                self.setup.process = Process::Bare;
                settled = Settled::RunAgain;
            }
        }
        if !rest.is_empty() {
            if let Err(e) = self.ctx.execute(&rest.join("\n")) {
                self.setup.runtime = Runtime::Absent;
                self.setup.shared_added = None;
                return Settled::RuntimeFailed(format!("could not add parlab's runtime to the session: {e}"));
            }
        }
        settled
    }

    /// A build that failed on the shared library: the crates this cell
    /// added to it leave it (or, if it held nothing new, sharing stops for
    /// the session), with one line saying so, and the cell runs again.
    fn unshare_on_failure(
        &mut self,
        result: &Result<evcxr::EvalOutputs, evcxr::Error>,
        prepared: &Prepared,
        out: Option<&Arc<dyn Output>>,
    ) -> Option<Settled> {
        let set = prepared.set.as_ref()?;
        // rustc's errors in the dylib's `lib.rs` name its path in the
        // rendered text; cargo's own errors name the package.
        let failure = match result {
            Err(evcxr::Error::CompilationErrors(errs)) => {
                errs.iter().find(|e| names_shared(&e.message()) || names_shared(&e.rendered())).map(|e| e.message())
            }
            Err(evcxr::Error::SubprocessTerminated(_)) | Ok(_) => None,
            Err(other) => Some(other.to_string()).filter(|m| names_shared(m)),
        }?;
        let before: Vec<&String> = self.setup.last_good.iter().flat_map(|s| s.deps.iter().map(|(n, _)| n)).collect();
        let added: Vec<String> =
            set.deps.iter().map(|(n, _)| n.clone()).filter(|n| !before.contains(&n) && !matches!(n.as_str(), "parlab" | "rayon")).collect();
        let reason = failure.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_owned();
        let note = if added.is_empty() {
            self.setup.sharing_off = true;
            format!(
                "note: dependencies are linked into each cell from now on (the shared library could not be built: {reason})\n"
            )
        } else {
            self.setup.unshared.extend(added.iter().cloned());
            let names = added.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
            format!("note: {names} is linked into each cell, not once per process (it could not join the shared library: {reason})\n")
        };
        crate::server::log(note.trim_end());
        if let Some(out) = out {
            out.stream("stderr", &note);
        }
        Some(Settled::RunAgain)
    }

    /// Before a cell has compiled with the prebuilt `parlab-child`, an
    /// error of rustc's about it means the rlib is unusable (built by
    /// another rustc): switches to the sources and says so; the caller runs
    /// the cell again.
    pub(super) fn child_rejected(&mut self, result: &Result<evcxr::EvalOutputs, evcxr::Error>) -> bool {
        let Err(evcxr::Error::CompilationErrors(errs)) = result else { return false };
        if self.setup.child_checked || !matches!(self.setup.child, ChildLink::Prebuilt { .. }) {
            return false;
        }
        let Some(e) = errs.iter().find(|e| ChildLink::rejects(&e.message())) else { return false };
        crate::server::log(format!("rustc cannot use the prebuilt parlab-child ({}); building it from source", e.message()));
        self.link_child(ChildLink::Dep { dir: runtime_dir().join("child") });
        true
    }
}
