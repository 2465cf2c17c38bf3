//! How cells reach `parlab-child`: the kernel build's rlib as an
//! `--extern`, or a `:dep` on its sources.

use std::path::{Path, PathBuf};

/// How cells reach `parlab-child`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ChildLink {
    /// The kernel build's rlib, passed to rustc as `--extern` under
    /// [`ChildLink::ALIAS`] (the name differs from the crate's so that it
    /// never meets `parlab`'s own `parlab_child` dependency).
    Prebuilt { rlib: PathBuf, deps: PathBuf },
    /// A `:dep` on the crate's sources (no rlib found, or one rustc cannot
    /// use: built by another compiler version).
    Dep { dir: PathBuf },
}

impl ChildLink {
    pub(crate) const ALIAS: &'static str = "__parlab_child";

    /// `rlib` with its dependencies in `deps/` beside it (where cargo
    /// leaves a workspace member's library and the rest of the build), else
    /// the sources.
    pub(crate) fn find(rlib: Option<PathBuf>, sources: PathBuf) -> ChildLink {
        let deps = rlib.as_deref().and_then(Path::parent).map(|d| d.join("deps"));
        match (rlib, deps) {
            (Some(rlib), Some(deps)) if rlib.is_file() && deps.is_dir() => ChildLink::Prebuilt { rlib, deps },
            _ => ChildLink::Dep { dir: sources },
        }
    }

    /// The path cells call the crate by.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            ChildLink::Prebuilt { .. } => Self::ALIAS,
            ChildLink::Dep { .. } => "parlab_child",
        }
    }

    /// The `:dep` line the session needs, if any.
    pub(crate) fn dep_line(&self) -> Option<String> {
        match self {
            ChildLink::Prebuilt { .. } => None,
            ChildLink::Dep { dir } => Some(format!(":dep parlab-child = {{ path = {:?} }}", dir.display().to_string())),
        }
    }

    /// The `:build_env` command that gives cell builds evcxr's own rustc
    /// flags (`-Cprefer-dynamic`, lld's flag when `linker` is lld) plus
    /// the `--extern`. `CARGO_ENCODED_RUSTFLAGS` (one flag per
    /// `\x1f`-separated field, so paths may hold spaces) takes precedence
    /// over the `RUSTFLAGS` evcxr sets. For [`ChildLink::Dep`], evcxr's
    /// flags alone: the command undoes an earlier `Prebuilt` one.
    pub(crate) fn build_env(&self, linker: &str) -> String {
        let mut flags = vec!["-Cprefer-dynamic".to_owned()];
        if linker == "lld" {
            flags.push("-Clink-arg=-fuse-ld=lld".to_owned());
        }
        if let ChildLink::Prebuilt { rlib, deps } = self {
            flags.push("--extern".to_owned());
            flags.push(format!("{}={}", Self::ALIAS, rlib.display()));
            flags.push("-L".to_owned());
            flags.push(format!("dependency={}", deps.display()));
        }
        format!(":build_env CARGO_ENCODED_RUSTFLAGS={}", flags.join("\x1f"))
    }

    /// Whether rustc's message says the prebuilt rlib is unusable (gone,
    /// or built by another rustc: E0463, E0514, E0460).
    pub(crate) fn rejects(message: &str) -> bool {
        message.contains(Self::ALIAS) || message.contains("`parlab_child`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prebuilt_child_is_an_extern_with_evcxrs_flags() {
        let link = ChildLink::Prebuilt { rlib: "/t/r/libparlab_child.rlib".into(), deps: "/t/r/deps".into() };
        assert_eq!(
            link.build_env("mold"),
            ":build_env CARGO_ENCODED_RUSTFLAGS=-Cprefer-dynamic\x1f--extern\x1f__parlab_child=/t/r/libparlab_child.rlib\x1f-L\x1fdependency=/t/r/deps"
        );
        assert_eq!(link.name(), "__parlab_child");
        assert_eq!(link.dep_line(), None);
        let dep = ChildLink::Dep { dir: "/r/child".into() };
        assert_eq!(dep.build_env("lld"), ":build_env CARGO_ENCODED_RUSTFLAGS=-Cprefer-dynamic\x1f-Clink-arg=-fuse-ld=lld");
        assert_eq!(dep.dep_line().unwrap(), ":dep parlab-child = { path = \"/r/child\" }");
        assert!(ChildLink::rejects("can't find crate for `__parlab_child`"));
        assert!(ChildLink::rejects("found crate `parlab_child` compiled by an incompatible version of rustc"));
        assert!(!ChildLink::rejects("cannot find value `x` in this scope"));
    }

    #[test]
    fn no_rlib_next_to_the_binary_means_the_sources() {
        let link = ChildLink::find(Some("/nonexistent/libparlab_child.rlib".into()), "/r/child".into());
        assert_eq!(link, ChildLink::Dep { dir: "/r/child".into() });
    }
}
