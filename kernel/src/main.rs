//! `parlab-kernel`: the Jupyter kernel binary.
//!
//! `parlab-kernel --connection-file FILE` serves a notebook;
//! `parlab-kernel install [--user|--prefix DIR|--sys-prefix]` registers the
//! kernelspec. The same binary is also evcxr's evaluation process, which
//! is why [`evcxr::runtime_hook`] must run before anything else.

mod connection;
mod engine;
mod history;
mod install;
mod interpreter;
mod is_complete;
mod protocol;
mod server;
mod wire;

#[cfg(test)]
mod tests;

use anyhow::{bail, Context, Result};
use std::sync::Arc;

fn main() {
    // First: the evaluation process (this binary, re-executed by evcxr)
    // publishes its allocation counters before anything else runs.
    parlab_alloc::publish();
    evcxr::runtime_hook();
    if let Err(e) = run() {
        eprintln!("parlab-kernel: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("install") => install::install(&args[1..]),
        // install.sh, after warming slot 0: what new build slots start from.
        Some("seed") => {
            let seed = engine::refresh_seed()?;
            println!("build seed: {}", seed.display());
            Ok(())
        }
        Some("--version") => {
            println!("parlab-kernel {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Some("--connection-file") => serve(args.get(1).context("--connection-file needs a path")?),
        Some(path) if !path.starts_with('-') => serve(path),
        _ => bail!("usage: parlab-kernel --connection-file FILE | parlab-kernel install [--user|--prefix DIR|--sys-prefix]"),
    }
}

fn serve(path: &str) -> Result<()> {
    let info = connection::ConnectionInfo::from_file(path.as_ref())?;
    let control = Arc::new(engine::ChildControl::default());
    let interrupter: Arc<dyn interpreter::Interrupter> = Arc::new(control.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async move {
        // A SIGINT to the kernel itself (a client in `signal` interrupt mode,
        // or Ctrl-C in the terminal that started Jupyter) interrupts the cell
        // instead of killing the kernel.
        let on_sigint = interrupter.clone();
        tokio::spawn(async move {
            let Ok(mut sig) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()) else { return };
            while sig.recv().await.is_some() {
                on_sigint.interrupt();
            }
        });
        server::serve(info, move || engine::EvcxrInterpreter::new(control), interrupter).await
    })
}
