//! The evcxr-backed [`Interpreter`]: one `CommandContext`, one evaluation
//! process, and the magics planned by `parlab-magics`.
//!
//! A cell goes: `magics::plan` → (usage error | evcxr evaluation of each
//! step) → relay flush → outcome. Cells link the tiny crate
//! `parlab-child`, whose `init` prepares the process (interrupt flag, panic
//! hook, stdout relay) on the first cell — again after every restart of
//! the process (see `setup`). The runtime proper, `parlab` (with rayon), is
//! added the first time a cell needs it (a magic, or a cell naming `parlab`
//! or `rayon`): evcxr builds every cell with cargo, and each dependency
//! crate costs every later cell its check and link, so plain cells do not
//! pay for the runtime's ~20 crates until it is used. evcxr links
//! dependencies statically into each cell, so both crates publish their
//! few process-wide values once per process (see `parlab_child::interrupt`).

mod child;
mod compile_report;
mod complete;
mod errors;
mod inspect;
mod marker;
mod mpirun;
mod namespace;
mod relay;
mod setup;
mod slot;

pub(crate) use child::ChildControl;
pub(crate) use slot::refresh_seed;

use crate::interpreter::{Completions, Interpreter, Outcome, Output};
use evcxr::{CommandContext, EvalCallbacks};
use parlab_magics::{Explain, Plan, Shown};
use relay::Relay;
use serde_json::{Map, Value};
use std::sync::Arc;

pub(crate) struct EvcxrInterpreter {
    ctx: CommandContext,
    relay: Relay,
    control: Arc<ChildControl>,
    session: parlab_magics::Session,
    /// Code evaluated so far (to place panics in the user's cells).
    cells: Vec<errors::CellSource>,
    /// What the kernel folds into cells, and how the process stands.
    setup: setup::Setup,
    _slot: Option<slot::Slot>,
}

/// One evaluation of a cell: its outcome, or a set-up change that calls
/// for evaluating it again.
enum Attempt {
    Done(Outcome),
    Again,
}

/// Set-up changes a cell may cause before it gives an outcome: the
/// prebuilt `parlab-child` rejected, its `:dep` given up, a crate leaving
/// the shared library, the shared library given up. Each happens at most
/// once per session or shrinks what is shared, so this bound is never met
/// in practice; it keeps a kernel bug from looping.
const MAX_ATTEMPTS: usize = 6;

fn runtime_dir() -> std::path::PathBuf {
    let dir = std::env::var_os("PARLAB_RUNTIME_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../runtime"));
    dir.canonicalize().unwrap_or(dir)
}

impl EvcxrInterpreter {
    pub(crate) fn new(control: Arc<ChildControl>) -> anyhow::Result<Self> {
        let started = std::time::Instant::now();
        let slot = slot::acquire();
        trace_span("slot", started);
        if let Some(slot) = &slot {
            slot::prepare_next(&slot.dir);
        }
        // The shared library's sources by their real path: cargo keys a path
        // crate's build by it, so a cache reached through a symlink (or a
        // seed made through another path) would rebuild the library (10 s).
        let shared_root = slot::cache_root().join("shared");
        let _ = std::fs::create_dir_all(&shared_root);
        let shared_root = shared_root.canonicalize().unwrap_or(shared_root);
        // SAFETY: set before any other thread of ours reads the environment
        // (the engine thread is the only one touching it).
        unsafe {
            if let Some(s) = &slot {
                std::env::set_var("EVCXR_TMPDIR", &s.dir);
            }
            if let Some(path) = library_path(slot.as_ref().map(|s| s.dir.as_path())) {
                std::env::set_var("LD_LIBRARY_PATH", path);
            }
            if std::env::var_os("EVCXR_CONFIG_DIR").is_none() {
                std::env::set_var("EVCXR_CONFIG_DIR", slot::cache_root().join("evcxr-config"));
            }
            // evcxr builds cells (and their dependencies) with debug
            // assertions and overflow checks on. A performance course must
            // time the code it would ship: with them, ndarray's element-wise
            // operations run 2-4x slower than a plain loop (measured), which
            // teaches the wrong lesson. Release semantics, evcxr's opt level.
            for var in ["CARGO_PROFILE_DEV_DEBUG_ASSERTIONS", "CARGO_PROFILE_DEV_OVERFLOW_CHECKS"] {
                if std::env::var_os(var).is_none() {
                    std::env::set_var(var, "false");
                }
            }
        }
        let context = std::time::Instant::now();
        let (ctx, outputs) = CommandContext::new().map_err(|e| anyhow::anyhow!("{e}"))?;
        trace_span("evcxr context", context);
        let relay = Relay::start(outputs.stdout, outputs.stderr);
        control.attach(ctx.process_handle());
        let mut me = EvcxrInterpreter {
            ctx,
            relay,
            control,
            session: Default::default(),
            cells: Vec::new(),
            setup: setup::Setup::new(shared_root),
            _slot: slot,
        };
        let session = std::time::Instant::now();
        me.start_session();
        trace_span("session set-up", session);
        me.setup.pid = me.control.pid();
        Ok(me)
    }

