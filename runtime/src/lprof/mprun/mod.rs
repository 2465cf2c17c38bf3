//! `%mprun`: allocations per line of notebook functions, in line_profiler's
//! layout, from the same instrumented copies as `%lprun`.
//!
//! The statement runs once with the counting probes (Hits) and the
//! allocation marks of [`super::allocs`]; there is no sampler and no
//! repeat, because the counts are exact in one run. As with `%lprun`, a
//! panic or an interrupt shows the partial table and then fails the cell,
//! and the kernel puts the original functions back afterwards.

mod profile;

pub use profile::{AllocLine, AllocProfile, FunctionAllocs};

use super::{allocs, run_caught, table, FnMeta};
use std::panic::resume_unwind;
use std::sync::atomic::Ordering::Relaxed;

/// `%mprun` options that affect output.
#[derive(Debug, Clone, Copy, Default)]
pub struct MprunOptions {
    /// `-T FILE`: also write the text report there.
    pub text_file: Option<&'static str>,
}

/// Runs `stmt` once with the probes of `functions` counting lines and
/// allocations; shows the report (and writes `-T`'s file) and returns the
/// profile. Without the kernel's counting allocator every figure but Hits
/// is 0, and the report says so.
pub fn mprun<R>(functions: &[FnMeta], opts: MprunOptions, mut stmt: impl FnMut() -> R) -> AllocProfile {
    let api = parlab_alloc::api();
    table::reset(true);
    // The output relay's allocations for earlier output stay out.
    parlab_child::settle_stdout();
    if let Some(api) = api {
        allocs::STATEMENT_THREAD.store((api.thread)() as *const _ as *mut _, Relaxed);
        allocs::GENERATION.store((api.track_begin)(), Relaxed);
    }
    allocs::ACTIVE.store(api.is_some(), Relaxed);
    table::MODE.store(table::COUNT, Relaxed);
    let outcome = run_caught(&mut stmt);
    table::MODE.store(table::OFF, Relaxed);
    allocs::ACTIVE.store(false, Relaxed);
    // Net is summed from the table now, the statement's end.
    let untracked = api.map_or(0, |api| {
        (api.track_end)();
        (api.untracked)()
    });
    let lines: Vec<usize> = functions.iter().map(|f| f.lines.len()).collect();
    let counts = table::collect(&lines);
    // Net: the tagged blocks still allocated now, the statement's end.
    let net = |fn_id: usize, index: usize| {
        let tag = allocs::tag(fn_id as u32, index as u32);
        match api {
            Some(api) if tag != 0 => (api.net)(tag),
            _ => 0,
        }
    };
    let profile = AllocProfile {
        counted: api.is_some(),
        functions: functions
            .iter()
            .zip(&counts)
            .enumerate()
            .map(|(fn_id, (f, counts))| FunctionAllocs {
                name: f.name.to_owned(),
                file: format!("<cell {}>", f.cell),
                first_line: f.first_line,
                lines: f
                    .lines
                    .iter()
                    .zip(counts)
                    .zip(f.first_line..)
                    .enumerate()
                    .map(|(index, ((source, c), line))| AllocLine {
                        line,
                        source: (*source).to_owned(),
                        hits: c.hits,
                        allocs: c.allocs,
                        bytes: c.bytes,
                        peak: c.peak,
                        net: net(fn_id, index),
                    })
                    .collect(),
            })
            .collect(),
    };
    let text = profile.to_text();
    crate::display::display(crate::display::MimeBundle::text(text.clone()).with_html(profile.to_html()));
    if untracked > 0 {
        println!("Note: Net is a lower bound: {untracked} blocks did not fit the allocator's table.");
    }
    if let Some(path) = opts.text_file {
        match std::fs::write(path, &text) {
            Ok(()) => println!("\n*** Profile printout saved to text file '{path}'."),
            Err(e) => eprintln!("cannot write {path:?}: {e}"),
        }
    }
    if let Err(payload) = outcome {
        if crate::interrupt::is_interrupt(&*payload) {
            println!("\n*** KeyboardInterrupt exception caught in code being profiled.");
        }
        resume_unwind(payload);
    }
    profile
}
