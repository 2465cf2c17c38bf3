//! Calling a function of several arguments with a tuple, for `starmap`.
//!
//! Python unpacks `f(*args)` at run time; Rust needs one impl per arity.
//! Arities 2 to 4 cover the course (a one-argument function is `map`).

/// A function that can be called with the values of the tuple `Args`:
/// implemented for every `Fn(A, B) -> R`, `Fn(A, B, C) -> R` and
/// `Fn(A, B, C, D) -> R` that can be shared between threads.
///
/// ```
/// use parlab::Starmap;
/// let add = |a: i32, b: i32| a + b;
/// assert_eq!(add.call((2, 3)), 5);
/// ```
pub trait Starmap<Args>: Sync + Send {
    /// What the function returns.
    type Output: Send;

    /// Calls the function with the tuple's values as arguments.
    fn call(&self, args: Args) -> Self::Output;
}

macro_rules! impl_starmap {
    ($($arg:ident),+) => {
        impl<F, R, $($arg),+> Starmap<($($arg,)+)> for F
        where
            F: Fn($($arg),+) -> R + Sync + Send,
            R: Send,
        {
            type Output = R;

            #[allow(non_snake_case)]
            #[inline]
            fn call(&self, ($($arg,)+): ($($arg,)+)) -> R {
                self($($arg),+)
            }
        }
    };
}

impl_starmap!(A, B);
impl_starmap!(A, B, C);
impl_starmap!(A, B, C, D);
