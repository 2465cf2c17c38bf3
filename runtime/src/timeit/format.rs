//! IPython's number formatting: `_format_time` and C's `%.*g`.
//!
//! One deliberate difference: IPython picks the unit before rounding, so
//! 0.0009996 s prints as `1e+03 μs`; here the unit is picked again after
//! rounding and it prints `1 ms`.

/// Formats a duration in seconds as IPython's `_format_time` does, with
/// `precision` significant digits.
///
/// ```
/// use parlab::format_time;
/// assert_eq!(format_time(1.2345e-6, 3), "1.23 μs");
/// assert_eq!(format_time(0.0, 3), "0 ns");
/// assert_eq!(format_time(65.3, 3), "1min 5s");
/// assert_eq!(format_time(0.0009996, 3), "1 ms");
/// ```
pub fn format_time(t: f64, precision: usize) -> String {
    if t.is_nan() {
        return "nan s".to_owned();
    }
    if t >= 60.0 {
        if t.is_infinite() {
            return "inf s".to_owned();
        }
        return long_form(t);
    }
    const UNITS: [&str; 4] = ["s", "ms", "μs", "ns"];
    const SCALE: [f64; 4] = [1.0, 1e3, 1e6, 1e9];
    let mut order = if t > 0.0 { (-(t.log10().floor() as i64).div_euclid(3)).clamp(0, 3) as usize } else { 3 };
    let mut text = format_g(t * SCALE[order], precision);
    // Rounding can carry into the next unit (999.6 μs -> "1e+03 μs").
    if order > 0 && text.parse::<f64>().is_ok_and(|v| v >= 1000.0) {
        order -= 1;
        text = format_g(t * SCALE[order], precision);
    }
    format!("{text} {}", UNITS[order])
}

/// `1d 1h 1min 1s`: whole parts, zero parts skipped, stopping once less
/// than a second is left.
fn long_form(t: f64) -> String {
    let mut parts = Vec::new();
    let mut left = t;
    for (suffix, length) in [("d", 86400.0), ("h", 3600.0), ("min", 60.0), ("s", 1.0)] {
        let value = (left / length).trunc();
        if value > 0.0 {
            left %= length;
            parts.push(format!("{value}{suffix}"));
        }
        if left < 1.0 {
            break;
        }
    }
    parts.join(" ")
}

/// C's `%.*g`: `precision` significant digits (0 counts as 1), trailing
/// zeros removed, exponent form when the exponent is < -4 or ≥ precision.
pub(crate) fn format_g(x: f64, precision: usize) -> String {
    let p = precision.max(1);
    if !x.is_finite() {
        return if x.is_nan() { "nan".into() } else if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    // The exponent after rounding to p digits decides the style.
    let sci = format!("{:.*e}", p - 1, x);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= p as i32 {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", strip_zeros(mantissa), exp.abs())
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        strip_zeros(&format!("{x:.decimals$}")).to_owned()
    }
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// `100000000` → `100,000,000` (Python's `{:,}`).
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `""` for one, `"s"` otherwise.
pub(crate) fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipython_examples() {
        let cases = [
            (0.0, "0 ns"),
            (1e-10, "0.1 ns"),
            (1e-6, "1 μs"),
            (1.2345e-6, "1.23 μs"),
            (12.345, "12.3 s"),
            (59.9999, "60 s"),
            (60.0, "1min"),
            (65.3, "1min 5s"),
            (3600.0, "1h"),
            (3661.5, "1h 1min 1s"),
            (90061.0, "1d 1h 1min 1s"),
            (12e-9, "12 ns"),
            (8.78e-6, "8.78 μs"),
            (2.08e-3, "2.08 ms"),
            (1.2, "1.2 s"),
            (0.5, "500 ms"),
            (864e-9, "864 ns"),
            (1.78e-18, "1.78e-09 ns"),
        ];
        for (t, want) in cases {
            assert_eq!(format_time(t, 3), want, "format_time({t})");
        }
    }

    #[test]
    fn unit_is_repicked_after_rounding() {
        assert_eq!(format_time(0.0009996, 3), "1 ms");
        assert_eq!(format_time(0.9999996, 3), "1 s");
        assert_eq!(format_time(999.6e-9, 3), "1 μs");
        assert_eq!(format_time(999.4e-9, 3), "999 ns");
    }

    #[test]
    fn precision() {
        assert_eq!(format_time(21e-9, 1), "2e+01 ns");
        assert_eq!(format_time(1.23456e-3, 5), "1.2346 ms");
        assert_eq!(format_g(1.5, 0), "2");
    }

    #[test]
    fn percent_g() {
        let cases = [
            (100.0, 3, "100"),
            (1000.0, 3, "1e+03"),
            (123456.0, 6, "123456"),
            (1234567.0, 6, "1.23457e+06"),
            (0.0001, 3, "0.0001"),
            (0.00001234, 3, "1.23e-05"),
            (2.5, 3, "2.5"),
            (-3.0, 3, "-3"),
            (1e100, 3, "1e+100"),
        ];
        for (x, p, want) in cases {
            assert_eq!(format_g(x, p), want, "%.{p}g of {x}");
        }
    }

    #[test]
    fn separators_and_plurals() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(100_000_000), "100,000,000");
        assert_eq!((plural(1), plural(0), plural(7)), ("", "s", "s"));
    }
}
