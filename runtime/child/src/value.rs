//! A cell's value shown in one compilation, not two.
//!
//! evcxr shows a cell's final expression by compiling
//! `(expr).evcxr_display();` first and, when that fails to compile (no
//! such method: every `i32`, `String` or `Vec`), compiling the cell again
//! with `evcxr_send_text_plain(&format!("{:?}", &(expr)))`. The failed
//! first build cost 120–230 ms of a 300–670 ms plain cell (measured with
//! `PARLAB_TRACE_CELLS`, phase "Fallback"): the largest single cost of a
//! cell like `N + 1`.
//!
//! [`StdDisplay`] gives the standard library's common value types an
//! `evcxr_display` that prints exactly what the fallback prints, so the
//! first build succeeds. It is implemented for std types only, never as a
//! blanket impl: a crate's type with its own `evcxr_display` (inherent, or
//! through its own trait) keeps it, since no impl of this trait can apply
//! to it. The kernel imports the trait once per session (`use … as _`).
//!
//! evcxr's `:fmt` and `:types` change what the fallback prints; after
//! either, the kernel also imports [`Deferred`], whose identical impls
//! make the call ambiguous, so evcxr's own fallback prints again.
//!
//! ```
//! use parlab_child::value::StdDisplay as _;
//! (40 + 2).evcxr_display(); // prints the block evcxr reads: `42`
//! ```

use std::io::Write;

/// Prints `text` as evcxr's fallback does (`evcxr_send_text_plain`).
pub fn send_text_plain(text: &str) {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let _ = out.write_all(b"EVCXR_BEGIN_CONTENT text/plain\n");
    let _ = out.write_all(text.as_bytes());
    let _ = out.write_all(b"\nEVCXR_END_CONTENT\n");
}

/// `evcxr_display` for standard value types: their `{:?}`, as evcxr's
/// fallback prints them.
pub trait StdDisplay {
    fn evcxr_display(&self);
}

/// Makes `evcxr_display` ambiguous for the same types, so evcxr's own
/// fallback runs (after `:fmt` or `:types`).
pub trait Deferred {
    fn evcxr_display(&self);
}

macro_rules! std_display {
    ($([$($gen:tt)*] $ty:ty),* $(,)?) => {$(
        impl<$($gen)*> StdDisplay for $ty {
            fn evcxr_display(&self) {
                send_text_plain(&format!("{:?}", self));
            }
        }
        impl<$($gen)*> Deferred for $ty {
            fn evcxr_display(&self) {
                send_text_plain(&format!("{:?}", self));
            }
        }
    )*};
}

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt::Debug;

std_display! {
    [] (), [] bool, [] char, [] str, [] String,
    [] i8, [] i16, [] i32, [] i64, [] i128, [] isize,
    [] u8, [] u16, [] u32, [] u64, [] u128, [] usize,
    [] f32, [] f64,
    [] std::time::Duration,
    [T: Debug] Vec<T>, [T: Debug] [T], [T: Debug, const N: usize] [T; N], [T: Debug] VecDeque<T>,
    [T: Debug] Option<T>, [T: Debug, E: Debug] Result<T, E>, [T: Debug + ?Sized] Box<T>,
    [K: Debug, V: Debug, S] HashMap<K, V, S>, [T: Debug, S] HashSet<T, S>,
    [K: Debug, V: Debug] BTreeMap<K, V>, [T: Debug] BTreeSet<T>,
    [A: Debug, B: Debug] (A, B), [A: Debug, B: Debug, C: Debug] (A, B, C),
    [A: Debug, B: Debug, C: Debug, D: Debug] (A, B, C, D),
}

#[cfg(test)]
mod tests {
    use super::StdDisplay as _;

    #[test]
    fn std_values_have_a_display_call() {
        // These compile: that is the point (the output goes to stdout).
        (1 + 1).evcxr_display();
        "s".evcxr_display();
        vec![1u8, 2].evcxr_display();
        (1, "a", 2.5).evcxr_display();
        Some(vec![(1, 'c')]).evcxr_display();
        ().evcxr_display();
        [1u64; 3].evcxr_display();
    }
}
