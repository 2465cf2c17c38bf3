//! How a `%%mpirun` cell's failures look: compile errors and panics in the
//! notebook's own cells and lines, a failed rank named by its number,
//! mpirun's banners reduced to the sentence that matters.

use super::build::Diagnostic;
use super::relay_markers::RankPanic;
use crate::engine::errors::{excerpt_rows, keyboard_interrupt, rule, simple, GREEN, RED, RESET};
use crate::interpreter::Outcome;
use parlab_magics::mpirun::Program;


/// `mpirun` is not installed.
pub(crate) fn mpirun_missing(program: &str) -> Outcome {
    simple(
        "MpirunNotFound",
        format!(
            "`{program}` was not found. %%mpirun needs Open MPI: on Debian/Ubuntu, \
             `apt-get install openmpi-bin libopenmpi-dev libclang-dev` (openmpi-bin provides mpirun; \
             libopenmpi-dev and libclang-dev are needed to build the program). \
             Set PARLAB_MPIRUN to use another mpirun."
        ),
    )
}

/// rustc's errors, with program lines shown as the cells' lines.
pub(crate) fn compile_errors(errors: &[Diagnostic], program: &Program) -> Outcome {
    let traceback = errors
        .iter()
        .map(|d| {
            let text = d.rendered.as_deref().unwrap_or(&d.message);
            let text = remap(text.trim_end(), program);
            match text.strip_prefix("error") {
                Some(rest) => format!("{RED}error{RESET}{rest}"),
                None => text,
            }
        })
        .collect();
    let evalue = errors.first().map(|d| d.message.clone()).unwrap_or_default();
    Outcome::Error { ename: "CompileError".into(), evalue, traceback }
}

/// cargo failed before compiling the program (usually a dependency).
pub(crate) fn cargo_failed(stderr: &str) -> Outcome {
    let tail: Vec<&str> = stderr.lines().filter(|l| !l.trim_start().starts_with("Compiling ")).collect();
    let tail = tail[tail.len().saturating_sub(40)..].join("\n");
    let hint = if ["mpi-sys", "clang", "mpi.h", "build-probe-mpi"].iter().any(|w| stderr.contains(w)) {
        "building the mpi crate failed: it needs Open MPI's headers and libclang \
         (Debian/Ubuntu: apt-get install libopenmpi-dev libclang-dev)"
    } else {
        "cargo could not build the program"
    };
    let mut tb = rule("BuildError");
    tb.push(tail);
    tb.push(format!("{RED}BuildError{RESET}: {hint}"));
    Outcome::Error { ename: "BuildError".into(), evalue: hint.into(), traceback: tb }
}

/// Rewrites `src/main.rs:L:C` locations and the line-number gutter of a
/// rendered rustc diagnostic into cell lines.
pub(crate) fn remap(rendered: &str, program: &Program) -> String {
    let mut out = Vec::new();
    for line in rendered.lines() {
        let line = remap_locations(line, program);
        out.push(remap_gutter(&line, program).unwrap_or(line));
    }
    out.join("\n")
}

