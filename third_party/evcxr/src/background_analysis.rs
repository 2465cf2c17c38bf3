// parlab's patch of evcxr 0.22 (see third_party/README.md): rust-analyzer
// off the cell's critical path.
//
// evcxr asks rust-analyzer for the types of the variables a cell defines,
// before compiling it. After the crate set changes (a `:dep`, the first
// cell of a process), rust-analyzer reloads the workspace: `cargo
// metadata`, every dependency's sources, their name resolution. Measured
// on 2 cores: 10.3 s of a 13.4 s first cell using parlab's runtime, and
// about 2 s of the evaluation context's start (the standard library).
// A cell that defines no variable does not need the answer, so for such a
// cell the analysis runs on a thread of its own while the cell compiles
// on the other core, and the next cell that does need it waits for it
// (or finds it done).

use crate::rust_analyzer::RustAnalyzer;
use std::path::PathBuf;
use std::thread::JoinHandle;

pub(crate) struct Analyzer {
    ready: Option<RustAnalyzer>,
    warming: Option<JoinHandle<RustAnalyzer>>,
    /// The crate directory, to start afresh after a panic.
    root: PathBuf,
}

impl Analyzer {
    pub(crate) fn new(analyzer: RustAnalyzer, root: PathBuf) -> Analyzer {
        Analyzer {
            ready: Some(analyzer),
            warming: None,
            root,
        }
    }

    /// The analyzer, once any background analysis has finished.
    pub(crate) fn get(&mut self) -> &mut RustAnalyzer {
        if let Some(warming) = self.warming.take() {
            match warming.join() {
                Ok(analyzer) => self.ready = Some(analyzer),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        self.ready
            .as_mut()
            .expect("the analyzer is either ready or warming")
    }

    /// Analyses `source` on a background thread: loads the workspace if
    /// `Cargo.toml` changed and resolves the crate's names, so that the
    /// next `get` finds the work done. Never waits: an analysis still
    /// running is chained to, not joined. An error is left for the next
    /// foreground analysis to meet again.
    pub(crate) fn warm(&mut self, source: String) {
        let before = self.warming.take();
        let ready = self.ready.take();
        let root = self.root.clone();
        let spawned = std::thread::Builder::new()
            .name("evcxr-analysis".to_owned())
            .spawn(move || {
                let mut analyzer = match (before, ready) {
                    (Some(before), _) => match before.join() {
                        Ok(analyzer) => analyzer,
                        Err(panic) => std::panic::resume_unwind(panic),
                    },
                    (None, Some(analyzer)) => analyzer,
                    (None, None) => unreachable!("the analyzer is either ready or warming"),
                };
                // A panic in the analysis (rust-analyzer's crates, or an
                // unexpected state) must not end the session: the next
                // analysis starts from a fresh analyzer, std reloaded.
                let analysed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
                    if analyzer.set_source(source).is_ok() {
                        analyzer.top_level_variables("evcxr_analysis_wrapper");
                    }
                    analyzer
                }));
                match analysed {
                    Ok(analyzer) => analyzer,
                    Err(_) => RustAnalyzer::new(&root).expect("a fresh rust-analyzer"),
                }
            });
        match spawned {
            Ok(handle) => self.warming = Some(handle),
            // The analyzer went with the closure: there is no going on.
            Err(e) => panic!("could not start the analysis thread: {e}"),
        }
    }
}

/// Whether `code` may define a variable at its top level: a `let` not
/// followed by the `_` pattern. Conservative: a nested `let` (in a block,
/// a closure, `if let`) also answers yes, which only costs the wait.
pub(crate) fn may_define_variables(code: &str) -> bool {
    let bytes = code.as_bytes();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut from = 0;
    while let Some(at) = code[from..].find("let") {
        let start = from + at;
        let end = start + 3;
        from = end;
        if (start > 0 && is_ident(bytes[start - 1])) || bytes.get(end).copied().is_some_and(is_ident)
        {
            continue;
        }
        let rest = code[end..].trim_start();
        let rest_bytes = rest.as_bytes();
        let wildcard = rest_bytes.first() == Some(&b'_')
            && !rest_bytes.get(1).copied().is_some_and(is_ident);
        if !wildcard {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::may_define_variables;

    #[test]
    fn lets_that_bind_a_name_need_the_analysis() {
        assert!(may_define_variables("let x = 1;"));
        assert!(may_define_variables("let mut v = vec![1];"));
        assert!(may_define_variables("let (a, b) = (1, 2);"));
        assert!(may_define_variables("let _x = 1;"));
        assert!(may_define_variables("for i in 0..3 { let y = i; }"));
        assert!(may_define_variables("let _ = 1; let z = 2;"));
    }

    #[test]
    fn cells_without_such_a_let_do_not() {
        assert!(!may_define_variables("1 + 1"));
        assert!(!may_define_variables("let _ = parlab_shared_0e4c::LINKED; f(2)"));
        assert!(!may_define_variables("let _: u32 = 3;"));
        assert!(!may_define_variables("outlet(1); letter + deleted"));
        assert!(!may_define_variables("fn f() -> u32 { 1 }"));
    }
}