    /// Evaluates one piece of code as a cell and explains how it went.
    /// Compile errors are drawn over `shown`, which `code` keeps line for
    /// line (the user's cell, part of it, or `code` itself).
    fn run(&mut self, code: &str, count: u32, explain: Explain, shown: &str, out: &Arc<dyn Output>) -> Outcome {
        if code.lines().any(|l| l.trim() == ":quit") {
            return errors::simple(
                "UsageError",
                ":quit would end the kernel's evaluation process; use the notebook's Restart Kernel instead",
            );
        }
        for _ in 0..MAX_ATTEMPTS {
            if let Attempt::Done(outcome) = self.attempt(code, count, explain, shown, out) {
                return outcome;
            }
        }
        errors::simple("Error", "the kernel could not settle how to build this cell; see the kernel log")
    }

    /// One evaluation of `user_code`, with the pending dependencies, the
    /// process set-up and the shared library's anchor folded in (see
    /// `setup`); errors and panics are placed in the user's text.
    fn attempt(&mut self, user_code: &str, count: u32, explain: Explain, shown: &str, out: &Arc<dyn Output>) -> Attempt {
        let protected = protect_paths(user_code);
        let mut build = self.session.build.clone();
        build.record_cell(user_code);
        let prepared = self.setup.prepare(&protected, &build);
        let folded = &prepared.folded;
        let code = folded.code.as_str();
        let vars_before: Vec<String> = self.ctx.variables_and_types().map(|(n, _)| n.to_owned()).collect();
        self.relay.begin(out.clone());
        self.control.begin();
        self.ctx.set_fast_rebuild(self.setup.rebuild_key(&build));
        let evaluation = std::time::Instant::now();
        let result = self.ctx.execute_with_callbacks(
            code,
            &mut EvalCallbacks { input_reader: &|req| out.input(&req.prompt, req.is_password).unwrap_or_default() },
        );
        trace_phases(evaluation.elapsed(), &result);
        let was_interrupted = self.control.end();
        let compiled = !matches!(result, Err(evcxr::Error::CompilationErrors(_)));
        self.setup.compiled(&prepared, compiled);
        let settling = std::time::Instant::now();
        let settled = self.settle(&result, &prepared, Some(out));
        trace_span("settle", settling);
        match settled {
            setup::Settled::Fine => {}
            setup::Settled::RunAgain => {
                let _ = self.relay.finish(false);
                return Attempt::Again;
            }
            setup::Settled::RuntimeFailed(message) => {
                let _ = self.relay.finish(false);
                return Attempt::Done(errors::simple("Error", message));
            }
        }
        if self.child_rejected(&result) {
            let _ = self.relay.finish(false);
            return Attempt::Again;
        }
        // The end-of-cell marker on stderr comes only if the process ran
        // something: not after a compile error, nor for a cell of evcxr
        // commands that changed nothing (evcxr then records no phase).
        let ran = match &result {
            Ok(o) => !o.phases.is_empty(),
            Err(evcxr::Error::CompilationErrors(_) | evcxr::Error::SubprocessTerminated(_)) => false,
            Err(_) => true,
        };
        let events = self.relay.finish(self.setup.ready() && ran);
        if explain != Explain::Internal {
            // evcxr puts each statement on its own line of lib.rs: panics are
            // located by the user's statements, without the set-up call.
            self.cells.push(errors::CellSource { count, generated: protected, shown: Some(shown.to_owned()), hidden_lines: 0 });
        }
        let outcome = match result {
            Ok(outputs) => {
                let main_panic = events.panics.iter().any(|p| p.main);
                if events.cell_panicked || (!self.setup.ready() && main_panic) {
                    let lib = self.ctx.last_source().unwrap_or_default();
                    errors::panic_outcome(&events.panics, &lib, &self.cells)
                } else {
                    if was_interrupted {
                        // The cell ended by itself; drop the pending flag so the
                        // next cell's loops do not stop at once.
                        let _ = self.execute_internal(&format!("{}::interrupt::clear();", self.setup.child_name()));
                        let _ = self.relay.finish(false);
                    }
                    Outcome::Ok { result: mime_map(outputs.content_by_mime_type) }
                }
            }
            Err(evcxr::Error::CompilationErrors(errs)) => {
                let explained = errs.iter().find_map(|e| parlab_magics::explain_compile_error(explain, e.code(), &e.message()));
                match explained {
                    Some(msg) => errors::simple("UsageError", msg),
                    None => errors::compile_outcome(
                        &errs,
                        &errors::CellSource {
                            count,
                            generated: code.lines().skip(folded.hidden_lines).collect::<Vec<_>>().join("\n"),
                            shown: Some(shown.to_owned()),
                            hidden_lines: folded.hidden_lines,
                        },
                    ),
                }
            }
            Err(evcxr::Error::SubprocessTerminated(detail)) => {
                if was_interrupted {
                    errors::interrupted(Some(&vars_before))
                } else {
                    errors::process_died(&detail, &vars_before, &events.panics)
                }
            }
            Err(other) => errors::simple("Error", other.to_string()),
        };
        if user_code.lines().any(|l| l.trim() == ":clear") {
            self.setup.after_clear();
            self.session.build.deps.clear();
        }
        if self.control.pid() != self.setup.pid {
            // evcxr started a new process (crash, kill, `:restart`, `:clear`).
            self.init_child();
        }
        Attempt::Done(outcome)
    }
}

