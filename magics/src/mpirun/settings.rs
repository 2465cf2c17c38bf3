//! The evcxr settings a `%%mpirun` program must share with the notebook:
//! crates added with `:dep` and the optimisation level set with `:opt`.
//!
//! evcxr keeps both inside its own context, which does not expose them, so
//! they are read from the cells as they succeed, with evcxr's own rules
//! (`:dep name = spec`, `:dep name` meaning `"*"`; `:opt N`, and `:opt`
//! alone toggling between 2 and 0).

/// What earlier cells configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSettings {
    /// `(name, spec)` of each `:dep`, a later one replacing an earlier one
    /// of the same name; `spec` is TOML (`"1.0"`, `{ version = "1", … }`).
    pub deps: Vec<(String, String)>,
    /// evcxr's optimisation level: `0`–`3`, `s` or `z` (default `2`).
    pub opt_level: String,
}

impl Default for BuildSettings {
    fn default() -> Self {
        BuildSettings { deps: Vec::new(), opt_level: "2".into() }
    }
}

impl BuildSettings {
    /// Takes note of the `:dep` and `:opt` lines of a cell that ran.
    ///
    /// ```
    /// use parlab_magics::BuildSettings;
    /// let mut s = BuildSettings::default();
    /// s.record_cell(":dep rand = \"0.8\"\n:opt 3\nlet x = 1;");
    /// assert_eq!(s.deps, [("rand".to_owned(), "\"0.8\"".to_owned())]);
    /// assert_eq!(s.opt_level, "3");
    /// ```
    pub fn record_cell(&mut self, code: &str) {
        for line in code.lines() {
            let line = line.trim();
            if let Some(dep) = crate::commands::dep(line) {
                self.record_dep(dep);
            } else if let Some(args) = crate::commands::command(line, ":opt") {
                self.opt_level = match args {
                    "" if self.opt_level == "2" => "0".into(),
                    "" => "2".into(),
                    level => level.into(),
                };
            }
        }
    }

    fn record_dep(&mut self, crate::commands::Dep { name, spec }: crate::commands::Dep<'_>) {
        // Local crates (`:dep ./path`) have no name to give cargo here, and
        // the program already depends on parlab and mpi.
        if name.is_empty() || name.contains(' ') || name.starts_with(['.', '/']) || spec.is_empty() || matches!(name, "parlab" | "mpi") {
            return;
        }
        self.deps.retain(|(n, _)| n != name);
        self.deps.push((name.to_owned(), spec.to_owned()));
    }

    /// The cargo `opt-level` value for [`Self::opt_level`] (evcxr accepts
    /// any text; anything cargo would not is treated as the default, 2).
    pub fn cargo_opt_level(&self) -> &str {
        match self.opt_level.as_str() {
            level @ ("0" | "1" | "2" | "3" | "s" | "z") => level,
            _ => "2",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deps_replace_by_name_and_default_to_any_version() {
        let mut s = BuildSettings::default();
        s.record_cell(":dep rand = \"0.7\"\n:dep itertools\n:dep rand = { version = \"0.8\", features = [\"small_rng\"] }");
        assert_eq!(
            s.deps,
            [
                ("itertools".to_owned(), "\"*\"".to_owned()),
                ("rand".to_owned(), "{ version = \"0.8\", features = [\"small_rng\"] }".to_owned())
            ]
        );
    }

    #[test]
    fn ignored_deps() {
        let mut s = BuildSettings::default();
        s.record_cell(":dep ./local\n:dep parlab = { path = \"x\" }\n:dep\n:dependency x\n:dep mpi = \"0.7\"");
        assert!(s.deps.is_empty(), "{:?}", s.deps);
    }

    #[test]
    fn opt_toggles_like_evcxr() {
        let mut s = BuildSettings::default();
        s.record_cell(":opt");
        assert_eq!(s.opt_level, "0");
        s.record_cell(":opt");
        assert_eq!(s.opt_level, "2");
        s.record_cell("  :opt 1");
        assert_eq!(s.cargo_opt_level(), "1");
        s.record_cell(":opt fast");
        assert_eq!(s.cargo_opt_level(), "2");
        s.record_cell(":optimize 3");
        assert_eq!(s.opt_level, "fast");
    }
}
