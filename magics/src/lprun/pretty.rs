//! A small token printer: one statement per line, blocks indented.
//!
//! `quote`'s `to_string()` puts a whole function on one line, which makes
//! the instrumented code unreadable in snapshots, in the checked-in
//! fixture and in a compile error. This printer walks the token tree (so
//! string literals are never split) and only decides where white space
//! goes; its output parses to the same tokens.

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};

/// `tokens` laid out with 4-space indents, ending in a newline.
pub(crate) fn pretty(tokens: TokenStream) -> String {
    let mut p = Printer { out: String::new(), depth: 0, inline: 0, at_line_start: true, glue: true, after_brace: false, last_ident: String::new() };
    p.stream(tokens);
    let mut out = p.out.trim_end().to_owned();
    out.push('\n');
    out
}

struct Printer {
    out: String,
    depth: usize,
    /// Nesting inside `(…)`/`[…]`, where `;` (`[0.0; 100]`) stays inline.
    inline: usize,
    /// The last identifier printed: `in ::x` must keep its space.
    last_ident: String,
    at_line_start: bool,
    /// The next token attaches to the previous one without a space.
    glue: bool,
    /// A `}` was just printed: a following `,`, `;`, `.`, `)` or `else`
    /// stays on its line, anything else starts a new one.
    after_brace: bool,
}

impl Printer {
    fn newline(&mut self) {
        let trimmed = self.out.trim_end_matches(' ').len();
        self.out.truncate(trimmed);
        self.out.push('\n');
        self.at_line_start = true;
        self.glue = true;
    }

    fn word(&mut self, s: &str, glue_left: bool) {
        if std::mem::take(&mut self.after_brace) && !matches!(s, "," | ";" | "." | ")" | "?" | "else") {
            self.newline();
        }
        if self.at_line_start {
            self.out.push_str(&"    ".repeat(self.depth));
        } else if !(self.glue || glue_left) {
            self.out.push(' ');
        }
        self.out.push_str(s);
        self.at_line_start = false;
        self.glue = false;
    }

    fn stream(&mut self, tokens: TokenStream) {
        let mut prev_ident = false;
        for tt in tokens {
            match tt {
                TokenTree::Group(g) => match g.delimiter() {
                    Delimiter::Brace => {
                        self.word("{", false);
                        self.depth += 1;
                        self.newline();
                        self.stream(g.stream());
                        self.depth -= 1;
                        if !self.at_line_start {
                            self.newline();
                        }
                        self.word("}", false);
                        self.after_brace = true;
                    }
                    d => {
                        let (open, close) = match d {
                            Delimiter::Parenthesis => ("(", ")"),
                            Delimiter::Bracket => ("[", "]"),
                            _ => ("", ""),
                        };
                        self.word(open, prev_ident);
                        self.glue = true;
                        self.inline += 1;
                        self.stream(g.stream());
                        self.inline -= 1;
                        self.word(close, true);
                    }
                },
                TokenTree::Punct(p) => {
                    let c = p.as_char();
                    let joint = p.spacing() == Spacing::Joint;
                    let glue_left = match c {
                        ',' | ';' | '.' | '?' => true,
                        ':' => (prev_ident && !is_keyword(&self.last_ident)) || self.out.ends_with(':'),
                        '!' => prev_ident && !joint,
                        _ => false,
                    };
                    let unary = matches!(c, '&' | '!' | '-' | '*') && !prev_ident && !self.out.ends_with(')');
                    self.word(&c.to_string(), glue_left);
                    if c == ';' && self.inline == 0 {
                        self.newline();
                    } else if joint || unary || matches!(c, '.' | '#') || self.out.ends_with("::") || (c == '!' && glue_left) {
                        self.glue = true;
                    }
                }
                TokenTree::Ident(i) => {
                    self.last_ident = i.to_string();
                    self.word(&self.last_ident.clone(), false);
                }
                TokenTree::Literal(l) => {
                    self.last_ident.clear();
                    self.word(&l.to_string(), false);
                }
            }
            prev_ident = matches!(self.out.chars().last(), Some(c) if c.is_alphanumeric() || matches!(c, '_' | '>' | '"' | ']'));
        }
    }
}

fn is_keyword(word: &str) -> bool {
    matches!(word, "in" | "as" | "return" | "mut" | "let" | "else" | "match" | "if" | "while" | "for" | "move" | "dyn" | "impl" | "break")
}
