//! The option grammar of `%timeit`/`%%timeit` and `%time`/`%%time`, and
//! the checks IPython leaves out (`-n abc`, `-r 0` crash there; here they
//! are one-line usage errors and nothing runs).

use crate::getopt::{getopt, Opt};
use crate::contract::UsageError;

/// IPython's spec, quoted in its error messages.
/// IPython's spec (`n:r:tcp:qov:`) plus parlab's `-a` (allocations).
pub(crate) const TIMEIT_SPEC: &str = "n:r:tcp:qaov:";

/// Which clock times the loop (`-t` wall, the default; `-c` process CPU).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Clock {
    #[default]
    Wall,
    Cpu,
}

/// `%timeit [-n N] [-r R] [-p P] [-t|-c] [-q] [-o] [-v NAME] STMT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TimeitArgs<'a> {
    /// Loops per repeat; 0 = choose automatically.
    pub(crate) loops: u64,
    pub(crate) repeat: u32,
    pub(crate) precision: u32,
    pub(crate) clock: Clock,
    pub(crate) quiet: bool,
    /// `-a`: also print the allocations per loop.
    pub(crate) allocs: bool,
    /// `-o`: the value of the magic is the `TimeitResult`.
    pub(crate) output: bool,
    /// `-v NAME`: bind the result to `NAME` (implies `-o`).
    pub(crate) var: Option<String>,
    /// The statement (line form) or the setup (cell form), verbatim.
    pub(crate) stmt: &'a str,
}

pub(crate) const DEFAULT_REPEAT: u32 = 7;
pub(crate) const DEFAULT_PRECISION: u32 = 3;

pub(crate) fn parse_timeit(args: &str) -> Result<TimeitArgs<'_>, UsageError> {
    let parsed = getopt(TIMEIT_SPEC, &[], args).map_err(|e| UsageError::new(e.to_string()))?;
    let mut out = TimeitArgs {
        loops: 0,
        repeat: DEFAULT_REPEAT,
        precision: DEFAULT_PRECISION,
        clock: Clock::Wall,
        quiet: false,
        allocs: false,
        output: false,
        var: None,
        stmt: parsed.rest,
    };
    // Repeated options: the last one wins.
    for opt in parsed.opts {
        let Opt::Short(c, value) = opt else { continue };
        let value = value.unwrap_or_default();
        match c {
            'n' => out.loops = number(&value, "-n must be a non-negative integer (0 = choose automatically)")?,
            'r' => {
                out.repeat = number(&value, "-r must be a positive integer")?;
                if out.repeat == 0 {
                    return Err(UsageError::new("-r must be at least 1"));
                }
            }
            'p' => {
                out.precision = number(&value, "-p must be a positive integer")?;
                if !(1..=17).contains(&out.precision) {
                    return Err(UsageError::new(format!("-p must be between 1 and 17, not {}", out.precision)));
                }
            }
            't' => out.clock = Clock::Wall,
            'c' => out.clock = Clock::Cpu,
            'q' => out.quiet = true,
            'a' => out.allocs = true,
            'o' => out.output = true,
            'v' => {
                if syn::parse_str::<syn::Ident>(&value).is_err() {
                    return Err(UsageError::new(format!("-v needs a variable name, not '{value}'")));
                }
                out.var = Some(value);
            }
            _ => {}
        }
    }
    Ok(out)
}

fn number<T: std::str::FromStr>(value: &str, what: &str) -> Result<T, UsageError> {
    // Accept `1_000` and `1000`, as Rust literals do.
    value.replace('_', "").parse().map_err(|_| UsageError::new(format!("{what}, not '{value}'")))
}

/// `%time [--no-raise-error] STMT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TimeArgs<'a> {
    /// Swallow a panic (after printing the times) instead of re-raising.
    pub(crate) no_raise: bool,
    pub(crate) stmt: &'a str,
}

/// Only a leading `--no-raise-error` is an option: a statement such as
/// `-x.abs()` must stay a statement.
pub(crate) fn parse_time(args: &str) -> TimeArgs<'_> {
    let args = args.trim();
    match args.strip_prefix("--no-raise-error") {
        Some(rest) if rest.is_empty() || rest.starts_with(char::is_whitespace) => {
            TimeArgs { no_raise: true, stmt: rest.trim() }
        }
        _ => TimeArgs { no_raise: false, stmt: args },
    }
}