fn remap_locations(line: &str, program: &Program) -> String {
    const FILE: &str = "src/main.rs:";
    let mut out = String::new();
    let mut rest = line;
    while let Some(pos) = rest.find(FILE) {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + FILE.len()..];
        let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        match after[..digits].parse::<u32>().ok() {
            Some(n) => {
                match program.origin(n) {
                    Some(o) => out.push_str(&format!("In[{}]:{}", o.cell, o.line)),
                    None => out.push_str(&format!("(parlab's generated main.rs):{n}")),
                }
                rest = &after[digits..];
            }
            None => {
                out.push_str(FILE);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `12 |     code` → `3  |     code`, keeping the gutter's width.
fn remap_gutter(line: &str, program: &Program) -> Option<String> {
    let trimmed = line.trim_start();
    let indent = line.len() - trimmed.len();
    let digits = trimmed.len() - trimmed.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 || !trimmed[digits..].trim_start().starts_with('|') {
        return None;
    }
    let n: u32 = trimmed[..digits].parse().ok()?;
    let mapped = program.origin(n)?.line.to_string();
    // rustc left-aligns the numbers in a gutter as wide as the longest.
    let width = indent + digits;
    Some(format!("{mapped:<width$}{}", &trimmed[digits..]))
}

/// The first panic of a rank, placed in its cell.
pub(crate) fn rank_panic(panics: &[RankPanic], program: &Program) -> Outcome {
    let p = &panics[0];
    let ev = &p.event;
    let mut tb = rule("panic");
    let line = ev.file.as_deref().filter(|f| f.ends_with("src/main.rs")).and(ev.line);
    match line.and_then(|l| Some((l, program.origin(l)?))) {
        Some((l, origin)) => {
            tb.push(format!("Rank {}, cell {GREEN}In[{}]{RESET}, line {}", p.rank, origin.cell, origin.line));
            tb.push(excerpt(program, l));
        }
        None => {
            if let (Some(file), Some(line)) = (&ev.file, ev.line) {
                tb.push(format!("Rank {} at {file}:{line}", p.rank));
            }
        }
    }
    let thread = if ev.main { String::new() } else { format!(" (in thread '{}')", ev.thread) };
    let others: Vec<String> = panics[1..].iter().map(|o| o.rank.to_string()).filter(|r| *r != p.rank.to_string()).collect();
    tb.push(String::new());
    tb.push(format!("{RED}panic{RESET}: rank {} panicked: {}{thread}", p.rank, ev.message));
    if !others.is_empty() {
        tb.push(format!("(rank {} panicked too)", others.join(", ")));
    }
    Outcome::Error { ename: "panic".into(), evalue: format!("rank {} panicked: {}", p.rank, ev.message), traceback: tb }
}

/// Program lines around `line` that come from the same cell, numbered as
/// in the cell, with an arrow at `line` (IPython's layout).
fn excerpt(program: &Program, line: u32) -> String {
    let lines: Vec<&str> = program.main_rs.lines().collect();
    let Some(at) = program.origin(line) else { return String::new() };
    let rows = (line.saturating_sub(2).max(1)..=line + 2).filter_map(|n| {
        let (o, text) = (program.origin(n)?, lines.get(n as usize - 1)?);
        (o.cell == at.cell).then_some((o.line as usize, *text, n == line))
    });
    excerpt_rows(rows)
}

/// The job failed without a panic: a rank exited with an error or a
/// signal, or mpirun could not start it. mpirun's explanation, shortened.
pub(crate) fn job_failed(status: Option<i32>, mpirun_lines: &[String], ranks: u32) -> Outcome {
    let text = mpirun_lines.join("\n");
    let field = |name: &str| {
        mpirun_lines.iter().find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_owned()))
    };
    // "Process name: [[38012,1],1]" → 1
    let rank = field("Process name:").and_then(|p| p.trim_end_matches(']').rsplit(',').next().map(str::to_owned));
    let evalue = if text.contains("not enough slots") {
        format!("not enough slots for {ranks} ranks: add --oversubscribe to run more ranks than cores, or add hosts (--hostfile)")
    } else if let (Some(rank), Some(code)) = (&rank, field("Exit code:")) {
        format!("rank {rank} exited with status {code}")
    } else if let Some(line) = mpirun_lines.iter().find(|l| l.contains("exited on signal")) {
        // "mpirun noticed that process rank 1 with PID 0 on node x exited on signal 11 (Segmentation fault)."
        let rank = line.split("process rank ").nth(1).and_then(|r| r.split_whitespace().next()).unwrap_or("?");
        let signal = line.split("exited on signal ").nth(1).unwrap_or("").trim_end_matches('.');
        format!("rank {rank} was killed by signal {signal}")
    } else {
        match status {
            Some(code) => format!("mpirun failed with status {code}"),
            None => "mpirun was killed by a signal".to_owned(),
        }
    };
    let mut tb = rule("MpiError");
    let shown: Vec<&str> = mpirun_lines.iter().map(String::as_str).filter(|l| !l.trim().is_empty() && !l.starts_with("-----")).collect();
    if !shown.is_empty() {
        tb.push(shown.join("\n"));
    }
    tb.push(format!("{RED}MpiError{RESET}: {evalue}"));
    Outcome::Error { ename: "MpiError".into(), evalue, traceback: tb }
}

/// The cell was interrupted: every rank (or the build) was stopped.
pub(crate) fn interrupted(what: &str) -> Outcome {
    keyboard_interrupt(format!("{what}; the notebook's variables are untouched"))
}
