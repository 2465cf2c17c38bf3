//! Dividing work among ranks: contiguous blocks whose sizes differ by at
//! most one, the lower ranks taking the extra items (MPI's usual block
//! distribution, and what `MPI_Scatterv` users compute by hand).
//!
//! Pure arithmetic on purpose: every rank computes its own share from
//! `(rank, size)` without a message, which is the cheapest "scatter" there
//! is when the input is a range or data every rank already has.

use std::ops::Range;

/// Integer types a range of work can be counted in.
pub trait RangeIndex: Copy {
    #[doc(hidden)]
    fn to_i128(self) -> i128;
    #[doc(hidden)]
    fn from_i128(v: i128) -> Self;
}

macro_rules! index {
    ($($t:ty),*) => {$(
        impl RangeIndex for $t {
            fn to_i128(self) -> i128 {
                self as i128
            }
            fn from_i128(v: i128) -> Self {
                // In range by construction: v lies between the range's ends.
                v as $t
            }
        }
    )*};
}
index!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);

/// Bounds of `rank`'s block: (offset from the start, length).
fn block(len: i128, rank: i32, size: i32) -> (i128, i128) {
    assert!(size > 0, "split among {size} ranks: the number of ranks must be positive");
    assert!((0..size).contains(&rank), "rank {rank} is not one of the {size} ranks (0..{size})");
    let (rank, size) = (i128::from(rank), i128::from(size));
    let len = len.max(0);
    let (base, extra) = (len / size, len % size);
    (rank * base + rank.min(extra), base + i128::from(rank < extra))
}

/// The part of `range` that `rank` (of `size` ranks) works on.
///
/// The blocks are contiguous, cover the range exactly once, and differ in
/// length by at most one, so uniform work is balanced.
///
/// ```
/// use parlab::mpi::split_range;
/// assert_eq!(split_range(0..10u64, 0, 3), 0..4);
/// assert_eq!(split_range(0..10u64, 1, 3), 4..7);
/// assert_eq!(split_range(0..10u64, 2, 3), 7..10);
/// assert_eq!(split_range(5..7usize, 3, 4), 7..7); // more ranks than work: empty
/// ```
///
/// # Panics
/// If `size` is not positive or `rank` is not in `0..size`.
pub fn split_range<T: RangeIndex>(range: Range<T>, rank: i32, size: i32) -> Range<T> {
    let start = range.start.to_i128();
    let (offset, len) = block(range.end.to_i128() - start, rank, size);
    T::from_i128(start + offset)..T::from_i128(start + offset + len)
}

/// The part of `items` that `rank` (of `size` ranks) works on; the same
/// blocks as [`split_range`] over the indices.
///
/// ```
/// use parlab::mpi::split_slice;
/// let v = [1, 2, 3, 4, 5];
/// assert_eq!(split_slice(&v, 0, 2), &[1, 2, 3]);
/// assert_eq!(split_slice(&v, 1, 2), &[4, 5]);
/// ```
///
/// # Panics
/// If `size` is not positive or `rank` is not in `0..size`.
pub fn split_slice<T>(items: &[T], rank: i32, size: i32) -> &[T] {
    &items[split_range(0..items.len(), rank, size)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn negative_and_empty_ranges() {
        assert_eq!(split_range(-5..5i32, 0, 2), -5..0);
        assert_eq!(split_range(-5..5i32, 1, 2), 0..5);
        assert_eq!(split_range(3..3u32, 0, 2), 3..3);
        // A backwards range is empty for everyone, never a panic.
        assert_eq!(split_range(9..3u8, 1, 2), 9..9);
    }

    #[test]
    #[should_panic(expected = "rank 2 is not one of the 2 ranks")]
    fn rank_out_of_range() {
        split_range(0..10u64, 2, 2);
    }

    #[test]
    #[should_panic(expected = "must be positive")]
    fn zero_ranks() {
        split_range(0..10u64, 0, 0);
    }

    proptest! {
        #[test]
        fn blocks_tile_the_range_and_are_balanced(start in -1000i64..1000, len in 0i64..5000, size in 1i32..64) {
            let range = start..start + len;
            let mut next = start;
            let mut lens = Vec::new();
            for rank in 0..size {
                let r = split_range(range.clone(), rank, size);
                prop_assert_eq!(r.start, next);
                next = r.end;
                lens.push(r.end - r.start);
            }
            prop_assert_eq!(next, range.end);
            prop_assert!(lens.iter().max().unwrap() - lens.iter().min().unwrap() <= 1);
        }
    }
}
