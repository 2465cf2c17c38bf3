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
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a background analysis waits before it starts, in case a
/// build comes first. When a notebook runs top to bottom, the next cell
/// arrives a few milliseconds after the last reply; a `cargo metadata` of
/// the analysis already under way (0.6–1.1 s after a change of crates,
/// measured) held that cell's build back, as it held a new kernel's first
/// cell after the evaluation context's own start-up builds.
const GRACE: Duration = Duration::from_millis(250);

pub(crate) struct Analyzer {
    ready: Option<RustAnalyzer>,
    warming: Option<JoinHandle<RustAnalyzer>>,
    /// Reaches a background analysis still in its [`GRACE`]: `true`, a
    /// cell needs the analysis now; `false`, a build starts and the
    /// analysis gives way (the build's own analysis follows it). Dropped,
    /// a newer analysis chained after it takes over.
    waiting: Option<mpsc::Sender<bool>>,
    /// The crate directory, to start afresh after a panic.
    root: PathBuf,
}

impl Analyzer {
    pub(crate) fn new(analyzer: RustAnalyzer, root: PathBuf) -> Analyzer {
        Analyzer {
            ready: Some(analyzer),
            warming: None,
            waiting: None,
            root,
        }
    }

    /// A build is about to start: a background analysis that has not
    /// begun yet is skipped rather than take the cargo lock before it.
    pub(crate) fn give_way(&mut self) {
        if let Some(waiting) = self.waiting.take() {
            let _ = waiting.send(false);
        }
    }

