//! IPython's option grammar for line magics: Python `getopt` on a
//! whitespace-split argument string (`parse_options(..., posix=False)`).
//!
//! Options come first; parsing stops at the first word that is not an
//! option, and everything from there on is returned *verbatim* (a Rust
//! statement keeps its spacing, quotes and `-` signs). `--` ends the
//! options and is dropped. `-n10` and `-n 10` are the same; flags combine
//! (`-qo`, even `-qon10`). Errors carry IPython's exact wording.
//!
//! Deliberately absent: shell-style quoting of option values (IPython's
//! `posix=False` keeps quotes anyway, and no parlab option takes a value
//! with spaces) and GNU-style options after the statement.
//!
//! The grammar is crate-private; `%timeit` shows it through `parlab_magics::plan`:
//!
//! ```
//! use parlab_magics::{plan, Plan, Session};
//! let s = Session::default();
//! // `-n10` glued, `-qo` combined, `-r 3` apart; the statement verbatim.
//! let Ok(Plan::Steps(steps)) = plan("%timeit -n10 -qo -r 3 v.sort()  // sort", &s) else { panic!() };
//! let code = &steps[0].code;
//! assert!(code.contains("loops: 10, repeat: 3,") && code.contains("quiet: true"));
//! assert!(code.contains("black_box(v.sort())"));
//! // Errors in IPython's words.
//! let err = plan("%timeit -x v.sort()", &s).unwrap_err();
//! assert_eq!(err.message, r#"option -x not recognized (allowed: "n:r:tcp:qaov:")"#);
//! ```

/// One parsed option: `-n 10` is `Opt::Short('n', Some("10"))`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Opt {
    /// A one-letter option and its value when the spec gives it one (`n:`).
    Short(char, Option<String>),
    /// A `--long` option without a value.
    Long(String),
    /// A `--long VALUE` (or `--long=VALUE`) option, declared `long=` as in
    /// Python's getopt.
    LongValue(String, String),
}

/// The options in the order given (repeats kept) and the statement text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed<'a> {
    pub(crate) opts: Vec<Opt>,
    /// The rest of the argument string from the first non-option word,
    /// verbatim, trimmed of surrounding white space.
    pub(crate) rest: &'a str,
}

/// Why the options could not be parsed. `Display` is IPython's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum GetoptError {
    #[error("option -{opt} not recognized (allowed: \"{spec}\"{})", long_suffix(.long))]
    NotRecognized { opt: String, spec: String, long: Vec<String> },
    #[error("option -{opt} requires argument (allowed: \"{spec}\"{})", long_suffix(.long))]
    RequiresArgument { opt: char, spec: String, long: Vec<String> },
    #[error("option --{opt} requires argument")]
    RequiresLong { opt: String },
}

fn long_suffix(long: &[String]) -> String {
    if long.is_empty() {
        String::new()
    } else {
        format!(" {}", long.iter().map(|l| format!("--{l}")).collect::<Vec<_>>().join(" "))
    }
}

/// Parses `args` against a Python getopt `spec` (`"n:r:tcp:qov:"`: a
/// letter followed by `:` takes a value) and a list of long option names
/// (without `--`).
pub(crate) fn getopt<'a>(spec: &str, long: &[&str], args: &'a str) -> Result<Parsed<'a>, GetoptError> {
    let mut opts = Vec::new();
    let mut words = Words { text: args, pos: 0 };
    let err_long = || long.iter().map(|l| (*l).to_owned()).collect::<Vec<_>>();
    loop {
        let before = words.pos;
        let Some(word) = words.next() else {
            return Ok(Parsed { opts, rest: "" });
        };
        if word == "--" {
            return Ok(Parsed { opts, rest: words.text[words.pos..].trim() });
        }
        if let Some(name) = word.strip_prefix("--") {
            if long.contains(&name) {
                opts.push(Opt::Long(name.to_owned()));
                continue;
            }
            let (key, attached) = name.split_once('=').map_or((name, None), |(k, v)| (k, Some(v)));
            if long.iter().any(|l| l.strip_suffix('=') == Some(key)) {
                let value = match attached {
                    Some(v) => v,
                    None => words.next().ok_or_else(|| GetoptError::RequiresLong { opt: key.to_owned() })?,
                };
                opts.push(Opt::LongValue(key.to_owned(), value.to_owned()));
                continue;
            }
            return Err(GetoptError::NotRecognized { opt: word[1..].to_owned(), spec: spec.to_owned(), long: err_long() });
        }
        let flags = match word.strip_prefix('-') {
            Some(flags) if !flags.is_empty() => flags,
            // The statement starts here (a lone `-` is not an option either).
            _ => return Ok(Parsed { opts, rest: words.text[before..].trim() }),
        };
        for (i, c) in flags.char_indices() {
            match takes_value(spec, c) {
                None => {
                    return Err(GetoptError::NotRecognized { opt: c.to_string(), spec: spec.to_owned(), long: err_long() })
                }
                Some(false) => opts.push(Opt::Short(c, None)),
                Some(true) => {
                    let attached = &flags[i + c.len_utf8()..];
                    let value = if attached.is_empty() {
                        words.next().ok_or(GetoptError::RequiresArgument {
                            opt: c,
                            spec: spec.to_owned(),
                            long: err_long(),
                        })?
                    } else {
                        attached
                    };
                    opts.push(Opt::Short(c, Some(value.to_owned())));
                    break;
                }
            }
        }
    }
}

