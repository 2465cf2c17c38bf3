//! The table is complete: every magic has help and completion, and the
//! planner knows every name it lists.

use super::*;
use crate::complete::complete;
use crate::{plan, ItemRegistry, Plan, Session, UsageError};

fn complete_end(code: &str) -> Vec<String> {
    complete(code, code.len(), &ItemRegistry::default(), &[]).map(|c| c.matches).unwrap_or_default()
}

fn forms(m: &Magic) -> impl Iterator<Item = (Mode, &'static str)> + '_ {
    [Mode::Line, Mode::Cell].into_iter().filter_map(|mode| m.usage(mode).map(|u| (mode, u)))
}

#[test]
fn every_magic_has_help_text() {
    for m in MAGICS {
        let name = m.name;
        assert!(m.summary.ends_with('.') && m.summary.len() > 20, "%{name}: summary");
        assert!(m.details.len() > 80, "%{name}: details");
        assert!(!m.examples.is_empty(), "%{name}: examples");
        assert!(forms(m).count() > 0, "%{name}: no form");
        for (mode, usage) in forms(m) {
            assert!(usage.starts_with(&format!("{}{name}", mode.prefix())), "%{name}: usage {usage}");
            let page = crate::help::magic_help(name, mode).unwrap();
            assert!(page.contains(usage) && page.contains(m.summary), "%{name}: page");
        }
        for o in m.options {
            assert!(o.flag.starts_with('-') && o.help.len() > 10, "%{name} {}: help", o.flag);
            let usages: String = forms(m).map(|(_, u)| u).collect();
            assert!(usages.contains(o.flag.trim_start_matches('-')), "%{name}: usage lacks {}", o.flag);
        }
        for e in m.examples {
            assert!(e.contains(&format!("%{name}")), "%{name}: example {e}");
        }
    }
}

#[test]
fn every_magic_has_completion_entries() {
    for m in MAGICS {
        for (mode, _) in forms(m) {
            let typed = format!("{}{}", mode.prefix(), &m.name[..2]);
            let full = format!("{}{}", mode.prefix(), m.name);
            assert!(complete_end(&typed).contains(&full), "{typed} does not offer {full}");
            let flags = complete_end(&format!("{full} -"));
            for o in m.options.iter().filter(|o| !o.flag.starts_with("--")) {
                assert!(flags.iter().any(|f| f == o.flag), "{full} - does not offer {}", o.flag);
            }
            for o in m.options.iter().filter(|o| o.flag.starts_with("--")) {
                assert!(complete_end(&format!("{full} --")).iter().any(|f| f == o.flag), "{full} -- does not offer {}", o.flag);
            }
        }
    }
}

/// A name in the table that the planner does not know would be listed by
/// `%lsmagic` and then fail with "not found".
#[test]
fn the_planner_knows_every_name() {
    let session = Session::default();
    for m in MAGICS {
        for (mode, _) in forms(m) {
            let cell = format!("{}{} ", mode.prefix(), m.name);
            let outcome = plan(&cell, &session);
            if let Err(UsageError { message }) = &outcome {
                assert!(!message.contains("not found"), "{cell}: {message}");
            }
        }
    }
    assert!(matches!(plan("%lsmagic", &session), Ok(Plan::Lsmagic)));
    assert_eq!(plan("%nope", &session).unwrap_err().message, "Line magic function `%nope` not found.");
    assert_eq!(plan("%%nope\nx", &session).unwrap_err().message, "Cell magic `%%nope` not found.");
}

#[test]
fn names_are_unique_and_sorted() {
    let names: Vec<&str> = MAGICS.iter().map(|m| m.name).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(names, sorted);
}
