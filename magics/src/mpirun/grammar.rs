//! `%%mpirun`'s options.
//!
//! IPython's getopt (see `crate::getopt`) has no long options with values
//! and stops at the first non-option, so `%%mpirun` gets its own small
//! parser with the same habits: `-n4` and `-n 4` are equal, the last
//! repeat wins, `--` ends our options, and every mistake is one
//! `UsageError` line. Open MPI's spellings are accepted where a user would
//! type them from memory (`-np`, `--host`, `--hostfile=F`, `-hostfile`).
//!
//! Deliberately absent: shell quoting. Words are split on white space, so
//! a hostfile path or an extra mpirun argument cannot contain a space.

use crate::contract::UsageError;

/// Where the ranks run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Hosts {
    /// On this machine (mpirun's default).
    #[default]
    Local,
    /// `--hostfile FILE`: one host per line, with `slots=N`.
    Hostfile(String),
    /// `-H a,b,c` (or `a:2,b:2` for slots).
    List(String),
}

/// The parsed magic line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpirunOptions {
    /// `-n N`: how many ranks.
    pub ranks: u32,
    /// `--hostfile` / `-H`.
    pub hosts: Hosts,
    /// `--oversubscribe`: allow more ranks than cores (slots).
    pub oversubscribe: bool,
    /// Everything after `--`, handed to mpirun unchanged (before the
    /// program).
    pub extra_args: Vec<String>,
}

const ALLOWED: &str = "-n N, --hostfile FILE, -H HOST,HOST, --oversubscribe; mpirun's own options go after --";

fn usage(message: impl std::fmt::Display) -> UsageError {
    UsageError::new(format!("%%mpirun: {message}"))
}

/// Parses the words after `%%mpirun`.
pub(crate) fn parse(args: &str) -> Result<MpirunOptions, UsageError> {
    let mut words = args.split_whitespace();
    let mut ranks = None;
    let mut hostfile = None;
    let mut host_list = None;
    let mut oversubscribe = false;
    let mut extra_args = Vec::new();
    while let Some(word) = words.next() {
        let mut value = |name: &str, attached: Option<&str>| -> Result<String, UsageError> {
            match attached.filter(|v| !v.is_empty()) {
                Some(v) => Ok(v.to_owned()),
                None => words.next().map(str::to_owned).ok_or_else(|| usage(format!("option {name} requires argument"))),
            }
        };
        match word {
            "--" => {
                extra_args.extend(words.by_ref().map(str::to_owned));
                break;
            }
            "--oversubscribe" | "-oversubscribe" => oversubscribe = true,
            "-np" | "--np" | "-n" | "--n" => ranks = Some(value("-n", None)?),
            "-H" | "--host" | "-host" => host_list = Some(value("-H", None)?),
            "--hostfile" | "-hostfile" => hostfile = Some(value("--hostfile", None)?),
            w if w.starts_with("--hostfile=") => hostfile = Some(value("--hostfile", w.strip_prefix("--hostfile="))?),
            w if w.starts_with("--host=") => host_list = Some(value("-H", w.strip_prefix("--host="))?),
            w if w.starts_with("-n") && !w.starts_with("-np") && w.len() > 2 => ranks = Some(value("-n", Some(&w[2..]))?),
            w if w.starts_with("-H") && w.len() > 2 => host_list = Some(value("-H", Some(&w[2..]))?),
            w if w.starts_with('-') => return Err(usage(format!("option {w} not recognized (allowed: {ALLOWED})"))),
            w => return Err(usage(format!("unexpected argument `{w}` (allowed: {ALLOWED})"))),
        }
    }
    let Some(ranks) = ranks else {
        return Err(usage("the number of ranks is required: %%mpirun -n N"));
    };
    let ranks = match ranks.parse::<u32>() {
        Ok(n) if n > 0 => n,
        _ => return Err(usage(format!("-n must be a positive number of ranks, not `{ranks}`"))),
    };
    let hosts = match (hostfile, host_list) {
        (Some(_), Some(_)) => return Err(usage("give either --hostfile or -H, not both")),
        (Some(f), None) => Hosts::Hostfile(f),
        (None, Some(h)) => Hosts::List(h),
        (None, None) => Hosts::Local,
    };
    Ok(MpirunOptions { ranks, hosts, oversubscribe, extra_args })
}

