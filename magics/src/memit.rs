//! `%memit [-r R] [-o] [-q] STATEMENT`: memory_profiler's magic, rewritten
//! into a call of the runtime's `memit`.
//!
//! Like `%timeit`, the statement sits in an `FnMut` closure inside a block,
//! so notebook variables are used by reference and unchanged afterwards,
//! and a statement that moves one is explained as under `%timeit`.
//!
//! ```text
//! { ::parlab::__private::memit(MemitOptions { repeat: R, .. }, || { ::std::hint::black_box(STMT); }); };
//! ```

use crate::getopt::{getopt, Opt};
use crate::contract::UsageError;
use crate::timeit::grammar::split_statement;

/// memory_profiler's options that apply here (`-r`, `-o`, `-q`); its
/// `-t TIMEOUT`, `-i INTERVAL`, `-c` are about sampling a process, which
/// parlab does not do.
pub(crate) const SPEC: &str = "r:oq";

const USAGE: &str = "usage: %memit [-r R] [-o] [-q] STATEMENT";
const P: &str = "::parlab::__private";

/// A parsed `%memit` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MemitArgs<'a> {
    pub(crate) repeat: u32,
    pub(crate) output: bool,
    pub(crate) quiet: bool,
    pub(crate) stmt: &'a str,
}

pub(crate) fn parse(args: &str) -> Result<MemitArgs<'_>, UsageError> {
    let parsed = getopt(SPEC, &[], args).map_err(|e| UsageError::new(e.to_string()))?;
    let mut out = MemitArgs { repeat: 1, output: false, quiet: false, stmt: parsed.rest };
    for opt in parsed.opts {
        let Opt::Short(c, value) = opt else { continue };
        let value = value.unwrap_or_default();
        match c {
            'r' => match value.replace('_', "").parse::<u32>() {
                Ok(r) if r >= 1 => out.repeat = r,
                _ => return Err(UsageError::new(format!("-r must be a positive integer, not '{value}'"))),
            },
            'o' => out.output = true,
            'q' => out.quiet = true,
            _ => {}
        }
    }
    if split_statement(out.stmt).0.is_empty() {
        return Err(UsageError::new(format!("%memit needs a statement to measure; {USAGE}")));
    }
    Ok(out)
}

/// The one-line replacement of a `%memit` line; `binding` is `let m =` or "".
pub(crate) fn rewrite_line(args: &str, binding: &str) -> Result<String, UsageError> {
    let a = parse(args)?;
    let (stmt, semicolon) = split_statement(a.stmt);
    let mut fields = Vec::new();
    if a.repeat != 1 {
        fields.push(format!("repeat: {}", a.repeat));
    }
    if a.quiet {
        fields.push("quiet: true".to_owned());
    }
    fields.push(format!("..{P}::MemitOptions::DEFAULT"));
    // A lone expression goes into `black_box` bare (braces would draw
    // `unused_braces`); statements keep their `;` (`let` needs it).
    let body = match syn::parse_str::<syn::Expr>(stmt) {
        Ok(e) if !matches!(e, syn::Expr::Let(_)) => format!("::std::hint::black_box({stmt});"),
        _ if semicolon => format!("{stmt};"),
        _ => format!("::std::hint::black_box({{ {stmt} }});"),
    };
    let call = format!("{P}::memit({P}::MemitOptions {{ {} }}, || {{ {body} }})", fields.join(", "));
    Ok(match (binding.is_empty(), a.output) {
        (false, _) => format!("{binding} {{ {call} }};"),
        (true, true) => format!("{{ {call} }}{}", if semicolon { ";" } else { "" }),
        (true, false) => format!("{{ {call}; }};"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(args: &str) -> String {
        parse(args).unwrap_err().message
    }

    #[test]
    fn rewrites_keep_the_statement_and_options() {
        insta::assert_snapshot!(
            [
                rewrite_line("vec![0u8; 50 << 20]", "").unwrap(),
                rewrite_line("-r 3 -q -o v.clone()", "").unwrap(),
                rewrite_line("-o let w = v.clone();", "let m =").unwrap(),
            ].join("\n"),
            @r#"
        { ::parlab::__private::memit(::parlab::__private::MemitOptions { ..::parlab::__private::MemitOptions::DEFAULT }, || { ::std::hint::black_box(vec![0u8; 50 << 20]); }); };
        { ::parlab::__private::memit(::parlab::__private::MemitOptions { repeat: 3, quiet: true, ..::parlab::__private::MemitOptions::DEFAULT }, || { ::std::hint::black_box(v.clone()); }) }
        let m = { ::parlab::__private::memit(::parlab::__private::MemitOptions { ..::parlab::__private::MemitOptions::DEFAULT }, || { let w = v.clone(); }) };
        "#
        );
        for code in [rewrite_line("-r 2 f(&x)", "").unwrap(), rewrite_line("let w = v.clone(); w.len()", "").unwrap(), rewrite_line("let w = v.clone();", "").unwrap()] {
            syn::parse_str::<syn::Block>(&format!("{{ {code} }}")).unwrap();
        }
    }

    #[test]
    fn usage_errors() {
        insta::assert_snapshot!(
            [err("-x f()"), err("-r"), err("-r 0 f()"), err("-r two f()"), err(""), err("-q ;")].join("\n"),
            @r#"
        option -x not recognized (allowed: "r:oq")
        option -r requires argument (allowed: "r:oq")
        -r must be a positive integer, not '0'
        -r must be a positive integer, not 'two'
        %memit needs a statement to measure; usage: %memit [-r R] [-o] [-q] STATEMENT
        %memit needs a statement to measure; usage: %memit [-r R] [-o] [-q] STATEMENT
        "#
        );
    }
}
