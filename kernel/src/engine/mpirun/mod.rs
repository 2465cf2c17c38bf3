//! `%%mpirun`: build the cell as an MPI program, run it with mpirun, relay
//! every rank's output, and explain how it ended.
//!
//! The plan (program text, options, `:dep`/`:opt` settings) comes from
//! `parlab_magics::mpirun`; this module does the I/O:
//! [`build`] (cargo, cached), [`launch`] (mpirun, `[rank]` prefixes via
//! [`tags`]), [`report`] (errors in the user's cells).
//!
//! Interrupts: while the cell runs, [`ChildControl`] sends interrupts here
//! instead of to the evaluation process, which keeps every variable. The
//! first stop asks politely (SIGTERM to cargo's process group, or to
//! mpirun, which ends its ranks); after the grace period the whole process
//! tree is killed. mpirun and cargo run in process groups of their own,
//! and each rank asks to be killed when mpirun dies, so no rank outlives
//! the cell.

mod build;
mod launch;
mod relay_markers;
mod report;
mod tags;

use super::child::{ChildControl, ExternalStop};
use super::errors;
use crate::interpreter::{Outcome, Output};
use build::BuildError;
use parlab_magics::mpirun::MpirunPlan;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};

/// Runs a `%%mpirun` cell.
pub(crate) fn run(plan: &MpirunPlan, control: &Arc<ChildControl>, out: &Arc<dyn Output>) -> Outcome {
    let Some(mpirun) = find_mpirun() else {
        return report::mpirun_missing(&mpirun_name());
    };
    let job = Job { out: out.clone(), control: control.clone(), running: Arc::new(Mutex::new(None)) };
    control.begin_external(job.stopper());
    let outcome = execute(plan, &mpirun, &job);
    control.end_external();
    outcome
}

fn execute(plan: &MpirunPlan, mpirun: &Path, job: &Job) -> Outcome {
    let binary = match build::build(plan, job) {
        Ok(binary) => binary,
        Err(BuildError::Compile(errs)) => return report::compile_errors(&errs, &plan.program),
        Err(BuildError::Cargo(stderr)) => return report::cargo_failed(&stderr),
        Err(BuildError::Interrupted) => return report::interrupted("the build was stopped; no rank was started"),
        Err(BuildError::Io(msg)) => return errors::simple("BuildError", msg),
    };
    if job.interrupted() {
        return report::interrupted("no rank was started");
    }
    let ranks = plan.options.ranks;
    let end = match launch::launch(mpirun, &plan.options, &binary, job) {
        Ok(end) => end,
        Err(e) => return errors::simple("MpiError", format!("cannot start {}: {e}", mpirun.display())),
    };
    if !end.panics.is_empty() {
        return report::rank_panic(&end.panics, &plan.program);
    }
    match end.status {
        Ok(s) if s.success() => Outcome::Ok { result: None },
        _ if job.interrupted() => {
            let all = if ranks == 1 { "the rank was stopped".to_owned() } else { format!("all {ranks} ranks were stopped") };
            report::interrupted(&all)
        }
        Ok(s) => report::job_failed(s.code(), &end.mpirun_lines, ranks),
        Err(e) => errors::simple("MpiError", format!("waiting for mpirun: {e}")),
    }
}

fn mpirun_name() -> String {
    std::env::var("PARLAB_MPIRUN").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| "mpirun".to_owned())
}

/// `$PARLAB_MPIRUN` or `mpirun`, resolved on `PATH`.
fn find_mpirun() -> Option<PathBuf> {
    let name = mpirun_name();
    let is_exe = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if name.contains('/') {
        let p = PathBuf::from(name);
        return is_exe(&p).then_some(p);
    }
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(&name)).find(|p| is_exe(p))
}

/// Which external process the cell is waiting on.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// cargo (and the rustc processes in its group).
    Build,
    /// mpirun (whose ranks each have a process group of their own).
    Run,
}

