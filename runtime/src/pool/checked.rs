//! A parallel-iterator adapter that looks at the stop and interrupt flags
//! between blocks of tasks instead of before every task.
//!
//! Two relaxed atomic loads per task look free, but in a loop of tiny
//! tasks they keep the compiler from vectorising and cost `map` half of
//! rayon's throughput. So each rayon leaf runs its tasks in blocks, checks
//! once per block, and sizes blocks by time: a block that took less than
//! [`SLICE`] doubles (up to [`MAX_BLOCK`]), a slower one drops back to one
//! task. Long tasks are thus checked one by one (an interrupt waits for at
//! most the running task), tiny ones every few microseconds.

use super::task::Guard;
use crate::timeline::CallRecorder;
use rayon::iter::plumbing::{bridge, Consumer, Folder, Producer, ProducerCallback, UnindexedConsumer};
use rayon::iter::{IndexedParallelIterator, ParallelIterator};
use std::time::{Duration, Instant};

const SLICE: Duration = Duration::from_micros(20);
const MAX_BLOCK: usize = 4096;

pub(super) struct Checked<'g, I> {
    base: I,
    guard: &'g Guard,
    rec: Option<&'g CallRecorder>,
}

impl<'g, I> Checked<'g, I> {
    /// `rec`, when a timeline is taken, learns where each chunk (a rayon
    /// leaf: tasks one worker runs in order) starts.
    pub(super) fn new(base: I, guard: &'g Guard, rec: Option<&'g CallRecorder>) -> Self {
        Checked { base, guard, rec }
    }
}

impl<I: IndexedParallelIterator> ParallelIterator for Checked<'_, I> {
    type Item = I::Item;

    fn drive_unindexed<C: UnindexedConsumer<Self::Item>>(self, consumer: C) -> C::Result {
        bridge(self, consumer)
    }

    fn opt_len(&self) -> Option<usize> {
        Some(self.base.len())
    }
}

impl<I: IndexedParallelIterator> IndexedParallelIterator for Checked<'_, I> {
    fn len(&self) -> usize {
        self.base.len()
    }

    fn drive<C: Consumer<Self::Item>>(self, consumer: C) -> C::Result {
        bridge(self, consumer)
    }

    fn with_producer<CB: ProducerCallback<Self::Item>>(self, callback: CB) -> CB::Output {
        let len = self.base.len();
        return self.base.with_producer(Callback { callback, guard: self.guard, rec: self.rec, len });

        struct Callback<'g, CB> {
            callback: CB,
            guard: &'g Guard,
            rec: Option<&'g CallRecorder>,
            len: usize,
        }

        impl<T, CB: ProducerCallback<T>> ProducerCallback<T> for Callback<'_, CB> {
            type Output = CB::Output;

            fn callback<P: Producer<Item = T>>(self, base: P) -> CB::Output {
                self.callback.callback(CheckedProducer { base, guard: self.guard, rec: self.rec, start: 0, len: self.len })
            }
        }
    }
}

struct CheckedProducer<'g, P> {
    base: P,
    guard: &'g Guard,
    rec: Option<&'g CallRecorder>,
    /// Index of the first task (the position in the whole call).
    start: usize,
    len: usize,
}

impl<P: Producer> Producer for CheckedProducer<'_, P> {
    type Item = P::Item;
    type IntoIter = P::IntoIter;

    fn into_iter(self) -> P::IntoIter {
        self.guard.check();
        self.base.into_iter()
    }

    fn min_len(&self) -> usize {
        self.base.min_len()
    }

    fn max_len(&self) -> usize {
        self.base.max_len()
    }

    fn split_at(self, index: usize) -> (Self, Self) {
        let (left, right) = self.base.split_at(index);
        let (guard, rec, start) = (self.guard, self.rec, self.start);
        (
            CheckedProducer { base: left, guard, rec, start, len: index },
            CheckedProducer { base: right, guard, rec, start: start + index, len: self.len - index },
        )
    }

    fn fold_with<F: Folder<Self::Item>>(self, mut folder: F) -> F {
        if let Some(rec) = self.rec {
            return self.fold_recorded(rec, folder);
        }
        let (mut rest, mut len, mut block) = (self.base, self.len, 1);
        while len > 0 {
            self.guard.check();
            let take = block.min(len);
            let start = Instant::now();
            let (head, tail) = rest.split_at(take);
            folder = head.fold_with(folder);
            if folder.full() {
                break;
            }
            rest = tail;
            len -= take;
            block = if start.elapsed() < SLICE { (block * 2).min(MAX_BLOCK) } else { 1 };
        }
        folder
    }
}

impl<P: Producer> CheckedProducer<'_, P> {
    /// The leaf as one chunk of the timeline: each task checked, run and
    /// timed on its own.
    fn fold_recorded<F: Folder<P::Item>>(self, rec: &CallRecorder, mut folder: F) -> F {
        let mut rest = self.base;
        for k in 0..self.len {
            self.guard.check();
            let (head, tail) = rest.split_at(1);
            let start = Instant::now();
            folder = head.fold_with(folder);
            rec.record(self.start, self.start + k, start, Instant::now());
            if folder.full() {
                break;
            }
            rest = tail;
        }
        folder
    }
}
