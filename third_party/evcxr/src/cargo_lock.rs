// parlab's patch of evcxr 0.22 (see third_party/README.md): one cargo at a
// time in the crate directory.
//
// rust-analyzer may load the workspace on a background thread
// (background_analysis.rs), which runs `cargo metadata` in the crate
// directory. cargo writes `Cargo.lock` when its resolve changes, so two
// cargo processes on one manifest can rewrite the lock file under each
// other. Every cargo evcxr starts in the crate directory holds this lock
// while it runs: the foreground waits at most for one `cargo metadata`,
// not for the whole analysis.

use std::sync::Mutex;
use std::sync::MutexGuard;

static CARGO: Mutex<()> = Mutex::new(());

/// Held while a cargo process runs in the crate directory.
pub(crate) fn hold() -> MutexGuard<'static, ()> {
    // A panic while holding it poisoned nothing that the lock guards.
    CARGO.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