/// One `%%mpirun` cell in progress: where output goes, and the process it
/// currently waits on, for interrupts.
pub(crate) struct Job {
    pub(crate) out: Arc<dyn Output>,
    control: Arc<ChildControl>,
    running: Arc<Mutex<Option<(i32, Stage)>>>,
}

impl Job {
    pub(crate) fn interrupted(&self) -> bool {
        self.control.interrupt_pending()
    }

    /// Starts `cmd` in a process group of its own, killed if the kernel
    /// dies, as what an interrupt stops.
    pub(crate) fn spawn(&self, cmd: &mut Command, stage: Stage) -> std::io::Result<Child> {
        cmd.process_group(0);
        // SAFETY: prctl is async-signal-safe and touches no memory.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let child = cmd.spawn()?;
        *self.running.lock().unwrap_or_else(|e| e.into_inner()) = Some((child.id() as i32, stage));
        if self.interrupted() {
            // The interrupt came while we were starting it.
            stop(&self.running, false);
        }
        Ok(child)
    }

    /// The process started by [`Job::spawn`] has been waited for.
    pub(crate) fn finished(&self) {
        *self.running.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    fn stopper(&self) -> ExternalStop {
        let running = self.running.clone();
        Arc::new(move |force| stop(&running, force))
    }
}

fn stop(running: &Mutex<Option<(i32, Stage)>>, force: bool) {
    let Some((pid, stage)) = *running.lock().unwrap_or_else(|e| e.into_inner()) else { return };
    if force {
        kill_tree(pid);
        return;
    }
    // SAFETY: signals to a process group we created and its members.
    unsafe {
        if stage == Stage::Run {
            // mpirun would end its ranks itself, but only after waiting a
            // second for them; ranks in a collective die at once.
            for rank in descendants(pid) {
                libc::kill(rank, libc::SIGTERM);
            }
        }
        // cargo and its rustc children share its group; mpirun ends its
        // ranks (on other hosts too) when it gets SIGTERM.
        libc::killpg(pid, libc::SIGTERM);
    }
}

/// SIGKILL to `pid`'s process group and to every descendant (Open MPI
/// puts each rank in a process group of its own).
fn kill_tree(pid: i32) {
    let all = descendants(pid);
    // SAFETY: signals to processes we started and their children.
    unsafe {
        libc::killpg(pid, libc::SIGKILL);
        for d in all {
            libc::kill(d, libc::SIGKILL);
        }
    }
}

/// Every process below `root`, from `/proc`.
fn descendants(root: i32) -> Vec<i32> {
    let mut parent = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // `pid (comm) state ppid …`; comm may contain spaces and parentheses.
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else { continue };
        if let Some(ppid) = after.split_whitespace().nth(1).and_then(|p| p.parse::<i32>().ok()) {
            parent.push((pid, ppid));
        }
    }
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let p = found[i];
        found.extend(parent.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    found.remove(0);
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kill_tree_reaches_grandchildren_in_other_process_groups() {
        // Like mpirun and its ranks: the grandchild leaves the group.
        let mut child = Command::new("sh")
            .args(["-c", "setsid sleep 30 & wait"])
            .process_group(0)
            .spawn()
            .expect("sh");
        let pid = child.id() as i32;
        let mut below = Vec::new();
        for _ in 0..100 {
            below = descendants(pid);
            if !below.is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(!below.is_empty(), "the sleep should be found under sh");
        kill_tree(pid);
        let _ = child.wait();
        // SIGKILL is delivered asynchronously: give each process a moment
        // to be gone (or a zombie waiting for init) before calling it alive.
        let alive = |p: i32| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .is_ok_and(|s| !s.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'))
        };
        for p in below {
            let mut tries = 0;
            while alive(p) && tries < 100 {
                std::thread::sleep(std::time::Duration::from_millis(20));
                tries += 1;
            }
            assert!(!alive(p), "process {p} survived");
        }
    }
}