/// With `PARLAB_TRACE_CELLS` set, logs how long a step of the kernel's own took.
fn trace_span(what: &str, since: std::time::Instant) {
    if std::env::var_os("PARLAB_TRACE_CELLS").is_some() {
        crate::server::log(format!("{what} {:.1} ms", since.elapsed().as_secs_f64() * 1e3));
    }
}

/// With `PARLAB_TRACE_CELLS` set, logs where an evaluation's time went:
/// evcxr's phases ("Final compile": analysis, `cargo build`, rustc, link;
/// "Execution": loading the library and running it) and the rest.
fn trace_phases(total: std::time::Duration, result: &Result<evcxr::EvalOutputs, evcxr::Error>) {
    if std::env::var_os("PARLAB_TRACE_CELLS").is_none() {
        return;
    }
    let phases = match result {
        Ok(o) => o.phases.iter().map(|p| format!("{} {:.1} ms", p.name, p.duration.as_secs_f64() * 1e3)).collect::<Vec<_>>().join(", "),
        Err(_) => "failed".to_owned(),
    };
    crate::server::log(format!("evaluation {:.1} ms: {phases}", total.as_secs_f64() * 1e3));
}

/// evcxr takes any line that starts with `:` after spaces for one of its
/// commands, which includes code like `::std::mem::drop(x);` and the
/// generated `::parlab::__private::…` calls. A leading tab is not a space
/// to evcxr's pattern and is white space to rustc.
fn protect_paths(code: &str) -> String {
    let mut out = String::with_capacity(code.len() + 8);
    for line in code.split_inclusive('\n') {
        if line.trim_start_matches(' ').starts_with("::") {
            out.push('\t');
        }
        out.push_str(line);
    }
    out
}

