//! Reading a line from the notebook user (Python's `input()`).
//!
//! The evaluation process's own stdin carries evcxr's commands, so a cell
//! must not read it directly. [`input`] asks through evcxr's input
//! protocol instead; the kernel turns that into a Jupyter
//! `input_request` and sends the answer back.

fn ask(prompt: &str, password: bool) -> String {
    let cmd = if password { "EVCXR_INPUT_REQUEST_PASSWORD" } else { "EVCXR_INPUT_REQUEST" };
    println!("{cmd}:{prompt}");
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    line.trim_end_matches(['\n', '\r']).to_owned()
}

/// Asks the user for a line of text (empty when the frontend does not
/// allow input).
///
/// ```no_run
/// let name = parlab::input("Your name: ");
/// ```
pub fn input(prompt: &str) -> String {
    ask(prompt, false)
}

/// Like [`input`], with the answer hidden as it is typed.
pub fn password(prompt: &str) -> String {
    ask(prompt, true)
}
