//! `%who`, `%whos` and `%env`: the notebook's variables and the
//! evaluation process's environment.
//!
//! The kernel knows the variables' names and types (evcxr keeps them);
//! their values live in the evaluation process, so `%whos` becomes code
//! that formats them there. `%env` becomes std calls on the cell's own line
//! (the variables belong to the process that runs the cells, not to the
//! kernel). Everything generated uses std alone: these magics do not need
//! the runtime.
//!
//! ```
//! use parlab_magics::namespace::{env_line, who};
//! let vars = vec![("x".to_owned(), "i32".to_owned()), ("v".to_owned(), "Vec<f64>".to_owned())];
//! assert_eq!(who(&vars, &[]), "v\tx\n");
//! assert_eq!(who(&vars, &["Vec"]), "v\n");
//! assert!(env_line("RUST_LOG=debug").contains("__pl_set_env(\"RUST_LOG\", \"debug\")"));
//! ```

/// The cell's value of `%who TYPES…`: the variables' names, sorted,
/// tab-separated as IPython prints them. `vars` are (name, type).
pub fn who(vars: &[(String, String)], types: &[&str]) -> String {
    let names: Vec<&str> = selected(vars, types).into_iter().map(|(n, _)| n.as_str()).collect();
    match (names.is_empty(), types.is_empty()) {
        (false, _) => format!("{}\n", names.join("\t")),
        (true, true) => "Interactive namespace is empty.\n".to_owned(),
        (true, false) => "No variables match your requested type.\n".to_owned(),
    }
}

/// Code that prints `%whos`'s table in the evaluation process, or the
/// message to print instead when no variable is selected.
pub fn whos(vars: &[(String, String)], types: &[&str]) -> Result<String, String> {
    let rows = selected(vars, types);
    if rows.is_empty() {
        return Err(who(vars, types));
    }
    let var_width = rows.iter().map(|(n, _)| n.chars().count()).max().unwrap_or(0).max("Variable".len()) + 3;
    let type_width = rows.iter().map(|(_, t)| t.chars().count()).max().unwrap_or(0).max("Type".len()) + 3;
    let mut code = String::from("{\n");
    code.push_str(WHOS_PRELUDE);
    let header = format!("{:<var_width$}{:<type_width$} Data/Info", "Variable", "Type");
    let rule = "-".repeat(var_width + type_width + "Data/Info".len() + 1);
    code.push_str(&format!("println!(\"{{}}\\n{{}}\", {header:?}, {rule:?});\n"));
    for (name, ty) in rows {
        let prefix = format!("{name:<var_width$}{ty:<type_width$} ");
        // The specialization is decided here, where the type is concrete.
        code.push_str(&format!("println!(\"{{}}{{}}\", {prefix:?}, {});\n", info(name)));
    }
    code.push('}');
    Ok(code)
}

/// A block whose value is the `String` `%whos` shows for the variable
/// `name` (Shift-Tab on a variable adds it to the type).
pub fn summary_expr(name: &str) -> String {
    format!("{{\n{WHOS_PRELUDE}{}\n}}", info(name))
}

/// The Data/Info expression for `name`. The specialization is decided
/// here, where the variable's type is concrete.
fn info(name: &str) -> String {
    format!("__parlab_info((&__ParlabW(&{name})).__parlab_debug(), (&__ParlabW(&{name})).__parlab_len())")
}

/// The variables whose type is one of `types` (all when empty), sorted by
/// name. `Vec` selects `Vec<f64>` too.
fn selected<'a>(vars: &'a [(String, String)], types: &[&str]) -> Vec<&'a (String, String)> {
    let mut rows: Vec<&(String, String)> = vars
        .iter()
        .filter(|(_, ty)| types.is_empty() || types.iter().any(|t| ty == t || ty.strip_prefix(t).is_some_and(|r| r.starts_with('<'))))
        .collect();
    rows.sort();
    rows
}

