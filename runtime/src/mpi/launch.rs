//! Start-up of a `%%mpirun` rank: MPI, a panic hook, and a tie to mpirun.
//!
//! A panic in one rank must end the whole job, quickly and with a clear
//! message. Rust's default hook prints a message and unwinds; the unwind
//! drops the `Universe`, whose `MPI_Finalize` then waits for ranks that
//! are themselves waiting for the panicked one in a collective: the job
//! hangs. So the hook here reports the panic as one marker line on stdout
//! (the same `{"t":"panic",…}` marker the evaluation process uses, which
//! the kernel turns into the cell's error, naming the rank) and calls
//! `MPI_Abort`, which ends every rank.
//!
//! A rank also asks Linux to kill it when its parent (mpirun, or Open
//! MPI's daemon on another host) dies, so a killed mpirun never leaves a
//! spinning rank behind.

use ::mpi::environment::Universe;
use ::mpi::traits::Communicator;

/// Initializes MPI for a generated `main`; never called by users.
pub fn init() -> Universe {
    let Some(universe) = ::mpi::initialize() else {
        eprintln!("parlab: MPI could not be initialized (was it initialized twice?)");
        std::process::exit(1);
    };
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with integer arguments only.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    }
    std::panic::set_hook(Box::new(rank_panic_hook));
    universe
}

fn rank_panic_hook(info: &std::panic::PanicHookInfo<'_>) {
    // Whatever the rank printed before the panic goes out first (the
    // marker shares stdout's buffer), then the job ends.
    parlab_child::report_panic(info);
    ::mpi::topology::SimpleCommunicator::world().abort(101);
}
