//! Floats as `io_lib_format:fwrite_g/1` writes them (Erlang's `~p`, Elixir's
//! `Float.to_string/1`): the shortest digits that read back to the same float, in
//! fixed notation when that is not longer than the exponent form and the value is below
//! 2^53, else as `d.ddde±x`. Elixir's `inspect` writes integral floats in [1, 1e16) as
//! `123.0` first ([`elixir`]).
//!
//! The shortest digits come from the `ryu` crate: the same algorithm OTP uses (the
//! shortest digits that read back exactly, the nearest of them, ties to even). Rust's
//! own `{:e}` rounds ties away from zero (863904866094738.25 → `...738.3`, where
//! Erlang prints `...738.2`).

use std::fmt::Write;

/// The shortest round-trip decimal digits of a finite, non-zero `value` (its absolute
/// value) and the decimal exponent of the first digit: `1.5e-7` → ("15", -7).
fn shortest_digits(value: f64) -> (String, i32) {
    let mut buffer = ryu::Buffer::new();
    // ryu writes `123.456`, `0.001`, `1e20` or `1.5e-7`: read the digits and where the
    // decimal point is, whatever the form.
    let text = buffer.format_finite(value.abs());
    let (mantissa, exponent) = text.split_once('e').unwrap_or((text, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all: String = format!("{whole}{fraction}");
    let leading_zeros = all.len() - all.trim_start_matches('0').len();
    let digits = all.trim_matches('0').to_string();
    // The first digit of `all` is at 10^(len(whole) - 1 + exponent).
    let first = whole.len() as i32 - 1 + exponent - leading_zeros as i32;
    (digits, first)
}

/// `io_lib_format:fwrite_g/1` (OTP 24+).
pub(crate) fn write_erlang(value: f64, out: &mut String) {
    if value == 0.0 {
        out.push_str(if value.is_sign_negative() {
            "-0.0"
        } else {
            "0.0"
        });
        return;
    }
    if value.is_sign_negative() {
        out.push('-');
    }
    let (digits, exponent) = shortest_digits(value);
    let len = digits.len() as i32;
    // The value is digits × 10^place.
    let place = exponent - len + 1;
    let exponent_text = exponent.to_string();
    let exponent_cost = exponent_text.len() as i32 + 2;
    let exponent_form = |out: &mut String| {
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        out.push('.');
        out.push_str(if rest.is_empty() { "0" } else { rest });
        out.push('e');
        out.push_str(&exponent_text);
    };
    // Exponent form costs one more character for a single digit (`1.0e-5`).
    let dot = i32::from(len == 1);
    if place < 0 {
        if exponent >= 0 {
            let (whole, fraction) = digits.split_at((len + place) as usize);
            let _ = write!(out, "{whole}.{fraction}");
        } else if 2 - place - len <= exponent_cost + dot {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-place - len) as usize));
            out.push_str(&digits);
        } else {
            exponent_form(out);
        }
    } else {
        if exponent_cost + dot >= place + 2 && value.abs() < (1u64 << 53) as f64 {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', place as usize));
            out.push_str(".0");
        } else {
            exponent_form(out);
        }
    }
}

/// Elixir's `Inspect.Float`: integral values in [1, 1e16) as `123.0`, others as
/// [`write_erlang`].
pub(crate) fn write_elixir(value: f64, out: &mut String) {
    let magnitude = value.abs();
    if (1.0..1.0e16).contains(&magnitude) && value.trunc() == value {
        let _ = write!(out, "{}.0", value as i64);
    } else {
        write_erlang(value, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elixir(value: f64) -> String {
        let mut out = String::new();
        write_elixir(value, &mut out);
        out
    }

    fn erlang(value: f64) -> String {
        let mut out = String::new();
        write_erlang(value, &mut out);
        out
    }

    // Expected texts are what Elixir 1.14 / OTP 25 print (checked by hand; the
    // ExUnit property test compares over random bit patterns).
    #[test]
    fn like_inspect() {
        assert_eq!(elixir(1.0), "1.0");
        assert_eq!(elixir(-0.25), "-0.25");
        assert_eq!(elixir(1e20), "1.0e20");
        assert_eq!(elixir(1e-5), "1.0e-5");
        assert_eq!(elixir(0.0001), "0.0001");
        assert_eq!(elixir(123456789012345680.0), "1.2345678901234568e17");
        assert_eq!(elixir(5e-324), "5.0e-324");
        assert_eq!(elixir(f64::MAX), "1.7976931348623157e308");
        assert_eq!(elixir(-0.0), "-0.0");
        assert_eq!(elixir(1e15), "1000000000000000.0");
        assert_eq!(elixir(9007199254740992.0), "9007199254740992.0");
        assert_eq!(elixir(1e16), "1.0e16");
        assert_eq!(elixir(1.5e-7), "1.5e-7");
    }

    #[test]
    fn like_io_lib() {
        assert_eq!(erlang(1e15), "1.0e15");
        assert_eq!(erlang(100.0), "100.0");
        assert_eq!(erlang(123.456), "123.456");
        assert_eq!(erlang(9007199254740992.0), "9.007199254740992e15");
        assert_eq!(erlang(0.0), "0.0");
        // This float is exactly 863904866094738.25: a tie between two shortest texts
        // (`...738.2` and `...738.3`), broken to even as OTP does.
        assert_eq!(erlang(863904866094738.2), "863904866094738.2");
        assert_eq!(erlang(0.001), "0.001");
        assert_eq!(erlang(1.5e-7), "1.5e-7");
    }
}
