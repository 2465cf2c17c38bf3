// parlab's patch of evcxr 0.22 (see third_party/README.md): a cell moves
// in and out of the variable store only the variables it names.
//
// evcxr generated, for every variable of the session, a type check, a
// `take_variable` before the cell's code and a `put_variable` after it, in
// every cell: each is a generic instantiation rustc must type-check,
// monomorphize and optimize, so every cell grew with the session (100 u64
// variables: ~15 ms of rustc per cell; an ndarray variable instantiates its
// drop glue and `Any` machinery in every later cell). A cell can only use a
// variable whose name it contains: a `macro_rules!` body cannot see the
// caller's locals (hygiene), and format strings' inline arguments are in
// the cell's text too. So names are read as words of the whole text,
// string literals included; a variable named nowhere stays in the store,
// untouched, whatever the cell does (a panic included).

use std::collections::HashSet;

/// Every identifier-like word of `code`, wherever it appears.
pub(crate) fn words(code: &str) -> HashSet<&str> {
    code.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::words;

    #[test]
    fn names_in_code_strings_and_raw_identifiers_count() {
        let w = words(r#"let y = x + 1; println!("{total:?}"); r#type.len()"#);
        for name in ["y", "x", "total", "type", "len"] {
            assert!(w.contains(name), "{name}");
        }
        assert!(!w.contains("tot"));
        assert!(!w.contains("x1"));
    }
}
