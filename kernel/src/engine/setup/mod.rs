//! What the kernel adds to a cell on its way to evcxr: the session's
//! pending dependency lines and the process set-up call.
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
//! - The set-up call goes at the start of the cell's first code line (the
//!   line keeps its number) or, in a cell of commands only, after it.
//!
//! `parlab-child` itself is no `:dep` at all when the kernel's build left
//! it as an rlib next to the kernel binary (see [`child_link::ChildLink`]): a new
//! dependency also makes evcxr reload rust-analyzer's whole workspace,
//! standard library included (about 1 s more than the build, measured),
//! while an `--extern` flag costs the link of a 120 kB rlib.

mod child_link;
pub(crate) mod fold;

pub(crate) use child_link::ChildLink;

use super::{runtime_dir, EvcxrInterpreter};

/// What became of the pending dependencies after an evaluation.
pub(super) enum Settled {
    /// Added, or still pending after an error of the user's own.
    Fine,
    /// `parlab-child`'s `:dep` was given up: run the cell again without it.
    RunAgain,
    /// The runtime cannot be added: the cell's error message.
    RuntimeFailed(String),
}

impl EvcxrInterpreter {
    /// Chooses how cells reach `parlab-child` (the kernel's build leaves it
    /// next to the kernel binary) and queues the set-up for the first cell.
    pub(super) fn start_session(&mut self) {
        self.linker = match self.ctx.execute(":linker") {
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
        if let Err(e) = self.ctx.execute(&link.build_env(&self.linker)) {
            crate::server::log(format!("could not set the cells' rustc flags: {e}"));
        }
        self.pending_deps.retain(|d| fold::dep_name(d) != "parlab-child");
        if let Some(dep) = link.dep_line() {
            self.pending_deps.insert(0, dep);
        }
        self.child = link;
        self.child_checked = false;
        self.init_pending = true;
    }

    /// The process set-up call.
    pub(super) fn init_call(&self) -> String {
        format!("{}::init();", self.child.name())
    }

    /// Queues `parlab` (and rayon, which cells may `use` directly: cargo
    /// unifies it with the copy parlab is built on) for the session, once.
    pub(super) fn add_runtime(&mut self) {
        if !self.runtime_added {
            self.runtime_added = true;
            let runtime = runtime_dir().display().to_string();
            self.pending_deps.push(format!(":dep parlab = {{ path = {runtime:?} }}"));
            self.pending_deps.push(":dep rayon = \"1\"".to_owned());
        }
    }

    /// Prepares a new evaluation process (after a restart of it).
    pub(super) fn init_child(&mut self) {
        self.init_pending = false;
        let folded = fold::fold("", &self.pending_deps, Some(&self.init_call()));
        let result = self.ctx.execute(&folded.code);
        if let Settled::RuntimeFailed(message) = self.settle_deps(&result, folded.hidden_lines) {
            crate::server::log(message);
        }
        match result {
            Ok(_) => self.parlab_ready = true,
            Err(e) => {
                self.parlab_ready = false;
                crate::server::log(format!("runtime set-up failed: {e}"));
            }
        }
        self.pid = self.control.pid();
        let _ = self.relay.finish(false);
    }

    /// Drops from the pending dependencies those the session now has
    /// (`hidden_lines`: how many lines of the evaluated code they took). If
    /// the evaluation failed otherwise than by the user's own error (a bad
    /// command, their own `:dep`, their code), the rest are added alone, to
    /// tell a dependency cargo cannot resolve or build: `parlab-child`'s is
    /// given up (logged; the cell runs again without it), the runtime's
    /// becomes the cell's error (the next cell that needs it tries again).
    pub(super) fn settle_deps(&mut self, result: &Result<evcxr::EvalOutputs, evcxr::Error>, hidden_lines: usize) -> Settled {
        if self.pending_deps.is_empty() {
            return Settled::Fine;
        }
        let listed = match self.ctx.execute(":show_deps") {
            Ok(out) => out.get("text/plain").unwrap_or("").to_owned(),
            Err(_) => String::new(),
        };
        self.pending_deps.retain(|d| !fold::lists_dep(&listed, fold::dep_name(d)));
        let maybe_ours = match result {
            Ok(_) | Err(evcxr::Error::SubprocessTerminated(_)) => false,
            // evcxr reports a failed command on its line: ours are the
            // hidden lines before the cell.
            Err(evcxr::Error::CompilationErrors(errs)) => errs.iter().any(|e| {
                !e.is_from_user_code() || e.spanned_messages().iter().any(|m| m.span.as_ref().is_some_and(|s| s.start_line <= hidden_lines))
            }),
            Err(_) => true,
        };
        if self.pending_deps.is_empty() || !maybe_ours {
            return Settled::Fine;
        }
        let (child, runtime): (Vec<String>, Vec<String>) =
            std::mem::take(&mut self.pending_deps).into_iter().partition(|d| fold::dep_name(d) == "parlab-child");
        let mut settled = Settled::Fine;
        if !child.is_empty() {
            if let Err(e) = self.ctx.execute(&child.join("\n")) {
                crate::server::log(format!("could not add parlab-child ({}): {e}", child.join("; ")));
                self.init_pending = false;
                self.parlab_ready = false;
                settled = Settled::RunAgain;
            }
        }
        if !runtime.is_empty() {
            if let Err(e) = self.ctx.execute(&runtime.join("\n")) {
                self.runtime_added = false;
                return Settled::RuntimeFailed(format!("could not add parlab's runtime to the session: {e}"));
            }
        }
        settled
    }

    /// Before a cell has compiled with the prebuilt `parlab-child`, an
    /// error of rustc's about it means the rlib is unusable (built by
    /// another rustc): switches to the sources and says so; the caller runs
    /// the cell again.
    pub(super) fn child_rejected(&mut self, result: &Result<evcxr::EvalOutputs, evcxr::Error>) -> bool {
        let Err(evcxr::Error::CompilationErrors(errs)) = result else { return false };
        if self.child_checked || !matches!(self.child, ChildLink::Prebuilt { .. }) {
            return false;
        }
        let Some(e) = errs.iter().find(|e| ChildLink::rejects(&e.message())) else { return false };
        crate::server::log(format!("rustc cannot use the prebuilt parlab-child ({}); building it from source", e.message()));
        self.link_child(ChildLink::Dep { dir: runtime_dir().join("child") });
        true
    }

    /// evcxr's `:clear` drops the session's dependencies (its rustc flags
    /// stay): they are added again with the next cell that needs them.
    pub(super) fn after_clear(&mut self) {
        self.runtime_added = false;
        if let Some(dep) = self.child.dep_line() {
            self.pending_deps.retain(|d| d != &dep);
            self.pending_deps.insert(0, dep);
        }
    }
}
