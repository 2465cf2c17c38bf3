//! `is_complete_request`: is this Rust source ready to run?
//!
//! A lexical scan, not a parse: brackets, strings (incl. raw strings),
//! char literals versus lifetimes, and nested block comments. Unclosed
//! means `incomplete` (with the indent for the next line), a closing
//! bracket that does not match means `invalid`, otherwise `complete`.
//! A full parse would call a cell with a type error "complete" anyway, and
//! the console only needs to know whether to ask for another line.

/// The answer, with the indent to offer for the next line when incomplete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Completeness {
    Complete,
    Incomplete(String),
    Invalid,
}

pub(crate) fn check(code: &str) -> Completeness {
    let trimmed = code.trim_start();
    if trimmed.starts_with("%%") && !trimmed.contains('\n') {
        return Completeness::Incomplete(String::new());
    }
    let chars: Vec<char> = code.chars().collect();
    let mut stack: Vec<char> = Vec::new();
    let mut i = 0;
    let mut open_comment = false;
    let mut open_string = false;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '/' if next == Some('/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '/' if next == Some('*') => {
                let mut depth = 1;
                i += 2;
                while i < chars.len() && depth > 0 {
                    if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                        depth += 1;
                        i += 1;
                    } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                        depth -= 1;
                        i += 1;
                    }
                    i += 1;
                }
                open_comment = depth > 0;
                continue;
            }
            'r' if matches!(next, Some('"') | Some('#')) && !prev_is_ident(&chars, i) => {
                let mut j = i + 1;
                let mut hashes = 0;
                while chars.get(j) == Some(&'#') {
                    hashes += 1;
                    j += 1;
                }
                if chars.get(j) == Some(&'"') {
                    j += 1;
                    let closed = loop {
                        match chars.get(j) {
                            None => break false,
                            Some('"') if (1..=hashes).all(|k| chars.get(j + k) == Some(&'#')) => {
                                j += hashes + 1;
                                break true;
                            }
                            _ => j += 1,
                        }
                    };
                    open_string = !closed;
                    i = j;
                    continue;
                }
            }
            '"' => {
                let mut j = i + 1;
                let closed = loop {
                    match chars.get(j) {
                        None => break false,
                        Some('\\') => j += 2,
                        Some('"') => {
                            j += 1;
                            break true;
                        }
                        _ => j += 1,
                    }
                };
                open_string = !closed;
                i = j;
                continue;
            }
            '\'' => {
                // A char literal is 'x' or '\..'; otherwise a lifetime.
                if next == Some('\\') {
                    let mut j = i + 2;
                    while j < chars.len() && chars[j] != '\'' {
                        j += 1;
                    }
                    i = j + 1;
                    continue;
                } else if chars.get(i + 2) == Some(&'\'') {
                    i += 3;
                    continue;
                }
            }
            '(' | '[' | '{' => stack.push(c),
            ')' | ']' | '}' => {
                let want = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                if stack.pop() != Some(want) {
                    return Completeness::Invalid;
                }
            }
            _ => {}
        }
        i += 1;
    }
    if open_comment || open_string || !stack.is_empty() {
        let last_indent: String = code
            .lines()
            .last()
            .unwrap_or("")
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect();
        let extra = if stack.is_empty() { "" } else { "    " };
        return Completeness::Incomplete(format!("{last_indent}{extra}"));
    }
    Completeness::Complete
}

fn prev_is_ident(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use Completeness::*;

    #[test]
    fn three_states() {
        assert_eq!(check("let x = 1;"), Complete);
        assert_eq!(check("fn f() {"), Incomplete("    ".into()));
        assert_eq!(check("fn f() {\n    if x {"), Incomplete("        ".into()));
        assert_eq!(check("let s = \"abc"), Incomplete("".into()));
        assert_eq!(check("fn f() { ) }"), Invalid);
        assert_eq!(check("let v = vec![1, 2]]"), Invalid);
        assert_eq!(check("%%timeit"), Incomplete("".into()));
        assert_eq!(check("%%timeit\nv.sort();"), Complete);
    }

    #[test]
    fn strings_chars_lifetimes_comments() {
        assert_eq!(check("let c = '{';"), Complete);
        assert_eq!(check("fn f<'a>(x: &'a str) -> &'a str { x }"), Complete);
        assert_eq!(check("let s = r#\"{ \"# ;"), Complete);
        assert_eq!(check("let s = \"\\\"{\";"), Complete);
        assert_eq!(check("// {\nlet x = 1;"), Complete);
        assert_eq!(check("/* { /* } */"), Incomplete("".into()));
        assert_eq!(check("let c = '\\'';"), Complete);
    }
}
