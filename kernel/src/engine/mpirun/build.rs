//! Building a `%%mpirun` program with cargo, once per distinct program.
//!
//! Layout under `<cache>/mpirun/` (`<cache>` is `~/.cache/parlab` or
//! `$PARLAB_CACHE_DIR`):
//!
//! - `project/` — one cargo project whose `src/main.rs` is rewritten for
//!   each cell; its `Cargo.lock` starts as a copy of the workspace's, so
//!   parlab's dependencies resolve to the versions the kernel was tested
//!   with.
//! - `target/` — shared by every cell and every kernel: a new cell
//!   recompiles only `main.rs`, not mpi or parlab's dependencies. One cargo
//!   profile per optimisation level (`parlab-o2`, …) keeps `:opt 0` from
//!   invalidating the release build.
//! - `bin/parlab-mpi-<hash>` — the finished binaries, keyed by everything
//!   that goes into them. Running the same cell again finds its binary and
//!   does not start cargo at all.
//! - `.lock` — held (flock) while building, so concurrent kernels take
//!   turns in `project/`.

use super::{Job, Stage};
use parlab_magics::mpirun::MpirunPlan;
use serde::Deserialize;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader, Read};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// Binaries kept in `bin/`; older ones are deleted.
const KEEP_BINARIES: usize = 32;

/// Why there is no binary.
pub(crate) enum BuildError {
    /// rustc's errors about the program (its `rendered` text and message).
    Compile(Vec<Diagnostic>),
    /// cargo failed otherwise (a dependency's build script, the network);
    /// its stderr.
    Cargo(String),
    Interrupted,
    Io(String),
}

/// One rustc error, as cargo's JSON reports it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Diagnostic {
    pub(crate) message: String,
    pub(crate) level: String,
    pub(crate) rendered: Option<String>,
}

#[derive(Deserialize)]
struct CargoMessage {
    reason: String,
    #[serde(default)]
    target: Option<CargoTarget>,
    #[serde(default)]
    message: Option<Diagnostic>,
}

#[derive(Deserialize)]
struct CargoTarget {
    name: String,
}

const BIN_NAME: &str = "parlab-mpi";

pub(crate) fn cache_dir() -> PathBuf {
    super::super::slot::cache_root().join("mpirun")
}

/// The binary for `plan`, building it if no earlier cell did.
pub(crate) fn build(plan: &MpirunPlan, job: &Job) -> Result<PathBuf, BuildError> {
    let dir = cache_dir();
    let io = |e: std::io::Error| BuildError::Io(format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(dir.join("project/src")).map_err(io)?;
    std::fs::create_dir_all(dir.join("bin")).map_err(io)?;
    let runtime = super::super::runtime_dir();
    let profile = format!("parlab-o{}", plan.settings.cargo_opt_level());
    let manifest = cargo_toml(plan, &runtime, &profile);
    let binary = dir.join("bin").join(format!("{BIN_NAME}-{:016x}", fingerprint(&manifest, &plan.program.main_rs, &runtime)));
    if binary.exists() {
        return Ok(binary);
    }
    let _lock = lock(&dir.join(".lock"), job)?;
    if binary.exists() {
        return Ok(binary); // another kernel built it while we waited
    }
    let project = dir.join("project");
    write_if_changed(&project.join("Cargo.toml"), &manifest).map_err(io)?;
    write_if_changed(&project.join("src/main.rs"), &plan.program.main_rs).map_err(io)?;
    let lock_file = project.join("Cargo.lock");
    if !lock_file.exists() {
        // Best effort: without it cargo resolves the newest versions.
        let _ = std::fs::copy(runtime.join("../Cargo.lock"), &lock_file);
    }
    let target = dir.join("target");
    if !first_build_done(&target.join(&profile)) {
        job.out.stream(
            "stderr",
            "Building the MPI program: the first build also compiles the mpi crate and parlab's \
             dependencies (one to two minutes on 2 cores); later cells reuse them.\n",
        );
    }
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.args(["build", "--message-format=json", "--profile", &profile, "--manifest-path"])
        .arg(project.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .env("CARGO_TERM_COLOR", "never")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = job.spawn(&mut cmd, Stage::Build).map_err(|e| BuildError::Io(format!("cannot run cargo: {e}")))?;
    let stderr = child.stderr.take().expect("piped");
    let stderr_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = BufReader::new(stderr).read_to_string(&mut text);
        text
    });
    let mut errors = Vec::new();
    for line in BufReader::new(child.stdout.take().expect("piped")).lines().map_while(Result::ok) {
        let Ok(msg) = serde_json::from_str::<CargoMessage>(&line) else { continue };
        let ours = msg.target.as_ref().is_some_and(|t| t.name == BIN_NAME);
        if let (true, "compiler-message", Some(d)) = (ours, msg.reason.as_str(), msg.message) {
            if d.level == "error" && !d.message.starts_with("aborting due to") {
                errors.push(d);
            }
        }
    }
    let status = child.wait();
    job.finished();
    let stderr = stderr_reader.join().unwrap_or_default();
    if job.interrupted() {
        return Err(BuildError::Interrupted);
    }
    match status {
        Ok(s) if s.success() => {}
        _ if !errors.is_empty() => return Err(BuildError::Compile(errors)),
        _ => return Err(BuildError::Cargo(stderr)),
    }
    let built = target.join(&profile).join(BIN_NAME);
    let partial = binary.with_extension("partial");
    std::fs::copy(&built, &partial).map_err(io)?;
    std::fs::rename(&partial, &binary).map_err(io)?;
    prune(&dir.join("bin"));
    Ok(binary)
}