/// Helpers of the `%whos` code: the Debug text of any value, or
/// `<no Debug>`, plus the length of collections, chosen at compile time by
/// autoref specialization (the first impl that applies wins: a method on
/// `__ParlabW<T>` is found before one on `&__ParlabW<T>`). The Debug text
/// is cut while it is written, so a vector of a million elements is not
/// turned into one string.
const WHOS_PRELUDE: &str = r#"struct __ParlabW<'a, T: ?Sized>(&'a T);
struct __ParlabCut { head: ::std::string::String, tail: ::std::collections::VecDeque<char>, n: usize }
impl ::std::fmt::Write for __ParlabCut {
    fn write_str(&mut self, s: &str) -> ::std::fmt::Result {
        for c in s.chars().flat_map(|c| if c == '\n' { vec!['\\', 'n'] } else { vec![c] }) {
            self.n += 1;
            if self.n <= 50 { self.head.push(c); } else { self.tail.push_back(c); if self.tail.len() > 25 { self.tail.pop_front(); } }
        }
        if self.n > 1_000_000 { Err(::std::fmt::Error) } else { Ok(()) }
    }
}
impl __ParlabCut {
    fn text(self, complete: bool) -> ::std::string::String {
        if self.n <= 50 { return self.head; }
        let head: ::std::string::String = self.head.chars().take(25).collect();
        if complete { format!("{head}<...>{}", self.tail.iter().collect::<::std::string::String>()) } else { format!("{head}<...>") }
    }
}
trait __ParlabDebug { fn __parlab_debug(&self) -> ::std::string::String; }
impl<'a, T: ::std::fmt::Debug + ?Sized> __ParlabDebug for __ParlabW<'a, T> {
    fn __parlab_debug(&self) -> ::std::string::String {
        let mut cut = __ParlabCut { head: ::std::string::String::new(), tail: ::std::collections::VecDeque::new(), n: 0 };
        let complete = ::std::fmt::Write::write_fmt(&mut cut, format_args!("{:?}", self.0)).is_ok();
        cut.text(complete)
    }
}
trait __ParlabNoDebug { fn __parlab_debug(&self) -> ::std::string::String; }
impl<'a, T: ?Sized> __ParlabNoDebug for &__ParlabW<'a, T> {
    fn __parlab_debug(&self) -> ::std::string::String { "<no Debug>".to_owned() }
}
trait __ParlabLen { fn __parlab_len(&self) -> Option<usize>; }
impl<'a, T: ?Sized> __ParlabLen for __ParlabW<'a, T> where &'a T: IntoIterator, <&'a T as IntoIterator>::IntoIter: ExactSizeIterator {
    fn __parlab_len(&self) -> Option<usize> { Some(self.0.into_iter().len()) }
}
trait __ParlabNoLen { fn __parlab_len(&self) -> Option<usize>; }
impl<'a, T: ?Sized> __ParlabNoLen for &__ParlabW<'a, T> {
    fn __parlab_len(&self) -> Option<usize> { None }
}
fn __parlab_info(debug: ::std::string::String, len: Option<usize>) -> ::std::string::String {
    match len { Some(n) => format!("len={n}: {debug}"), None => debug }
}
"#;

/// The statement a `%env ARGS` line becomes (one line, so the cell keeps
/// its line numbers): list, read or set a variable of the evaluation
/// process, with IPython's messages.
pub fn env_line(args: &str) -> String {
    let args = args.trim().trim_end_matches(';').trim();
    if args.is_empty() {
        return "{ let mut __pl_env: ::std::vec::Vec<(::std::string::String, ::std::string::String)> = \
            ::std::env::vars_os().map(|(k, v)| (k.to_string_lossy().into_owned(), v.to_string_lossy().into_owned())).collect(); \
            __pl_env.sort(); for (k, v) in __pl_env { println!(\"{k}={v}\"); } }"
            .to_owned();
    }
    let (name, value) = match args.split_once('=') {
        Some((name, value)) if !name.trim().contains(char::is_whitespace) => (name.trim(), Some(value.trim())),
        _ => match args.split_once(char::is_whitespace) {
            Some((name, value)) => (name, Some(value.trim())),
            None => (args, None),
        },
    };
    match value {
        None => format!(
            "{{ match ::std::env::var_os({name:?}) {{ Some(v) => println!(\"{{}}\", v.to_string_lossy()), \
             None => eprintln!(\"UsageError: Environment does not have key: {{}}\", {name:?}) }} }}"
        ),
        Some(value) => format!(
            // `set_var` is `unsafe` from edition 2024 on and safe before.
            "{{ #[allow(unused_unsafe)] fn __pl_set_env(k: &str, v: &str) {{ unsafe {{ ::std::env::set_var(k, v) }} }} \
             __pl_set_env({name:?}, {value:?}); println!(\"env: {{}}={{}}\", {name:?}, {value:?}); }}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vec<(String, String)> {
        [("x", "i32"), ("v", "Vec<f64>"), ("name", "String")].iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
    }

    #[test]
    fn who_lists_sorted_names() {
        assert_eq!(who(&vars(), &[]), "name\tv\tx\n");
        assert_eq!(who(&vars(), &["i32", "String"]), "name\tx\n");
        assert_eq!(who(&[], &[]), "Interactive namespace is empty.\n");
        assert_eq!(who(&vars(), &["u8"]), "No variables match your requested type.\n");
    }

    #[test]
    fn whos_rows_have_ipython_widths() {
        let code = whos(&vars(), &[]).unwrap();
        assert!(code.contains(r#""Variable   Type        Data/Info", "--------------------------------""#), "{code}");
        assert!(code.contains(r#"println!("{}{}", "v          Vec<f64>    ", __parlab_info((&__ParlabW(&v)).__parlab_debug(), (&__ParlabW(&v)).__parlab_len()));"#), "{code}");
        syn::parse_str::<syn::Block>(&code).unwrap();
        syn::parse_str::<syn::Block>(&summary_expr("v")).unwrap();
        assert_eq!(whos(&[], &[]), Err("Interactive namespace is empty.\n".to_owned()));
    }

    #[test]
    fn env_lines_parse_as_rust() {
        for args in ["", "PATH", "A=1", "A = 1", "A 1 2", "A=\"q\" \\ x", "A="] {
            let line = env_line(args);
            assert!(!line.contains('\n'), "{line}");
            syn::parse_str::<syn::Block>(&line).unwrap_or_else(|e| panic!("{args}: {e}\n{line}"));
        }
        assert!(env_line("A 1 2").contains(r#"__pl_set_env("A", "1 2")"#));
        assert!(env_line("A = 1").contains(r#"__pl_set_env("A", "1")"#));
    }
}