/// Splits a one-line statement into its code and whether the user ended
/// it with `;`, dropping a trailing `// comment` (the rewrite is joined
/// into one line, where a comment would swallow the generated closing
/// braces).
pub(crate) fn split_statement(stmt: &str) -> (&str, bool) {
    let code = cut_trailing_comment(stmt).trim_end();
    match code.strip_suffix(';') {
        Some(code) => (code.trim_end_matches(|c: char| c == ';' || c.is_whitespace()), true),
        None => (code, false),
    }
}

/// Cuts `s` after its last token when it lexes as Rust. Text that does not
/// lex is returned as is: rustc will report it against the user's code.
pub(crate) fn cut_trailing_comment(s: &str) -> &str {
    if !s.contains("//") || s.contains('\n') {
        return s;
    }
    let Ok(tokens) = s.parse::<proc_macro2::TokenStream>() else { return s };
    let Some(last) = tokens.into_iter().last() else { return "" };
    let end = last.span().end();
    if end.line != 1 {
        return s;
    }
    match s.char_indices().nth(end.column) {
        Some((byte, _)) => &s[..byte],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(args: &str) -> String {
        parse_timeit(args).unwrap_err().message
    }

    #[test]
    fn defaults() {
        let a = parse_timeit("v.sort()").unwrap();
        assert_eq!((a.loops, a.repeat, a.precision, a.clock, a.quiet, a.output), (0, 7, 3, Clock::Wall, false, false));
        assert_eq!(a.stmt, "v.sort()");
    }

    #[test]
    fn all_options() {
        let a = parse_timeit("-n1_000 -r 3 -p5 -c -qo -v res x + 1").unwrap();
        assert_eq!((a.loops, a.repeat, a.precision, a.clock, a.quiet, a.output), (1000, 3, 5, Clock::Cpu, true, true));
        assert_eq!(a.var.as_deref(), Some("res"));
        assert!(!a.allocs && parse_timeit("-a x").unwrap().allocs);
        assert_eq!(a.stmt, "x + 1");
        assert_eq!(parse_timeit("-c -t x").unwrap().clock, Clock::Wall);
        assert_eq!(parse_timeit("-n 5 -n 0 x").unwrap().loops, 0);
    }

    #[test]
    fn usage_errors() {
        assert_eq!(err("-x 1"), r#"option -x not recognized (allowed: "n:r:tcp:qaov:")"#);
        assert_eq!(err("-n"), r#"option -n requires argument (allowed: "n:r:tcp:qaov:")"#);
        assert_eq!(err("-n abc x"), "-n must be a non-negative integer (0 = choose automatically), not 'abc'");
        assert_eq!(err("-n -3 x"), "-n must be a non-negative integer (0 = choose automatically), not '-3'");
        assert_eq!(err("-r 0 x"), "-r must be at least 1");
        assert_eq!(err("-r x1 x"), "-r must be a positive integer, not 'x1'");
        assert_eq!(err("-p 0 x"), "-p must be between 1 and 17, not 0");
        assert_eq!(err("-v 1a x"), "-v needs a variable name, not '1a'");
    }

    #[test]
    fn time_options() {
        assert_eq!(parse_time(" --no-raise-error f() "), TimeArgs { no_raise: true, stmt: "f()" });
        assert_eq!(parse_time("--no-raise-errorx"), TimeArgs { no_raise: false, stmt: "--no-raise-errorx" });
        assert_eq!(parse_time("-x.abs()"), TimeArgs { no_raise: false, stmt: "-x.abs()" });
    }

    #[test]
    fn statements_lose_trailing_semicolons_and_comments() {
        assert_eq!(split_statement("f(); "), ("f()", true));
        assert_eq!(split_statement("f() ;; "), ("f()", true));
        assert_eq!(split_statement("f()"), ("f()", false));
        assert_eq!(split_statement("f(); // why"), ("f()", true));
        assert_eq!(split_statement("s == \"//\" // c"), ("s == \"//\"", false));
        assert_eq!(split_statement("é + 1 // c"), ("é + 1", false));
        assert_eq!(split_statement("// only"), ("", false));
        assert_eq!(split_statement("\"unterminated // x"), ("\"unterminated // x", false));
    }
}
