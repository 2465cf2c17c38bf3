//! `%lprun` options: line_profiler's getopt spec `rszf:m:D:T:u:`.
//!
//! `-f NAME` (repeatable) names a function recorded by
//! [`crate::ItemRegistry`]; `-m MOD` adds every function of a recorded
//! module or type (`-m geo`, `-m Point`); `-u SECS` the output unit; `-s`/`-z`
//! hide functions never hit; `-r` returns the `LineProfile`; `-T FILE` and
//! `-D FILE` save the text and the JSON stats. Everything after the options
//! is the statement, verbatim.

use crate::getopt::{getopt, Opt};
use crate::contract::UsageError;

/// line_profiler's option spec, quoted in IPython's error messages.
pub(crate) const SPEC: &str = "rszf:m:D:T:u:";

const USAGE: &str = "usage: %lprun -f NAME [-f NAME]... [-m MODULE] [-u UNIT] [-s|-z] [-r] [-T FILE] [-D FILE] STATEMENT";

/// A parsed `%lprun` line.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct LprunArgs<'a> {
    /// `-f` names, in order, without repeats.
    pub(crate) functions: Vec<String>,
    /// `-m` names.
    pub(crate) modules: Vec<String>,
    /// `-u`: output unit in seconds.
    pub(crate) unit: Option<f64>,
    /// `-s` / `-z`.
    pub(crate) skip_zero: bool,
    /// `-r`.
    pub(crate) return_profile: bool,
    /// `-T FILE`.
    pub(crate) text_file: Option<String>,
    /// `-D FILE`.
    pub(crate) dump_file: Option<String>,
    /// The statement to profile, verbatim.
    pub(crate) statement: &'a str,
}

/// `%mprun`'s options: `%lprun`'s function selection, `-T` and `-r`.
pub(crate) const MPRUN_SPEC: &str = "rf:T:";

const MPRUN_USAGE: &str = "usage: %mprun -f NAME [-f NAME]... [-T FILE] [-r] STATEMENT";

/// Which profiler a `-f` line is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Profiler {
    /// `%lprun`: times per line.
    Lines,
    /// `%mprun`: allocations per line.
    Memory,
}

impl Profiler {
    pub(crate) fn magic(self) -> &'static str {
        match self {
            Profiler::Lines => "%lprun",
            Profiler::Memory => "%mprun",
        }
    }
}

/// Parses the text after `%lprun`.
#[cfg(test)]
pub(crate) fn parse(args: &str) -> Result<LprunArgs<'_>, UsageError> {
    parse_for(Profiler::Lines, args)
}

/// Parses the text after `%lprun` or `%mprun` (same rules, same errors).
pub(crate) fn parse_for(profiler: Profiler, args: &str) -> Result<LprunArgs<'_>, UsageError> {
    let (spec, usage) = match profiler {
        Profiler::Lines => (SPEC, USAGE),
        Profiler::Memory => (MPRUN_SPEC, MPRUN_USAGE),
    };
    let name = profiler.magic();
    let parsed = getopt(spec, &[], args).map_err(|e| UsageError::new(e.to_string()))?;
    let mut out = LprunArgs { statement: parsed.rest, ..LprunArgs::default() };
    for opt in parsed.opts {
        let Opt::Short(c, value) = opt else { continue };
        let value = value.unwrap_or_default();
        match c {
            'f' if !out.functions.contains(&value) => out.functions.push(value),
            'm' if !out.modules.contains(&value) => out.modules.push(value),
            'u' => match value.parse::<f64>() {
                Ok(u) if u.is_finite() && u > 0.0 => out.unit = Some(u),
                _ => return Err(UsageError::new("Timer unit setting must be a float.")),
            },
            's' | 'z' => out.skip_zero = true,
            'r' => out.return_profile = true,
            'T' => out.text_file = Some(value),
            'D' => out.dump_file = Some(value),
            _ => {}
        }
    }
    if out.functions.is_empty() && out.modules.is_empty() {
        return Err(UsageError::new(format!("{name} needs a function to profile (-f NAME); {usage}")));
    }
    if out.statement.trim_end_matches(';').trim().is_empty() {
        return Err(UsageError::new(format!("{name} needs a statement to run after the options; {usage}")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(args: &str) -> String {
        parse(args).unwrap_err().message
    }

    #[test]
    fn options_and_statement() {
        let a = parse("-f distance -f norm -f distance -u 1e-6 -z -r -T out.txt -D out.json distance(&x, 3);").unwrap();
        assert_eq!(a.functions, ["distance", "norm"]);
        assert_eq!(a.unit, Some(1e-6));
        assert!(a.skip_zero && a.return_profile);
        assert_eq!(a.text_file.as_deref(), Some("out.txt"));
        assert_eq!(a.dump_file.as_deref(), Some("out.json"));
        assert_eq!(a.statement, "distance(&x, 3);");
    }

    #[test]
    fn attached_values_and_combined_flags() {
        let a = parse("-fdistance -rs  distance( -1 )").unwrap();
        assert_eq!(a.functions, ["distance"]);
        assert!(a.return_profile && a.skip_zero);
        assert_eq!(a.statement, "distance( -1 )");
    }

    #[test]
    fn mprun_shares_the_selection_and_refuses_timing_options() {
        let a = parse_for(Profiler::Memory, "-f build -r -T out.txt build(10)").unwrap();
        assert_eq!((a.functions.as_slice(), a.return_profile, a.text_file.as_deref()), (&["build".to_owned()][..], true, Some("out.txt")));
        let err = |args| parse_for(Profiler::Memory, args).unwrap_err().message;
        insta::assert_snapshot!(
            [err("build(10)"), err("-f build"), err("-u 1e-6 -f build build()"), err("-x -f f f()")].join("\n"),
            @r#"
        %mprun needs a function to profile (-f NAME); usage: %mprun -f NAME [-f NAME]... [-T FILE] [-r] STATEMENT
        %mprun needs a statement to run after the options; usage: %mprun -f NAME [-f NAME]... [-T FILE] [-r] STATEMENT
        option -u not recognized (allowed: "rf:T:")
        option -x not recognized (allowed: "rf:T:")
        "#
        );
    }

    #[test]
    fn errors() {
        insta::assert_snapshot!(
            [err("-x -f f f()"), err("-f"), err("-f f -u abc f()"), err("-f f -u 0 f()"), err("f()"), err("-f f"), err("-f f ;")].join("\n"),
            @r#"
        option -x not recognized (allowed: "rszf:m:D:T:u:")
        option -f requires argument (allowed: "rszf:m:D:T:u:")
        Timer unit setting must be a float.
        Timer unit setting must be a float.
        %lprun needs a function to profile (-f NAME); usage: %lprun -f NAME [-f NAME]... [-m MODULE] [-u UNIT] [-s|-z] [-r] [-T FILE] [-D FILE] STATEMENT
        %lprun needs a statement to run after the options; usage: %lprun -f NAME [-f NAME]... [-m MODULE] [-u UNIT] [-s|-z] [-r] [-T FILE] [-D FILE] STATEMENT
        %lprun needs a statement to run after the options; usage: %lprun -f NAME [-f NAME]... [-m MODULE] [-u UNIT] [-s|-z] [-r] [-T FILE] [-D FILE] STATEMENT
        "#
        );
    }
}
