//! What a `Pool::map` splits: a range as it is, anything else collected.
//!
//! rayon splits an indexed source evenly and writes each result straight
//! to its slot, so `map` hands it one. A `Vec` is one already, and
//! collecting a `vec::IntoIter` back into a `Vec` reuses its buffer (no
//! copy). A range is one too, but collecting it first cost most of the
//! call: on `0..200_000` with a trivial task, `map` ran at 0.23 of bare
//! rayon's `into_par_iter().map().collect()` (issue 15). So an integer
//! range (`a..b`, `a..=b` of any integer type up to 64 bits) is split as a
//! count `0..len` whose items are computed (`start + k`), never stored.
//!
//! `map` takes any `IntoIterator`, and stable Rust has no specialization,
//! so ranges are recognised by type identity ([`typeid`], which works for
//! types with lifetimes such as `Vec<&str>`; a range's type has none, so
//! equal ids mean equal types). The checks fold away at compile time.

use rayon::prelude::*;
use std::any::TypeId;
use std::ops::{Range, RangeInclusive};

/// An integer range as a start and a length; items are `start + k`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Counting {
    /// The start's bits; items are `start + k` in wrapping 64-bit
    /// arithmetic, truncated to the item type (exact for every integer
    /// type up to 64 bits, and unlike `i128` it vectorises).
    start: u64,
    len: usize,
}

fn same<T: ?Sized, U: ?Sized + 'static>() -> bool {
    typeid::of::<T>() == TypeId::of::<U>()
}

macro_rules! for_each_int {
    ($m:ident) => {
        $m!(u8);
        $m!(u16);
        $m!(u32);
        $m!(u64);
        $m!(usize);
        $m!(i8);
        $m!(i16);
        $m!(i32);
        $m!(i64);
        $m!(isize);
    };
}

impl Counting {
    /// `items` as a counting range, if it is an integer range whose length
    /// fits in `usize`; otherwise `items` back.
    pub(super) fn of<I>(items: I) -> Result<Counting, I> {
        macro_rules! try_range {
            ($t:ty) => {
                if same::<I, Range<$t>>() {
                    // SAFETY: `I` is `Range<$t>` (same type id, no lifetimes).
                    let r = unsafe { &*(&items as *const I as *const Range<$t>) };
                    let len = (r.end as i128 - r.start as i128).max(0);
                    if let Ok(len) = usize::try_from(len) {
                        return Ok(Counting { start: r.start as u64, len });
                    }
                    return Err(items);
                }
                if same::<I, RangeInclusive<$t>>() {
                    // SAFETY: as above.
                    let r = unsafe { &*(&items as *const I as *const RangeInclusive<$t>) };
                    let len = if r.is_empty() { 0 } else { *r.end() as i128 - *r.start() as i128 + 1 };
                    if let Ok(len) = usize::try_from(len) {
                        return Ok(Counting { start: *r.start() as u64, len });
                    }
                    return Err(items);
                }
            };
        }
        for_each_int!(try_range);
        Err(items)
    }

    /// The range as an indexed parallel iterator of `A`, the range's item
    /// type.
    ///
    /// # Panics
    /// If `A` is not an integer type up to 64 bits ([`Counting::of`] only
    /// makes a `Counting` from such ranges).
    pub(super) fn into_par_iter<A: Send>(self) -> impl IndexedParallelIterator<Item = A> {
        let start = self.start;
        (0..self.len).into_par_iter().map(move |k| item::<A>(start.wrapping_add(k as u64)))
    }
}

/// `bits` truncated to `A`, an integer type.
#[inline(always)]
fn item<A>(bits: u64) -> A {
    macro_rules! try_int {
        ($t:ty) => {
            if same::<A, $t>() {
                let v = bits as $t;
                // SAFETY: `A` is `$t`.
                return unsafe { std::mem::transmute_copy::<$t, A>(&v) };
            }
        };
    }
    for_each_int!(try_int);
    unreachable!("parlab: a counting range of a non-integer type")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items<A: Send, I>(r: I) -> Vec<A> {
        Counting::of(r).map_err(|_| ()).expect("a range").into_par_iter::<A>().collect()
    }

    #[test]
    fn ranges_of_every_integer_type_count_exactly() {
        assert_eq!(items::<u64, _>(3u64..7), vec![3, 4, 5, 6]);
        assert_eq!(items::<i8, _>(-128i8..=127).len(), 256);
        assert_eq!(items::<i8, _>(-128i8..=127)[255], 127);
        assert_eq!(items::<u8, _>(250u8..=255), vec![250, 251, 252, 253, 254, 255]);
        assert_eq!(items::<i64, _>(-2i64..2), vec![-2, -1, 0, 1]);
        assert_eq!(items::<usize, _>(5usize..5), Vec::<usize>::new());
        assert_eq!(items::<i32, _>(5i32..1), Vec::<i32>::new());
        assert_eq!(items::<u32, _>(u32::MAX - 1..=u32::MAX), vec![u32::MAX - 1, u32::MAX]);
    }

    #[test]
    fn an_exhausted_inclusive_range_is_empty() {
        let mut r = 1u16..=1;
        assert_eq!(r.next(), Some(1));
        assert_eq!(items::<u16, _>(r), Vec::<u16>::new());
    }

    #[test]
    fn other_sources_come_back_untouched() {
        assert_eq!(Counting::of(vec![1u64, 2]), Err(vec![1u64, 2]));
        assert!(Counting::of(0u128..4).is_err());
        assert!(Counting::of((0u64..4).map(|x| x * 2)).is_err());
        assert!(Counting::of(["a", "b"]).is_err());
        // Longer than usize: collected (and refused) like any iterator.
        assert!(Counting::of(i64::MIN..=i64::MAX).is_err());
    }
}
