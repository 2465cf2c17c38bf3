// Copyright 2020 The Evcxr Authors.
//
// Licensed under the Apache License, Version 2.0 <LICENSE or
// https://www.apache.org/licenses/LICENSE-2.0> or the MIT license <LICENSE
// or https://opensource.org/licenses/MIT>, at your option. This file may not be
// copied, modified, or distributed except according to those terms.

use crate::eval_context::Config;
use anyhow::Context;
use anyhow::Result;
use anyhow::bail;
use once_cell::sync::Lazy;
use regex::Regex;
use serde_json::Value;
use std::collections::HashMap;

/// Returns the library names for the direct dependencies of the crate rooted at
/// the specified path.
pub(crate) fn get_library_names(config: &Config) -> Result<Vec<String>> {
    let _cargo = crate::cargo_lock::hold();
    let output = config
        .cargo_command("metadata")
        .arg("--format-version")
        .arg("1")
        .output()
        .with_context(|| "Error running cargo metadata")?;
    if output.status.success() {
        library_names_from_metadata(std::str::from_utf8(&output.stdout)?)
    } else {
        bail!(
            "cargo metadata failed with output:\n{}{}",
            std::str::from_utf8(&output.stdout)?,
            std::str::from_utf8(&output.stderr)?,
        )
    }
}

pub(crate) fn validate_dep(dep: &str, dep_config: &str, config: &Config) -> Result<()> {
    // parlab's patch: the stand-in manifest goes in a directory of its
    // own, `evcxr-validate-dep/` in the crate directory, with a `path` made
    // absolute against the crate directory. evcxr wrote it over the
    // crate's `Cargo.toml`, where a background analysis could load it, and
    // its `cargo metadata` rewrote the session's lock file for the
    // stand-in's one dependency, so the next build resolved every crate of
    // the session again, with a round trip to the registry's index each.
    let dir = config.crate_dir().join(VALIDATION_DIR);
    std::fs::create_dir_all(&dir)?;
    let dep_config = absolute_path_in(dep_config, config.crate_dir());
    // parlab's patch: a validation that passed is recorded, and not run
    // again for the same key. Each is a `cargo metadata` that resolves the
    // dependency's whole tree: 0.3–0.7 s alone, 1.5–2 s while another
    // kernel's analysis runs, three of them for a first runtime cell. The
    // record travels with a slot's seed (parlab's `engine/slot.rs`).
    let key = validation_key(dep, &dep_config, config);
    let record = dir.join(VALIDATED);
    if std::fs::read_to_string(&record).is_ok_and(|text| text.lines().any(|line| line == key)) {
        return Ok(());
    }
    validate_dep_in(dep, &dep_config, config, &dir)?;
    use std::io::Write;
    // A lost record only costs the next validation.
    if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(&record) {
        let _ = writeln!(file, "{key}");
    }
    Ok(())
}

/// parlab's patch: the directory, in the crate directory, where `:dep`s
/// are validated, and where the record of [`VALIDATED`] ones is kept. A
/// copy of a warm crate directory carries it along.
pub const VALIDATION_DIR: &str = "evcxr-validate-dep";

/// The file, in [`VALIDATION_DIR`], of validations that passed: a key per line.
pub const VALIDATED: &str = "validated";

/// What a validation's outcome depends on, on one line: the dependency,
/// its configuration (paths absolute), the cargo that checked it and the
/// offline mode, and for a path dependency its manifest's contents (which
/// name the package). A path crate's own dependencies are not in the key:
/// a change there that breaks resolution is reported by the build instead.
fn validation_key(dep: &str, dep_config: &str, config: &Config) -> String {
    let manifest = manifest_path_of(dep_config)
        .and_then(|path| std::fs::read(path).ok())
        .map_or(0, |bytes| fnv1a(&bytes));
    format!(
        "{dep}\t{}\t{}\t{}\t{manifest:016x}",
        dep_config.replace(['\n', '\t'], " "),
        config.cargo_path.display(),
        config.offline_mode,
    )
}

