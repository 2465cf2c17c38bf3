//! The kernel's lines folded into a cell: pending `:dep` lines before it,
//! the set-up call on its first code line.

/// A cell with the kernel's lines folded in.
#[derive(Debug, PartialEq)]
pub(crate) struct Folded {
    pub(crate) code: String,
    /// Lines put before the cell's first line.
    pub(crate) hidden_lines: usize,
}

/// `code` with `deps` (whole `:dep …` lines) before it and `init` (one
/// statement) on its first code line.
pub(crate) fn fold(code: &str, deps: &[String], init: Option<&str>) -> Folded {
    let mut out = String::with_capacity(code.len() + 128);
    for dep in deps {
        out.push_str(dep);
        out.push('\n');
    }
    let mut init = init;
    for line in code.split_inclusive('\n') {
        if let Some(call) = init.filter(|_| is_code(line)) {
            out.push_str(call);
            out.push(' ');
            init = None;
        }
        out.push_str(line);
    }
    if let Some(call) = init {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(call);
    }
    Folded { code: out, hidden_lines: deps.len() }
}

/// Whether `code` has a line evcxr compiles (see [`is_code`]).
pub(crate) fn has_code(code: &str) -> bool {
    code.split_inclusive('\n').any(is_code)
}

/// Whether evcxr takes `line` for Rust code rather than one of the lines
/// it looks through before code starts (`CodeBlock::from_original_user_code`):
/// commands (`:name args`), shell lines (`!cmd`), blank lines and `//`
/// comments.
fn is_code(line: &str) -> bool {
    let line = line.trim_end_matches(['\n', '\r']);
    !(line.trim_start_matches(' ').starts_with(':') || line.starts_with('!') || line.starts_with("//") || line.trim().is_empty())
}

/// The crate a `:dep` line adds (`:dep name = …` → `name`).
pub(crate) fn dep_name(line: &str) -> &str {
    parlab_magics::commands::dep(line).map_or("", |d| d.name)
}

/// Whether `:show_deps` output lists `name`.
pub(crate) fn lists_dep(show_deps: &str, name: &str) -> bool {
    show_deps.lines().any(|l| l.split(" = ").next() == Some(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    const INIT: &str = "init();";

    #[test]
    fn deps_go_before_and_init_onto_the_first_code_line() {
        let deps = vec![":dep a = { path = \"/x\" }".to_owned()];
        let f = fold("// note\n\nlet x = 1;\nx", &deps, Some(INIT));
        assert_eq!(f.code, ":dep a = { path = \"/x\" }\n// note\n\ninit(); let x = 1;\nx");
        assert_eq!(f.hidden_lines, 1);
    }

    #[test]
    fn user_commands_stay_before_code() {
        let f = fold(":dep b = \"1\"\nuse b::B;", &[], Some(INIT));
        assert_eq!(f.code, ":dep b = \"1\"\ninit(); use b::B;");
        assert_eq!(f.hidden_lines, 0);
    }

    #[test]
    fn a_cell_of_commands_gets_init_after_it() {
        assert_eq!(fold(":vars", &[], Some(INIT)).code, ":vars\ninit();");
        assert_eq!(fold(":vars\n", &[], Some(INIT)).code, ":vars\ninit();");
        assert_eq!(fold("", &[":dep a".into()], Some(INIT)).code, ":dep a\ninit();");
    }

    #[test]
    fn nothing_to_add_leaves_the_cell_alone() {
        let f = fold("1 + 1", &[], None);
        assert_eq!(f, Folded { code: "1 + 1".into(), hidden_lines: 0 });
    }

    #[test]
    fn protected_paths_are_code() {
        // `protect_paths` puts a tab before `::x` lines; evcxr reads them as code.
        assert_eq!(fold("\t::std::mem::drop(1);", &[], Some(INIT)).code, "init(); \t::std::mem::drop(1);");
    }

    #[test]
    fn cells_of_commands_have_no_code() {
        assert!(!has_code(":vars\n// note\n\n"));
        assert!(has_code(":dep a\nlet x = 1;"));
        assert!(has_code("\t::std::mem::drop(1);"));
    }

    #[test]
    fn dep_names_and_show_deps() {
        assert_eq!(dep_name(":dep parlab-child = { path = \"/r\" }"), "parlab-child");
        assert_eq!(dep_name(":dep rayon = \"1\""), "rayon");
        let shown = "parlab = { path = \"/r\" }\nrayon = \"1\"";
        assert!(lists_dep(shown, "rayon"));
        assert!(!lists_dep(shown, "parlab-child"));
    }
}
