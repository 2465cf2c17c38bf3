//! `parlab-kernel install`: writes the kernelspec Jupyter uses to start us.

use anyhow::{bail, Context, Result};
use serde_json::json;
use std::path::PathBuf;

/// Where to install, as `jupyter kernelspec install` spells it.
#[derive(Debug, PartialEq)]
pub(crate) enum Target {
    User,
    Prefix(PathBuf),
    SysPrefix,
}

pub(crate) fn parse_args(args: &[String]) -> Result<Target> {
    let mut target = Target::User;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        target = match a.as_str() {
            "--user" => Target::User,
            "--sys-prefix" => Target::SysPrefix,
            "--prefix" => Target::Prefix(it.next().context("--prefix needs a directory")?.into()),
            s if s.starts_with("--prefix=") => Target::Prefix(s["--prefix=".len()..].into()),
            other => bail!("unknown install option {other:?} (use --user, --prefix DIR or --sys-prefix)"),
        };
    }
    Ok(target)
}

fn data_dir(target: &Target) -> Result<PathBuf> {
    Ok(match target {
        Target::User => match std::env::var_os("JUPYTER_DATA_DIR") {
            Some(d) => PathBuf::from(d),
            None => PathBuf::from(std::env::var_os("HOME").context("HOME is not set")?).join(".local/share/jupyter"),
        },
        Target::Prefix(p) => p.join("share/jupyter"),
        Target::SysPrefix => {
            let prefix = match std::env::var_os("VIRTUAL_ENV") {
                Some(v) => PathBuf::from(v),
                None => {
                    let out = std::process::Command::new("python3")
                        .args(["-c", "import sys; print(sys.prefix)"])
                        .output()
                        .context("--sys-prefix needs python3 to find sys.prefix")?;
                    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
                }
            };
            prefix.join("share/jupyter")
        }
    })
}

/// The kernelspec. `interrupt_mode` is `message`: the client sends
/// `interrupt_request` on control and the kernel interrupts the evaluation
/// process itself (see `engine::child`).
pub(crate) fn kernel_json(exe: &str, runtime_dir: &str) -> serde_json::Value {
    json!({
        "argv": [exe, "--connection-file", "{connection_file}"],
        "display_name": "Rust (parlab)",
        "language": "rust",
        "interrupt_mode": "message",
        "env": {"PARLAB_RUNTIME_DIR": runtime_dir},
        "metadata": {"debugger": false},
    })
}

pub(crate) fn install(args: &[String]) -> Result<()> {
    let target = parse_args(args)?;
    let dir = data_dir(&target)?.join("kernels/parlab");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let exe = std::env::current_exe()?.canonicalize()?;
    let runtime = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../runtime");
    let runtime = runtime.canonicalize().unwrap_or(runtime);
    let spec = kernel_json(&exe.display().to_string(), &runtime.display().to_string());
    std::fs::write(dir.join("kernel.json"), serde_json::to_string_pretty(&spec)?)?;
    println!("Installed kernelspec parlab in {}", dir.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        assert_eq!(parse_args(&[]).unwrap(), Target::User);
        assert_eq!(parse_args(&["--prefix".into(), "/x".into()]).unwrap(), Target::Prefix("/x".into()));
        assert_eq!(parse_args(&["--sys-prefix".into()]).unwrap(), Target::SysPrefix);
        assert!(parse_args(&["--bogus".into()]).is_err());
    }

    #[test]
    fn kernel_json_has_no_nulls() {
        let j = kernel_json("/bin/k", "/r").to_string();
        assert!(!j.contains("null"));
        assert!(j.contains("\"language\":\"rust\""));
    }
}
