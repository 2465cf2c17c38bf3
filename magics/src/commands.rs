//! evcxr's `:` command lines, read the one way both the kernel (which
//! `:dep` crates a cell adds) and `%%mpirun` (which crates a program
//! depends on) need.

/// What a `:dep` line adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dep<'a> {
    /// The package: `rand` in `:dep rand = "0.8"`, `./local` in `:dep ./local`.
    pub name: &'a str,
    /// The TOML after `=`; `"*"` (any version) when there is none.
    pub spec: &'a str,
}

/// The `:dep` on this line, if it is one.
///
/// ```
/// use parlab_magics::commands::{dep, Dep};
/// assert_eq!(dep(":dep rand = \"0.8\""), Some(Dep { name: "rand", spec: "\"0.8\"" }));
/// assert_eq!(dep("  :dep itertools"), Some(Dep { name: "itertools", spec: "\"*\"" }));
/// assert_eq!(dep(":dependency x"), None);
/// ```
pub fn dep(line: &str) -> Option<Dep<'_>> {
    let args = command(line.trim(), ":dep")?;
    let name = args.split(|c: char| c == '=' || c.is_whitespace()).next().unwrap_or("");
    let spec = args.split_once('=').map_or("\"*\"", |(_, spec)| spec.trim());
    Some(Dep { name, spec })
}

/// The arguments of evcxr command `name` on this (trimmed) line.
pub(crate) fn command<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(name)?;
    if rest.is_empty() || rest.starts_with(char::is_whitespace) {
        Some(rest.trim())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_specs() {
        assert_eq!(dep(":dep parlab-child = { path = \"/r\" }").unwrap(), Dep { name: "parlab-child", spec: "{ path = \"/r\" }" });
        assert_eq!(dep(":dep ./local").unwrap().name, "./local");
        assert_eq!(dep(":dep").unwrap(), Dep { name: "", spec: "\"*\"" });
        assert_eq!(dep(":dep a=\"1\"").unwrap(), Dep { name: "a", spec: "\"1\"" });
        assert_eq!(dep("let x = 1;"), None);
    }
}