/// `<path>/Cargo.toml` of a `{ path = "…" }` configuration.
fn manifest_path_of(dep_config: &str) -> Option<std::path::PathBuf> {
    let table = spec_table(dep_config)?;
    let path = table.get("path")?.as_str()?;
    Some(std::path::Path::new(path).join("Cargo.toml"))
}

/// A dependency's configuration as a table, if it is one (`{ … }`, not a
/// bare version string).
fn spec_table(dep_config: &str) -> Option<toml::map::Map<String, toml::Value>> {
    match toml::from_str::<toml::Value>(&format!("dep = {dep_config}")).ok()?.get("dep")? {
        toml::Value::Table(table) => Some(table.clone()),
        _ => None,
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// `dep_config` with a relative `path = "…"` made absolute against `base`
/// (as cargo reads it from a manifest in `base`).
fn absolute_path_in(dep_config: &str, base: &std::path::Path) -> String {
    let Some(mut table) = spec_table(dep_config) else {
        return dep_config.to_owned();
    };
    let Some(toml::Value::String(path)) = table.get("path") else {
        return dep_config.to_owned();
    };
    if std::path::Path::new(path).is_absolute() {
        return dep_config.to_owned();
    }
    let absolute = base.join(path).to_string_lossy().into_owned();
    table.insert("path".to_owned(), toml::Value::String(absolute));
    inline(&toml::Value::Table(table))
}

/// A value in TOML's inline syntax (a table as `{ k = v, … }`).
fn inline(value: &toml::Value) -> String {
    match value {
        toml::Value::Table(table) => {
            let fields: Vec<String> =
                table.iter().map(|(k, v)| format!("{k} = {}", inline(v))).collect();
            format!("{{ {} }}", fields.join(", "))
        }
        toml::Value::Array(items) => {
            let items: Vec<String> = items.iter().map(inline).collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod parlab_tests {
    use super::absolute_path_in;
    use super::manifest_path_of;
    use std::path::Path;

    #[test]
    fn a_validation_that_passed_is_not_run_again() {
        let dir = std::env::temp_dir().join(format!("evcxr-validated-{}", std::process::id()));
        let crate_dir = dir.join("crate");
        let dep_dir = dir.join("mine");
        std::fs::create_dir_all(dep_dir.join("src")).unwrap();
        std::fs::create_dir_all(&crate_dir).unwrap();
        let manifest = "[package]\nname = \"mine\"\nversion = \"0.1.0\"\nedition = \"2021\"\n";
        std::fs::write(dep_dir.join("Cargo.toml"), manifest).unwrap();
        std::fs::write(dep_dir.join("src/lib.rs"), "").unwrap();
        let mut config = crate::eval_context::Config::new(dir.join("crate"), "/bin/false".into()).unwrap();
        config.offline_mode = true;
        let spec = r#"{ path = "../mine" }"#;
        super::validate_dep("mine", spec, &config).unwrap();
        let record = crate_dir.join(super::VALIDATION_DIR).join(super::VALIDATED);
        assert_eq!(std::fs::read_to_string(&record).unwrap().lines().count(), 1);
        // The recorded key answers without a validation: no stand-in manifest is written.
        let stand_in = crate_dir.join(super::VALIDATION_DIR).join("Cargo.toml");
        std::fs::remove_file(&stand_in).unwrap();
        super::validate_dep("mine", spec, &config).unwrap();
        assert!(!stand_in.exists());
        // Another manifest is another key: cargo runs again.
        std::fs::write(dep_dir.join("Cargo.toml"), manifest.replace("0.1.0", "0.2.0")).unwrap();
        super::validate_dep("mine", spec, &config).unwrap();
        assert!(stand_in.exists());
        assert_eq!(std::fs::read_to_string(&record).unwrap().lines().count(), 2);
        // A failed validation (the package is `mine`) is not recorded.
        assert!(super::validate_dep("other", spec, &config).is_err());
        assert_eq!(std::fs::read_to_string(&record).unwrap().lines().count(), 2);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_path_dependency_keys_its_validation_on_its_manifest() {
        assert_eq!(
            manifest_path_of(r#"{ path = "/x/mine", features = ["a"] }"#).unwrap(),
            Path::new("/x/mine/Cargo.toml")
        );
        assert_eq!(manifest_path_of(r#""1""#), None);
        assert_eq!(manifest_path_of(r#"{ version = "1" }"#), None);
    }

    #[test]
    fn a_relative_path_is_made_absolute_against_the_crate_directory() {
        let base = Path::new("/slot");
        assert_eq!(
            absolute_path_in(r#"{ path = "../mine", features = ["a"] }"#, base),
            r#"{ features = ["a"], path = "/slot/../mine" }"#
        );
        assert_eq!(absolute_path_in(r#"{ path = "/abs" }"#, base), r#"{ path = "/abs" }"#);
        assert_eq!(absolute_path_in(r#""1""#, base), r#""1""#);
        assert_eq!(
            absolute_path_in(r#"{ version = "1", features = ["rt"] }"#, base),
            r#"{ version = "1", features = ["rt"] }"#
        );
    }
}

fn validate_dep_in(
    dep: &str,
    dep_config: &str,
    config: &Config,
    dir: &std::path::Path,
) -> Result<()> {
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            r#"
    [package]
    name = "evcxr_dummy_validate_dep"
    version = "0.0.1"
    edition = "2024"

    [lib]
    path = "lib.rs"

    [dependencies]
    {dep} = {dep_config}
    "#
        ),
    )?;
    let mut cmd = config.cargo_command("metadata");
    let output = {
        let _cargo = crate::cargo_lock::hold();
        cmd.current_dir(dir).arg("--format-version=1").output()?
    };
    if output.status.success() {
        static NO_LIB_PATTERN: Lazy<Regex> = Lazy::new(|| {
            Regex::new("ignoring invalid dependency `(.*)` which is missing a lib target").unwrap()
        });
        let stderr = String::from_utf8_lossy(&output.stderr);
        if let Some(captures) = NO_LIB_PATTERN.captures(&stderr) {
            bail!("Dependency `{}` is missing a lib target", &captures[1]);
        }
        Ok(())
    } else {
        static IGNORED_LINES_PATTERN: Lazy<Regex> =
            Lazy::new(|| Regex::new("required by package `evcxr_dummy_validate_dep.*").unwrap());
        static PRIMARY_ERROR_PATTERN: Lazy<Regex> =
            Lazy::new(|| Regex::new("(.*) as a dependency of package `[^`]*`").unwrap());
        let mut message = Vec::new();
        let mut suggest_offline_mode = false;
        for line in String::from_utf8_lossy(&output.stderr).lines() {
            if let Some(captures) = PRIMARY_ERROR_PATTERN.captures(line) {
                message.push(captures[1].to_string());
            } else if !IGNORED_LINES_PATTERN.is_match(line) {
                message.push(line.to_owned());
            }

            if line.contains("failed to fetch `https://github.com/rust-lang/crates.io-index`") {
                suggest_offline_mode = true;
            }
        }

        if suggest_offline_mode {
            message.push("\nTip: Enable offline mode with `:offline 1`".to_owned());
        }
        bail!(message.join("\n"));
    }
}

fn library_names_from_metadata(metadata: &str) -> Result<Vec<String>> {
    let metadata: Value = serde_json::from_str(metadata)?;
    let mut direct_dependencies = Vec::new();
    let mut crate_to_library_names = HashMap::new();
    if let (Value::Array(packages), Some(main_crate_id)) = (
        &metadata["packages"],
        metadata["workspace_members"][0].as_str(),
    ) {
        for package in packages {
            if let (Some(package_name), Some(id)) =
                (package["name"].as_str(), package["id"].as_str())
            {
                if id == main_crate_id
                    && let Value::Array(dependencies) = &package["dependencies"]
                {
                    for dependency in dependencies {
                        if let Some(dependency_name) = dependency["name"].as_str() {
                            direct_dependencies.push(dependency_name);
                        }
                    }
                }
                if let Value::Array(targets) = &package["targets"] {
                    for target in targets {
                        if let Value::Array(kinds) = &target["kind"]
                            && kinds.iter().any(|kind| kind == "lib")
                            && let Some(target_name) = target["name"].as_str()
                        {
                            crate_to_library_names.insert(package_name, target_name.to_owned());
                        }
                    }
                }
            }
        }
    }
    let mut library_names = Vec::new();
    for dep_name in direct_dependencies {
        if let Some(lib_name) = crate_to_library_names.get(dep_name) {
            library_names.push(lib_name.replace('-', "_"));
        }
    }
    Ok(library_names)
}

/// Match the pattern or return an error.
macro_rules! prism {
    ($pattern:path, $rhs:expr, $msg:literal) => {
        if let $pattern(x) = $rhs {
            x
        } else {
            bail!("Parse error in Cargo.toml: {}", $msg)
        }
    };
}

/// Parse the crate at given path, producing crate name
pub fn parse_crate_name(path: &str) -> Result<String> {
    use toml::Value;

    let config_path = std::path::Path::new(path).join("Cargo.toml");
    let content = std::fs::read_to_string(config_path)?;
    let package = content
        .parse::<toml::Table>()
        .context("Can't parse Cargo.toml")?;

    // https://doc.rust-lang.org/cargo/reference/manifest.html
    // The fields to define a package are 'package' and 'workspace'
    if let Some(package) = package.get("package") {
        let package = prism!(Value::Table, package, "expected 'package' to be a table");
        let name = prism!(Some, package.get("name"), "no 'name' in package");
        let name = prism!(Value::String, name, "expected 'name' to be a string");
        Ok(name.clone())
    } else if let Some(_workspace) = package.get("workspace") {
        bail!("Workspaces are not supported");
    } else {
        bail!("Unexpected Cargo.toml format: not package or workspace")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval_context::Config;
    use anyhow::Result;
    use std::path::Path;
    use std::path::PathBuf;

    #[test]
    fn test_library_names_from_metadata() {
        assert_eq!(
            library_names_from_metadata(include_str!("testdata/sample_metadata.json")).unwrap(),
            vec!["crate1"]
        );
    }

    fn create_crate(path: &Path, name: &str, deps: &str) -> Result<()> {
        let src_dir = path.join("src");
        std::fs::create_dir_all(&src_dir)?;
        std::fs::write(
            path.join("Cargo.toml"),
            format!(
                r#"
            [package]
            name = "{name}"
            version = "0.0.1"
            edition = "2024"

            [dependencies]
            {deps}
        "#
            ),
        )?;
        std::fs::write(src_dir.join("lib.rs"), "")?;
        Ok(())
    }

    fn path_to_string(path: &Path) -> String {
        path.to_string_lossy().replace('\\', "\\\\")
    }

    #[test]
    fn valid_dependency() -> Result<()> {
        let tempdir = tempfile::tempdir()?;
        let crate1 = tempdir.path().join("crate1");
        let crate2 = tempdir.path().join("crate2");
        create_crate(&crate1, "crate1", "")?;
        create_crate(
            &crate2,
            "crate2",
            &format!(r#"crate1 = {{ path = "{}" }}"#, path_to_string(&crate1)),
        )?;
        let mut config = Config::new(crate2, PathBuf::from("/dummy_evcxr_bin"))?;
        // We allow static linking so that we don't need a valid RUSTC_WRAPPER, since we just passed
        // /dummy_evcxr_bin.
        config.allow_static_linking = true;
        assert_eq!(get_library_names(&config)?, vec!["crate1".to_owned()]);
        Ok(())
    }

    #[test]
    fn invalid_feature() -> Result<()> {
        let tempdir = tempfile::tempdir()?;
        let crate1 = tempdir.path().join("crate1");
        let crate2 = tempdir.path().join("crate2");
        create_crate(&crate1, "crate1", "")?;
        create_crate(
            &crate2,
            "crate2",
            &format!(
                r#"crate1 = {{ path = "{}", features = ["no_such_feature"] }}"#,
                path_to_string(&crate1)
            ),
        )?;
        // Make sure that the problematic feature "no_such_feature" is mentioned
        // somewhere in the error message.
        let mut config = Config::new(crate2, PathBuf::from("/dummy_evcxr_bin"))?;
        config.allow_static_linking = true;
        assert!(
            get_library_names(&config)
                .unwrap_err()
                .to_string()
                .contains("no_such_feature")
        );
        Ok(())
    }
}
