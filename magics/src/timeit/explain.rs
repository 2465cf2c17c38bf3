//! Plain-language compile errors for timed statements.
//!
//! `%timeit` runs the statement many times inside an `FnMut` closure, so a
//! statement that moves a notebook variable (`drop(v)`, `consume(v)`) is
//! rejected by rustc with closure-flavoured errors about generated code
//! (E0507 "cannot move out of `v`, a captured variable in an `FnMut`
//! closure", E0382 "use of moved value", E0505 "cannot move out of `v`
//! because it is borrowed"). The user wrote no closure: say what happened
//! and how to fix it, naming the variable.

/// The sentence for a moved-variable error, or `None` if `message` is not
/// one.
pub(crate) fn moved_variable(code: Option<&str>, message: &str) -> Option<String> {
    let about_moves = matches!(code, Some("E0507" | "E0382" | "E0505" | "E0509"))
        || message.contains("moved value")
        || message.contains("cannot move out of");
    if !about_moves {
        return None;
    }
    let name = first_quoted(message).map(variable_name).filter(|n| !n.is_empty());
    Some(match name {
        Some(v) => format!(
            "the timed statement moves `{v}`, so it cannot be repeated; clone it in the setup line \
             (`%%timeit let {v} = {v}.clone();`) or time `{v}.clone()…` instead"
        ),
        None => "the timed statement moves a value, so it cannot be repeated; clone it in the setup line \
                 (`%%timeit let v = v.clone();`) or time `v.clone()…` instead"
            .to_owned(),
    })
}

/// The text between the first pair of backticks.
fn first_quoted(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

/// `*v`, `v.field`, `v[0]` → `v`.
fn variable_name(place: &str) -> &str {
    let place = place.trim_start_matches(['*', '&']);
    let end = place.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(place.len());
    &place[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_variable() {
        let m = moved_variable(Some("E0507"), "cannot move out of `v`, a captured variable in an `FnMut` closure").unwrap();
        assert_eq!(
            m,
            "the timed statement moves `v`, so it cannot be repeated; clone it in the setup line \
             (`%%timeit let v = v.clone();`) or time `v.clone()…` instead"
        );
        assert!(moved_variable(Some("E0382"), "use of moved value: `data`").unwrap().contains("`data`"));
        assert!(moved_variable(Some("E0382"), "borrow of moved value: `w`").unwrap().contains("moves `w`"));
        assert!(moved_variable(Some("E0505"), "cannot move out of `xs` because it is borrowed").unwrap().contains("`xs`"));
        assert!(moved_variable(Some("E0507"), "cannot move out of `*s.name` which is behind a shared reference")
            .unwrap()
            .contains("moves `s`"));
        assert!(moved_variable(None, "cannot move out of a shared reference").unwrap().contains("moves a value"));
    }

    #[test]
    fn other_errors_are_left_alone() {
        assert_eq!(moved_variable(Some("E0425"), "cannot find value `x` in this scope"), None);
        assert_eq!(moved_variable(Some("E0308"), "mismatched types"), None);
    }
}