/// `Some(true)` if `c` is in `spec` and takes a value, `Some(false)` for a
/// flag, `None` if unknown.
fn takes_value(spec: &str, c: char) -> Option<bool> {
    if c == ':' {
        return None;
    }
    let pos = spec.find(c)?;
    Some(spec[pos + c.len_utf8()..].starts_with(':'))
}

/// White-space separated words, remembering where the next one starts so
/// the rest can be cut verbatim.
struct Words<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        let rest = &self.text[self.pos..];
        let start = self.pos + (rest.len() - rest.trim_start().len());
        let tail = &self.text[start..];
        if tail.is_empty() {
            self.pos = self.text.len();
            return None;
        }
        let len = tail.find(char::is_whitespace).unwrap_or(tail.len());
        self.pos = start + len;
        Some(&tail[..len])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = "n:r:tcp:qov:";

    fn short(c: char, v: Option<&str>) -> Opt {
        Opt::Short(c, v.map(str::to_owned))
    }

    #[test]
    fn attached_and_separate_values_are_the_same() {
        let a = getopt(SPEC, &[], "-n10 x").unwrap();
        let b = getopt(SPEC, &[], "-n 10 x").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.opts, vec![short('n', Some("10"))]);
        assert_eq!(a.rest, "x");
    }

    #[test]
    fn combined_flags_and_a_trailing_value() {
        let p = getopt(SPEC, &[], "-qon5 -r 2 f(a,  b)").unwrap();
        assert_eq!(p.opts, vec![short('q', None), short('o', None), short('n', Some("5")), short('r', Some("2"))]);
        assert_eq!(p.rest, "f(a,  b)");
    }

    #[test]
    fn rest_is_verbatim_and_may_start_with_a_dash_after_double_dash() {
        let p = getopt(SPEC, &[], "-q --   -x.abs()  +  1 ;").unwrap();
        assert_eq!(p.opts, vec![short('q', None)]);
        assert_eq!(p.rest, "-x.abs()  +  1 ;");
    }

    #[test]
    fn options_stop_at_the_first_non_option() {
        let p = getopt(SPEC, &[], "f(x) -n 3").unwrap();
        assert!(p.opts.is_empty());
        assert_eq!(p.rest, "f(x) -n 3");
        assert_eq!(getopt(SPEC, &[], "- 1").unwrap().rest, "- 1");
    }

    #[test]
    fn repeats_are_kept_in_order() {
        let p = getopt(SPEC, &[], "-n 1 -n 2").unwrap();
        assert_eq!(p.opts, vec![short('n', Some("1")), short('n', Some("2"))]);
        assert_eq!(p.rest, "");
    }

    #[test]
    fn value_may_look_like_an_option() {
        let p = getopt(SPEC, &[], "-n -5 x").unwrap();
        assert_eq!(p.opts, vec![short('n', Some("-5"))]);
    }

    #[test]
    fn ipython_error_messages() {
        let e = getopt(SPEC, &[], "-x 1").unwrap_err();
        assert_eq!(e.to_string(), r#"option -x not recognized (allowed: "n:r:tcp:qov:")"#);
        let e = getopt(SPEC, &[], "-n").unwrap_err();
        assert_eq!(e.to_string(), r#"option -n requires argument (allowed: "n:r:tcp:qov:")"#);
        let e = getopt(SPEC, &[], "-q:").unwrap_err();
        assert_eq!(e.to_string(), r#"option -: not recognized (allowed: "n:r:tcp:qov:")"#);
    }

    #[test]
    fn long_options() {
        let p = getopt("", &["no-raise-error"], "--no-raise-error f()").unwrap();
        assert_eq!(p.opts, vec![Opt::Long("no-raise-error".into())]);
        assert_eq!(p.rest, "f()");
        let e = getopt("", &["no-raise-error"], "--nope f()").unwrap_err();
        assert_eq!(e.to_string(), r#"option --nope not recognized (allowed: "" --no-raise-error)"#);
    }

    #[test]
    fn empty_and_unicode_input() {
        assert_eq!(getopt(SPEC, &[], "").unwrap(), Parsed { opts: vec![], rest: "" });
        assert_eq!(getopt(SPEC, &[], "  \t ").unwrap().rest, "");
        assert!(getopt(SPEC, &[], "-é").is_err());
        assert_eq!(getopt(SPEC, &[], "-nü x").unwrap().opts, vec![short('n', Some("ü"))]);
    }
}