/// The program's manifest: mpi, parlab with its `mpi` feature, the
/// notebook's `:dep` crates, and the profile for the session's `:opt`.
fn cargo_toml(plan: &MpirunPlan, runtime: &Path, profile: &str) -> String {
    let mut deps = String::new();
    for (name, spec) in &plan.settings.deps {
        deps.push_str(&format!("{name} = {spec}\n"));
    }
    let level = plan.settings.cargo_opt_level();
    let level = if level.parse::<u8>().is_ok() { level.to_owned() } else { format!("{level:?}") };
    format!(
        r#"# Generated by parlab for %%mpirun cells; rewritten for each cell.
[package]
name = "parlab-mpi-program"
version = "0.0.0"
edition = "2021"
publish = false

[[bin]]
name = "{BIN_NAME}"
path = "src/main.rs"

[dependencies]
mpi = {{ version = "0.8", default-features = false, features = ["derive"] }}
parlab = {{ path = {runtime:?}, features = ["mpi"] }}
{deps}
[profile.{profile}]
inherits = "release"
opt-level = {level}
debug = false

# Not part of any enclosing workspace.
[workspace]
"#,
        runtime = runtime.display().to_string(),
    )
}

/// Everything a binary depends on: its manifest and source, the runtime's
/// sources (edited while developing parlab) and the compiler.
fn fingerprint(manifest: &str, main_rs: &str, runtime: &Path) -> u64 {
    static RUSTC: OnceLock<String> = OnceLock::new();
    let rustc = RUSTC.get_or_init(|| {
        Command::new("rustc").arg("-vV").output().map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default()
    });
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (manifest, main_rs, rustc).hash(&mut h);
    newest_mtime(runtime).hash(&mut h);
    h.finish()
}

/// The newest modification time (ns) of `Cargo.toml` and `src/**` under
/// `dir`.
fn newest_mtime(dir: &Path) -> u128 {
    fn stamp(p: &Path) -> u128 {
        std::fs::metadata(p)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos())
    }
    fn walk(dir: &Path, newest: &mut u128) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, newest);
            } else {
                *newest = (*newest).max(stamp(&p));
            }
        }
    }
    let mut newest = stamp(&dir.join("Cargo.toml"));
    walk(&dir.join("src"), &mut newest);
    newest
}

/// Whether this profile's target directory already has mpi compiled.
fn first_build_done(profile_dir: &Path) -> bool {
    std::fs::read_dir(profile_dir.join("deps"))
        .map(|entries| entries.flatten().any(|e| e.file_name().to_string_lossy().starts_with("libmpi-")))
        .unwrap_or(false)
}

fn write_if_changed(path: &Path, text: &str) -> std::io::Result<()> {
    // An unchanged main.rs keeps its mtime, so cargo has nothing to do.
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    std::fs::write(path, text)
}

/// Takes the build lock, polling so an interrupt can end the wait.
fn lock(path: &Path, job: &Job) -> Result<File, BuildError> {
    let file = File::create(path).map_err(|e| BuildError::Io(format!("{}: {e}", path.display())))?;
    let mut waited = false;
    loop {
        // SAFETY: flock on a file we own.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(file);
        }
        if job.interrupted() {
            return Err(BuildError::Interrupted);
        }
        if !waited {
            job.out.stream("stderr", "Waiting for another kernel's %%mpirun build to finish…\n");
            waited = true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Deletes all but the newest [`KEEP_BINARIES`] binaries.
fn prune(bin: &Path) {
    let Ok(entries) = std::fs::read_dir(bin) else { return };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    if files.len() <= KEEP_BINARIES {
        return;
    }
    files.sort();
    for (_, path) in &files[..files.len() - KEEP_BINARIES] {
        let _ = std::fs::remove_file(path);
    }
}
