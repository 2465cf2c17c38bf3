//! The one table of magics: every name, its line and cell forms, its
//! options and its help text.
//!
//! The planner ([`crate::plan`]) finds a magic's [`Handler`] here, `%lsmagic`
//! lists the table, `%timeit?` renders an entry, and completion offers its
//! names and options. A new magic is one entry in [`entries::MAGICS`] plus
//! the module that plans it; nothing else lists names (a unit test fails
//! when an entry lacks help or completion).
//!
//! ```
//! use parlab_magics::table::{lookup, Mode};
//! let timeit = lookup("timeit", Mode::Cell).unwrap();
//! assert!(timeit.cell.unwrap().starts_with("%%timeit"));
//! assert!(timeit.options.iter().any(|o| o.flag == "-n"));
//! assert!(lookup("mpirun", Mode::Line).is_none());
//! ```

mod entries;
#[cfg(test)]
mod tests;

pub use entries::MAGICS;

/// Whether a magic is used on a line (`%name`) or as a cell's first line
/// (`%%name`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Line,
    Cell,
}

impl Mode {
    /// `%` or `%%`.
    pub fn prefix(self) -> &'static str {
        match self {
            Mode::Line => "%",
            Mode::Cell => "%%",
        }
    }
}

/// One magic, in both its forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Magic {
    /// The name without `%`.
    pub name: &'static str,
    /// One sentence: the first line of its help and its line in `%lsmagic`.
    pub summary: &'static str,
    /// Usage of the line form (`%timeit [-n N] … STATEMENT`), if it has one.
    pub line: Option<&'static str>,
    /// Usage of the cell form, if it has one.
    pub cell: Option<&'static str>,
    /// Whether the line form may be bound: `let r = %timeit -o f();`.
    pub bindable: bool,
    /// Every option, in the order help lists them.
    pub options: &'static [MagicOption],
    /// What it does, for a Rust user: paragraphs separated by blank lines.
    pub details: &'static str,
    /// Cells that use it; each is shown as written.
    pub examples: &'static [&'static str],
    /// Who plans it.
    pub(crate) handler: Handler,
}

/// One option of a magic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MagicOption {
    /// As typed: `-n`, `--oversubscribe`.
    pub flag: &'static str,
    /// The value's placeholder (`N`, `FILE`), or `None` for a flag.
    pub value: Option<&'static str>,
    /// One or two sentences.
    pub help: &'static str,
    /// What completion offers for the value.
    pub completes: Completes,
}

/// Values completion can offer after an option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completes {
    /// Nothing: a number, a file name, free text.
    Nothing,
    /// The notebook's functions (`%lprun -f`).
    Functions,
    /// The notebook's modules and types (`%lprun -m`).
    Modules,
}

/// The planner's entry point for a magic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Handler {
    /// `%timeit`, `%%timeit`: `crate::timeit`.
    Timeit,
    /// `%time`, `%%time`: `crate::timeit`.
    Time,
    /// `%%timeline`: `crate::timeline`.
    Timeline,
    /// `%lprun` (and `%%lprun`): `crate::lprun`.
    Lprun,
    /// `%mprun`: `crate::lprun` (its function selection and steps).
    Mprun,
    /// `%memit`: `crate::memit`.
    Memit,
    /// `%load_ext line_profiler`: `crate::lprun`.
    LoadExt,
    /// `%prun`, `%%prun`: `crate::prun`.
    Prun,
    /// `%%mpirun`: `crate::mpirun`.
    Mpirun,
    /// `%lsmagic`: the table itself.
    Lsmagic,
    /// `%who`, `%whos`: the kernel asks evcxr for the variables.
    Who,
    Whos,
    /// `%env`: rewritten into std calls in the evaluation process.
    Env,
}

/// The entry for `%name` (or `%%name`), if that form exists.
pub fn lookup(name: &str, mode: Mode) -> Option<&'static Magic> {
    MAGICS.iter().find(|m| m.name == name && m.usage(mode).is_some())
}

/// The entry called `name`, in whichever forms it has.
pub fn by_name(name: &str) -> Option<&'static Magic> {
    MAGICS.iter().find(|m| m.name == name)
}

impl Magic {
    /// The usage line of one form.
    pub fn usage(&self, mode: Mode) -> Option<&'static str> {
        match mode {
            Mode::Line => self.line,
            Mode::Cell => self.cell,
        }
    }

    /// The option spelled `flag`, if any.
    pub fn option(&self, flag: &str) -> Option<&'static MagicOption> {
        self.options.iter().find(|o| o.flag == flag)
    }
}