    /// The analyzer, once any background analysis has finished.
    pub(crate) fn get(&mut self) -> &mut RustAnalyzer {
        if let Some(waiting) = self.waiting.take() {
            let _ = waiting.send(true);
        }
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
    ///
    /// After every cell that does not wait, not only after a change of
    /// `Cargo.toml`: such a cell's `use` lines can bring in a crate whose
    /// name resolution the next defining cell would otherwise wait for, and
    /// the thread runs at nice 10, behind any cell being built.
    ///
    /// It starts after [`GRACE`], unless [`Analyzer::give_way`] comes first
    /// (it is then skipped) or [`Analyzer::get`] (it starts at once).
    pub(crate) fn warm(&mut self, source: String) {
        let before = self.warming.take();
        let ready = self.ready.take();
        let root = self.root.clone();
        // Replacing the sender tells an analysis still waiting that this
        // one, chained after it, supersedes it.
        let (waiting, wake) = mpsc::channel();
        self.waiting = Some(waiting);
        let spawned = std::thread::Builder::new()
            .name("evcxr-analysis".to_owned())
            .spawn(move || {
                lower_priority();
                let mut analyzer = match (before, ready) {
                    (Some(before), _) => match before.join() {
                        Ok(analyzer) => analyzer,
                        Err(panic) => std::panic::resume_unwind(panic),
                    },
                    (None, Some(analyzer)) => analyzer,
                    (None, None) => unreachable!("the analyzer is either ready or warming"),
                };
                match wake.recv_timeout(GRACE) {
                    Ok(true) | Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Ok(false) | Err(mpsc::RecvTimeoutError::Disconnected) => return analyzer,
                }
                // A panic in the analysis (rust-analyzer's crates, or an
                // unexpected state) must not end the session: the next
                // analysis starts from a fresh analyzer, std reloaded.
                let analysed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
                    if analyzer.set_source(source + PROBE).is_ok() {
                        analyzer.top_level_variables("evcxr_analysis_wrapper");
                        analyzer.top_level_variables(PROBE_FN);
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

/// A function the background analysis infers after the cell's own code.
/// Name resolution alone (all the cell's code needs when it defines no
/// variable) left the next defining cell most of the work: its first
/// type inference lowers the impls of every crate in the graph, for
/// method resolution and trait solving. Measured in a bare session, a
/// first `let v = 1;` 12 s after the kernel's first cell: 2.6–3.0 s
/// (2.2–2.6 s of analysis) without the probe, 0.52 s (82 ms) with it.
/// Literals, a method chain through a closure and `format!` reach what an
/// ordinary cell's inference does. Every later `set_source` replaces the
/// text.
const PROBE_FN: &str = "evcxr_warm_probe";
const PROBE: &str = "\nfn evcxr_warm_probe() {\n    let numbers = vec![1u64, 2, 3];\n    \
                     let total: u64 = numbers.iter().map(|n| n * 2).sum();\n    \
                     let text = format!(\"{total}\");\n    let _ = (text.len(), 1.5f64.sqrt());\n}\n";

/// Gives this thread (and the `cargo metadata` it starts) the nice value
/// 10: a cell being built, in this kernel or another one, goes first; the
/// analysis takes the cycles left. On Linux the nice value is per thread.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain system calls on this thread's own id.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 10);
    }
}

/// Whether `code` may define a variable at its top level: a `let` outside
/// any braces, not followed by the `_` pattern. Strings, character
/// literals and comments are skipped; if the braces do not balance (a raw
/// string, say) every `let` counts. Conservative: a top-level `if let`
/// also answers yes, which only costs the wait. A `let` inside braces (a
/// block, a closure's body, the loops `%timeit` generates) binds nothing
/// evcxr keeps.
pub(crate) fn may_define_variables(code: &str) -> bool {
    match top_level_lets(code) {
        Some(found) => found,
        None => any_let(code),
    }
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// A `let` at `start` that binds a name: not part of a longer word, and
/// not `let _`.
fn binding_let(bytes: &[u8], start: usize) -> bool {
    let end = start + 3;
    if bytes.get(start..end) != Some(b"let".as_slice())
        || (start > 0 && is_ident(bytes[start - 1]))
        || bytes.get(end).copied().is_some_and(is_ident)
    {
        return false;
    }
    let mut i = end;
    while bytes.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
        i += 1;
    }
    let wildcard = bytes.get(i) == Some(&b'_') && !bytes.get(i + 1).copied().is_some_and(is_ident);
    !wildcard
}

/// At `at`, `#…#"` or `"` opening a raw string: the number of `#`.
fn raw_string_start(bytes: &[u8], at: usize) -> Option<usize> {
    let hashes = bytes[at.min(bytes.len())..].iter().take_while(|&&b| b == b'#').count();
    (bytes.get(at + hashes) == Some(&b'"')).then_some(hashes)
}

fn any_let(code: &str) -> bool {
    let bytes = code.as_bytes();
    (0..bytes.len()).any(|i| binding_let(bytes, i))
}

/// Whether a binding `let` stands at brace depth 0; `None` if the braces
/// do not balance.
fn top_level_lets(code: &str) -> Option<bool> {
    let bytes = code.as_bytes();
    let (mut depth, mut found, mut i) = (0i64, false, 0);
    while i < bytes.len() {
        match bytes[i] {
            // A raw string, `r"…"`, `r#"…"#`, `br"…"` (no escapes inside).
            b'r' if (i == 0
                || !is_ident(bytes[i - 1])
                || (bytes[i - 1] == b'b' && (i < 2 || !is_ident(bytes[i - 2]))))
                && raw_string_start(bytes, i + 1).is_some() =>
            {
                let hashes = raw_string_start(bytes, i + 1)?;
                let mut j = i + 1 + hashes + 1;
                loop {
                    if j >= bytes.len() {
                        return None;
                    }
                    if bytes[j] == b'"'
                        && bytes.len() >= j + 1 + hashes
                        && bytes[j + 1..j + 1 + hashes].iter().all(|&b| b == b'#')
                    {
                        break;
                    }
                    j += 1;
                }
                i = j + hashes;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if i >= bytes.len() {
                    return None;
                }
            }
            b'\'' if bytes.get(i + 2) == Some(&b'\'') => i += 2,
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 1;
            }
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth < 0 {
                    return None;
                }
            }
            b'l' if depth == 0 && binding_let(bytes, i) => found = true,
            _ => {}
        }
        i += 1;
    }
    (depth == 0).then_some(found)
}

#[cfg(test)]
mod tests {
    use super::may_define_variables;

    /// The probe reaches what the claim says: with the standard library
    /// loaded, its variables get their types through `Iterator::sum`, a
    /// closure and `format!` (an unresolved method or macro would leave a
    /// type unknown).
    #[test]
    fn the_probe_resolves_methods_and_macros_of_std() {
        use crate::rust_analyzer::{RustAnalyzer, TypeName};
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[package]\nname = \"probe\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[lib]\n",
        )
        .unwrap();
        let mut ra = RustAnalyzer::new(dir.path()).unwrap();
        ra.set_source(super::PROBE.to_owned()).unwrap();
        let vars = ra.top_level_variables(super::PROBE_FN);
        let type_of = |name: &str| match &vars[name].type_name {
            TypeName::Named(t) => t.clone(),
            _ => panic!("{name} has no named type"),
        };
        assert_eq!(type_of("numbers"), "Vec<u64>");
        assert_eq!(type_of("total"), "u64");
        assert_eq!(type_of("text"), "String");
    }

    #[test]
    fn lets_that_bind_a_name_need_the_analysis() {
        assert!(may_define_variables("let x = 1;"));
        assert!(may_define_variables("let mut v = vec![1];"));
        assert!(may_define_variables("let (a, b) = (1, 2);"));
        assert!(may_define_variables("let _x = 1;"));
        assert!(may_define_variables("let _ = 1; let z = 2;"));
    }

    #[test]
    fn lets_inside_braces_bind_nothing_kept() {
        assert!(!may_define_variables("for i in 0..3 { let y = i; }"));
        assert!(!may_define_variables(
            "let _ = { f(|r| { let t = r.start(); t }) };"
        ));
        assert!(may_define_variables("let v = { let t = 1; t };"));
        assert!(may_define_variables(r#"println!("{"); let x = 1;"#));
        assert!(may_define_variables("let c = '{'; x"));
        assert!(may_define_variables("// {\nlet x = 1;"));
        assert!(may_define_variables("/* { */ let x = 1;"));
        // Raw strings have no escapes; their braces are text.
        assert!(may_define_variables(r##"f(r"C:\"); let y = 1;"##));
        assert!(may_define_variables(r##"f(r#"}"#); let y = 1; g("{")"##));
        assert!(!may_define_variables(r##"f(r#"{ let y = 1; }"#)"##));
        assert!(!may_define_variables(r##"f(br"{"); g()"##));
        // Unbalanced or unterminated: every let counts.
        assert!(may_define_variables("} let y = 1; {"));
        assert!(may_define_variables("f(\"{ ); { let y = 1; }"));
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
