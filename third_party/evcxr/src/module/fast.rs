// parlab's patch of evcxr 0.22 (see third_party/README.md): the fast
// rebuild of a cell.
//
// `cargo build` of a cell costs ~0.3 s on a 2-core machine, of which the
// rustc command for the cell itself is ~0.16 s (measured on a session with
// the runtime loaded): cargo spends the rest loading the lock file and
// checking every dependency's fingerprint, although between two cells
// only `src/lib.rs` has changed. So once cargo has built a cell, its rustc
// command is recorded (cargo runs it through this executable as its
// `RUSTC_WORKSPACE_WRAPPER`, which applies to the cell's crate only), and
// the next cells rerun that command directly, as long as everything cargo
// would look at is unchanged: `Cargo.toml`, `Cargo.lock`,
// `.cargo/config.toml`, the cargo command's arguments and environment,
// this process's environment, and a key the embedder gives
// (`set_fast_rebuild`) for what only it knows, such as the sources of
// path dependencies. Anything else, or any failure that is not a
// compile error of the cell, goes back to cargo.

use crate::code_block::CodeBlock;
use crate::errors::CompilationError;
use anyhow::Result;
use serde::Deserialize;
use serde::Serialize;
use std::collections::hash_map::DefaultHasher;
use std::hash::Hash;
use std::hash::Hasher;
use std::path::Path;
use std::path::PathBuf;
use std::process::Command;

/// Set (to a file's path) on the cargo command of a cell build: the
/// wrapper writes the cell's rustc command there.
pub(crate) const RECORD_ENV: &str = "EVCXR_RECORD_RUSTC";
/// Where, in the crate's directory.
pub(crate) const RECORD_FILE: &str = ".evcxr-rustc-command.json";

/// A cell's rustc command as cargo ran it.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub(crate) struct Recorded {
    rustc: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    cwd: PathBuf,
}

impl Recorded {
    /// In the wrapper: the command it is about to run, with the
    /// environment cargo gave it (less the wrapper's own variables).
    pub(crate) fn from_wrapper(command: &Command) -> Option<Recorded> {
        let rustc = command.get_program().to_str()?.to_owned();
        let args = command
            .get_args()
            .map(|a| a.to_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()?;
        let env = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            // Not the wrapper's own variables, nor cargo's jobserver,
            // whose file descriptors end with the cargo process.
            .filter(|(k, _)| {
                ![
                    RECORD_ENV,
                    crate::runtime::WRAP_RUSTC_ENV,
                    "RUSTC_WORKSPACE_WRAPPER",
                    "CARGO_MAKEFLAGS",
                    "MAKEFLAGS",
                    "MFLAGS",
                ]
                .contains(&k.as_str())
            })
            .collect();
        Some(Recorded {
            rustc,
            args,
            env,
            cwd: std::env::current_dir().ok()?,
        })
    }

    fn arg_after(&self, flag: &str) -> Option<&str> {
        let at = self.args.iter().position(|a| a == flag)?;
        self.args.get(at + 1).map(String::as_str)
    }

    /// The library rustc writes: `<--out-dir>/libctx.so`.
    fn output(&self) -> Option<PathBuf> {
        let out_dir = self.arg_after("--out-dir")?;
        Some(Path::new(out_dir).join(super::shared_object_name_from_crate_name(
            super::CRATE_NAME,
        )))
    }

    /// Every `--extern` file still there (a `cargo clean`, or an
    /// out-of-band rebuild, sends the cell back to cargo).
    fn externs_exist(&self) -> bool {
        let mut args = self.args.iter();
        while let Some(arg) = args.next() {
            if arg == "--extern" {
                let Some(spec) = args.next() else {
                    return false;
                };
                if let Some((_, path)) = spec.split_once('=') {
                    if !Path::new(path).exists() {
                        return false;
                    }
                }
            }
        }
        true
    }
}

/// The recorded command, valid while `key` is what `key()` returns.
pub(crate) struct FastBuild {
    key: u64,
    recorded: Recorded,
}

/// What the fast path gave.
pub(crate) enum Outcome {
    Built(PathBuf),
    Errors(Vec<CompilationError>),
    /// Not usable now: build with cargo.
    Cargo,
}

/// Everything cargo would look at besides `src/lib.rs`, hashed. `None`
/// when the embedder has not turned the fast path on.
pub(crate) fn key(embedder_key: Option<&str>, crate_dir: &Path, cargo: &Command) -> Option<u64> {
    let embedder_key = embedder_key?;
    let mut h = DefaultHasher::new();
    embedder_key.hash(&mut h);
    for file in ["Cargo.toml", "Cargo.lock", ".cargo/config.toml"] {
        file.hash(&mut h);
        std::fs::read(crate_dir.join(file)).ok().hash(&mut h);
    }
    cargo.get_program().hash(&mut h);
    for arg in cargo.get_args() {
        arg.hash(&mut h);
    }
    let mut envs: Vec<_> = cargo.get_envs().collect();
    envs.sort();
    envs.hash(&mut h);
    let mut own: Vec<_> = std::env::vars_os().collect();
    own.sort();
    own.hash(&mut h);
    Some(h.finish())
}

impl FastBuild {
    /// After cargo built the cell with `RECORD_ENV` set: the command the
    /// wrapper recorded.
    pub(crate) fn read(record_file: &Path, key: u64) -> Option<FastBuild> {
        let text = std::fs::read(record_file).ok()?;
        let recorded: Recorded = serde_json::from_slice(&text).ok()?;
        recorded.output()?;
        Some(FastBuild { key, recorded })
    }