/// Where the evaluation process finds `libstd-*.so` and dependency dylibs.
/// Cargo's relative RUNPATH in a cell's library is computed for `deps/`
/// and is off by one level for the copy evcxr loads; under evcxr's default
/// `/tmp` directory the extra `..` happens to stop at `/`, under a build
/// slot in `~/.cache` it does not, so the paths are given explicitly.
fn library_path(slot: Option<&std::path::Path>) -> Option<std::ffi::OsString> {
    let out = std::process::Command::new("rustc").args(["--print", "sysroot"]).output().ok()?;
    let sysroot = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    let out = std::process::Command::new("rustc").arg("-vV").output().ok()?;
    let info = String::from_utf8(out.stdout).ok()?;
    let host = info.lines().find_map(|l| l.strip_prefix("host: "))?.trim().to_owned();
    let mut dirs = vec![std::path::PathBuf::from(&sysroot).join("lib/rustlib").join(&host).join("lib")];
    if let Some(slot) = slot {
        dirs.push(slot.join("target").join(&host).join("debug/deps"));
    }
    if let Some(existing) = std::env::var_os("LD_LIBRARY_PATH") {
        dirs.extend(std::env::split_paths(&existing));
    }
    std::env::join_paths(dirs).ok()
}

fn mime_map(content: std::collections::HashMap<String, String>) -> Option<Map<String, Value>> {
    // A cell ending in a `()` value (a `for` loop, `println!`) has no
    // result, as a Python statement has none.
    // Nor does a command with nothing to say (`:vars` in a new session).
    if content.values().all(|t| t.is_empty()) || (content.len() == 1 && content.get("text/plain").is_some_and(|t| t == "()")) {
        return None;
    }
    let mut map = Map::new();
    for (mime, text) in content {
        let value = if mime.contains("json") {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        } else {
            Value::String(text)
        };
        map.insert(mime, value);
    }
    if !map.contains_key("text/plain") {
        map.insert("text/plain".into(), Value::String(String::new()));
    }
    Some(map)
}

impl Interpreter for EvcxrInterpreter {
    fn execute(&mut self, code: &str, count: u32, _silent: bool, out: Arc<dyn Output>) -> Outcome {
        self.session.execution_count = count;
        self.session.cell_started_unix_ns = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let cell_started = std::time::Instant::now();
        let plan = match parlab_magics::plan(code, &self.session) {
            Ok(plan) => plan,
            Err(usage) => return errors::simple("UsageError", usage.message),
        };
        if plan.needs_runtime() {
            self.setup.add_runtime();
        }
        let outcome = match plan {
            Plan::Nothing => Outcome::Ok { result: None },
            // Help, %lsmagic, %who: answered here, nothing is defined.
            p @ (Plan::Page(_) | Plan::Inspect { .. } | Plan::Lsmagic | Plan::Who { .. }) => return self.convenience(p, count, &out),
            // A separate program: the session's items are not touched.
            Plan::Mpirun(p) => return mpirun::run(&p, &self.control, &out),
            Plan::Steps(steps) => {
                let mut first_error = None;
                let mut last = Outcome::Ok { result: None };
                for step in steps {
                    if first_error.is_some() && !step.always {
                        continue;
                    }
                    let shown = match &step.shown {
                        Shown::Cell => code,
                        Shown::Text(text) => text,
                        Shown::Generated => &step.code,
                    };
                    let o = self.run(&step.code, count, step.explain, shown, &out);
                    match o {
                        Outcome::Error { .. } if first_error.is_none() => first_error = Some(o),
                        Outcome::Error { .. } => {}
                        ok => {
                            if !step.always {
                                last = ok;
                            }
                        }
                    }
                }
                first_error.unwrap_or(last)
            }
        };
        trace_span("cell", cell_started);
        // A cell that compiled and then panicked keeps its items in evcxr.
        if matches!(&outcome, Outcome::Ok { .. }) || matches!(&outcome, Outcome::Error { ename, .. } if ename == "panic") {
            self.session.commit(code);
        }
        outcome
    }

    fn complete(&mut self, code: &str, cursor: usize) -> Completions {
        self.complete_at(code, cursor)
    }

    fn inspect(&mut self, code: &str, cursor: usize) -> Option<Map<String, Value>> {
        self.inspect_at(code, cursor)
    }

    fn shutdown(&mut self) {
        use crate::interpreter::Interrupter;
        self.control.terminate();
    }
}
