//! Splitting mpirun's `--tag-output` stream back into each rank's lines.
//!
//! With `--tag-output`, Open MPI prefixes what each rank writes with
//! `[JOB,RANK]<stdout>:` (or `<stderr>:`, `<stddiag>:`). It tags every
//! *chunk* it reads from a rank, not every line: Rust's stderr is
//! unbuffered, so `eprintln!("x = {x}")` arrives as three writes, and two
//! ranks writing at once come out as
//!
//! ```text
//! [1,0]<stderr>:x = [1,1]<stderr>:x = 7
//! [1,0]<stderr>:3[1,0]<stderr>:
//! ```
//!
//! A chunk that does not end a line is always followed by another tag, so
//! the text after a tag belongs to that rank up to the next tag or the end
//! of the physical line, and a rank's line is complete when the physical
//! line ends. Lines with no tag are mpirun's own messages.

use std::collections::HashMap;

/// Which of a rank's streams a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

/// A complete line of a rank, or one of mpirun's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    Rank { rank: u32, stream: Stream, text: String },
    Mpirun(String),
}

/// Per-stream state: the partial line of each rank.
#[derive(Default)]
pub(crate) struct Demux {
    partial: HashMap<(u32, Stream), String>,
}

impl Demux {
    /// One physical line of mpirun's output, without its newline.
    pub(crate) fn line(&mut self, physical: &str) -> Vec<Piece> {
        let tags = find_tags(physical);
        let Some(first) = tags.first() else {
            return vec![Piece::Mpirun(physical.to_owned())];
        };
        let mut out = Vec::new();
        if first.start > 0 {
            out.push(Piece::Mpirun(physical[..first.start].to_owned()));
        }
        for (i, tag) in tags.iter().enumerate() {
            let end = tags.get(i + 1).map_or(physical.len(), |next| next.start);
            let text = &physical[tag.end..end];
            let buf = self.partial.entry((tag.rank, tag.stream)).or_default();
            buf.push_str(text);
            if i + 1 == tags.len() {
                let text = std::mem::take(buf);
                out.push(Piece::Rank { rank: tag.rank, stream: tag.stream, text });
            }
        }
        out
    }

    /// Partial lines left when the stream ended (a rank's last `print!`
    /// without a newline), in rank order.
    pub(crate) fn finish(&mut self) -> Vec<Piece> {
        let mut rest: Vec<_> = self.partial.drain().filter(|(_, text)| !text.is_empty()).collect();
        rest.sort_by_key(|((rank, _), _)| *rank);
        rest.into_iter().map(|((rank, stream), text)| Piece::Rank { rank, stream, text }).collect()
    }
}

struct Tag {
    start: usize,
    end: usize,
    rank: u32,
    stream: Stream,
}

/// Every `[J,R]<stream>:` in `s`.
fn find_tags(s: &str) -> Vec<Tag> {
    let mut tags = Vec::new();
    let mut from = 0;
    while let Some(pos) = s[from..].find('[') {
        let start = from + pos;
        match parse_tag(&s[start..]) {
            Some((len, rank, stream)) => {
                tags.push(Tag { start, end: start + len, rank, stream });
                from = start + len;
            }
            None => from = start + 1,
        }
    }
    tags
}

/// `[digits,digits]<stdout|stderr|stddiag>:` at the start of `s`: its
/// length, the rank and the stream.
fn parse_tag(s: &str) -> Option<(usize, u32, Stream)> {
    let rest = s.strip_prefix('[')?;
    let close = rest.find(']')?;
    let (job, rank) = rest[..close].split_once(',')?;
    if job.is_empty() || !job.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let rank: u32 = rank.parse().ok()?;
    let after = &rest[close + 1..];
    let (stream, name) = [(Stream::Stdout, "<stdout>:"), (Stream::Stderr, "<stderr>:"), (Stream::Stderr, "<stddiag>:")]
        .into_iter()
        .find(|(_, name)| after.starts_with(name))?;
    Some((1 + close + 1 + name.len(), rank, stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rank(rank: u32, stream: Stream, text: &str) -> Piece {
        Piece::Rank { rank, stream, text: text.into() }
    }

    #[test]
    fn whole_lines() {
        let mut d = Demux::default();
        assert_eq!(d.line("[1,0]<stdout>:hello [0]"), [rank(0, Stream::Stdout, "hello [0]")]);
        assert_eq!(d.line("[12,3]<stderr>:"), [rank(3, Stream::Stderr, "")]);
        assert_eq!(d.line("--------"), [Piece::Mpirun("--------".into())]);
    }

    #[test]
    fn interleaved_chunks_of_two_ranks() {
        // What Open MPI printed for two ranks running eprintln!("err from {rank}").
        let mut d = Demux::default();
        assert_eq!(d.line("[1,0]<stderr>:err from [1,1]<stderr>:err from 1"), [rank(1, Stream::Stderr, "err from 1")]);
        assert_eq!(d.line("[1,0]<stderr>:0[1,0]<stderr>:"), [rank(0, Stream::Stderr, "err from 0")]);
        assert!(d.finish().is_empty());
    }

    #[test]
    fn unfinished_lines_come_out_at_the_end() {
        let mut d = Demux::default();
        assert_eq!(d.line("[1,1]<stdout>:50%[1,0]<stdout>:done"), [rank(0, Stream::Stdout, "done")]);
        assert_eq!(d.finish(), [rank(1, Stream::Stdout, "50%")]);
    }

    #[test]
    fn brackets_that_are_not_tags_are_text() {
        let mut d = Demux::default();
        assert_eq!(d.line("[1,0]<stdout>:v = [1,2] [a,b]<stdout>"), [rank(0, Stream::Stdout, "v = [1,2] [a,b]<stdout>")]);
        assert_eq!(d.line("[1,0]<stddiag>:warning"), [rank(0, Stream::Stderr, "warning")]);
    }
}