    pub(crate) fn run(&self, key: u64, code_block: &CodeBlock) -> Result<Outcome> {
        if key != self.key || !self.recorded.externs_exist() {
            return Ok(Outcome::Cargo);
        }
        let Some(so) = self.recorded.output() else {
            return Ok(Outcome::Cargo);
        };
        let r = &self.recorded;
        let output = Command::new(&r.rustc)
            .args(&r.args)
            .env_clear()
            .envs(r.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&r.cwd)
            .output()?;
        if output.status.success() && so.exists() {
            return Ok(Outcome::Built(so));
        }
        // rustc's own JSON diagnostics (`--error-format=json`): the same
        // messages cargo wraps, which `CompilationError` reads either way.
        let errors: Vec<CompilationError> = String::from_utf8_lossy(&output.stderr)
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .filter_map(|json| CompilationError::opt_new(json, code_block))
            .collect();
        if !errors.iter().any(|e| e.level == "error") {
            Ok(Outcome::Cargo)
        } else {
            Ok(Outcome::Errors(errors))
        }
    }
}

/// In the wrapper, after rustc succeeded for the cell's crate: write the
/// command where the cargo command asked.
pub(crate) fn record_if_asked(command: &Command) -> Result<()> {
    let Some(file) = std::env::var_os(RECORD_ENV) else {
        return Ok(());
    };
    if let Some(recorded) = Recorded::from_wrapper(command) {
        std::fs::write(file, serde_json::to_vec(&recorded)?)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(args: &[&str]) -> Recorded {
        Recorded {
            rustc: "rustc".into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            env: vec![("CARGO_PKG_NAME".into(), "ctx".into())],
            cwd: "/".into(),
        }
    }

    #[test]
    fn the_output_is_the_out_dirs_library() {
        let r = recorded(&["--crate-name", "ctx", "--out-dir", "/t/deps"]);
        assert_eq!(
            r.output(),
            Some(PathBuf::from(format!(
                "/t/deps/{}",
                super::super::shared_object_name_from_crate_name("ctx")
            )))
        );
        assert_eq!(recorded(&["--crate-name", "ctx"]).output(), None);
    }

    #[test]
    fn a_missing_extern_sends_the_cell_to_cargo() {
        assert!(recorded(&["--extern", "std"]).externs_exist());
        assert!(!recorded(&["--extern", "x=/no/such/libx.so"]).externs_exist());
    }

    #[test]
    fn a_record_round_trips_through_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(RECORD_FILE);
        let r = recorded(&["--out-dir", "/t/deps"]);
        std::fs::write(&file, serde_json::to_vec(&r).unwrap()).unwrap();
        let fast = FastBuild::read(&file, 7).unwrap();
        assert_eq!(fast.recorded, r);
        assert_eq!(fast.key, 7);
    }

    #[test]
    fn the_key_follows_the_manifest_and_the_embedders_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Cargo.toml"), "[package]").unwrap();
        let cargo = Command::new("cargo");
        assert_eq!(key(None, dir.path(), &cargo), None);
        let a = key(Some("k"), dir.path(), &cargo).unwrap();
        assert_eq!(key(Some("k"), dir.path(), &cargo), Some(a));
        assert_ne!(key(Some("k2"), dir.path(), &cargo), Some(a));
        std::fs::write(dir.path().join("Cargo.toml"), "[package]\n").unwrap();
        assert_ne!(key(Some("k"), dir.path(), &cargo), Some(a));
    }
}