impl MpirunOptions {
    /// mpirun's arguments for these options, up to (not including) the
    /// program: `-n 4 --oversubscribe --hostfile F …extra`.
    pub fn mpirun_args(&self) -> Vec<String> {
        let mut args = vec!["-n".to_owned(), self.ranks.to_string()];
        if self.oversubscribe {
            args.push("--oversubscribe".into());
        }
        match &self.hosts {
            Hosts::Local => {}
            Hosts::Hostfile(f) => args.extend(["--hostfile".to_owned(), f.clone()]),
            Hosts::List(h) => args.extend(["-H".to_owned(), h.clone()]),
        }
        args.extend(self.extra_args.iter().cloned());
        args
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(args: &str) -> MpirunOptions {
        parse(args).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    fn err(args: &str) -> String {
        parse(args).unwrap_err().message
    }

    #[test]
    fn spellings_of_the_rank_count() {
        for args in ["-n 4", "-n4", "-np 4", "--np 4", "-n 2 -n 4"] {
            assert_eq!(ok(args).ranks, 4, "{args}");
        }
    }

    #[test]
    fn hosts_and_oversubscribe() {
        let o = ok("-n 8 --hostfile hosts.txt --oversubscribe");
        assert_eq!(o.hosts, Hosts::Hostfile("hosts.txt".into()));
        assert!(o.oversubscribe);
        assert_eq!(ok("-n 2 --hostfile=h").hosts, Hosts::Hostfile("h".into()));
        assert_eq!(ok("-n 2 -H a,b").hosts, Hosts::List("a,b".into()));
        assert_eq!(ok("-n 2 -Ha:2").hosts, Hosts::List("a:2".into()));
        assert_eq!(ok("-n 2 --host=a").hosts, Hosts::List("a".into()));
    }

    #[test]
    fn extra_args_after_double_dash_are_verbatim_words() {
        let o = ok("-n 2 -- --bind-to core  --map-by socket -x FOO=1");
        assert_eq!(o.extra_args, ["--bind-to", "core", "--map-by", "socket", "-x", "FOO=1"]);
        assert_eq!(
            o.mpirun_args(),
            ["-n", "2", "--bind-to", "core", "--map-by", "socket", "-x", "FOO=1"]
        );
        assert_eq!(ok("-n 3 --oversubscribe -H a,b").mpirun_args(), ["-n", "3", "--oversubscribe", "-H", "a,b"]);
    }

    #[test]
    fn mistakes() {
        assert_eq!(err(""), "%%mpirun: the number of ranks is required: %%mpirun -n N");
        assert_eq!(err("--oversubscribe"), "%%mpirun: the number of ranks is required: %%mpirun -n N");
        assert_eq!(err("-n"), "%%mpirun: option -n requires argument");
        assert_eq!(err("-n 0"), "%%mpirun: -n must be a positive number of ranks, not `0`");
        assert_eq!(err("-n two"), "%%mpirun: -n must be a positive number of ranks, not `two`");
        assert_eq!(err("-n -2"), "%%mpirun: -n must be a positive number of ranks, not `-2`");
        assert!(err("-n 2 -x").starts_with("%%mpirun: option -x not recognized (allowed: -n N,"));
        assert!(err("-n 2 --bind-to core").starts_with("%%mpirun: option --bind-to not recognized"));
        assert!(err("-n 2 prog").starts_with("%%mpirun: unexpected argument `prog`"));
        assert_eq!(err("-n 2 -H a --hostfile f"), "%%mpirun: give either --hostfile or -H, not both");
        assert_eq!(err("-n 2 --hostfile"), "%%mpirun: option --hostfile requires argument");
    }
}
