//! Paired with `elixir/test/nif/errors_test.exs`: panics, raises and bad arguments.

use oxbeam::nif;

#[nif]
fn panic_now(message: &str) -> i64 {
    panic!("{message}")
}

#[nif]
fn raise_deep(depth: u32) -> i64 {
    fn descend(depth: u32) -> i64 {
        if depth == 0 {
            oxbeam::raise(oxbeam::Error::exception(
                "ArgumentError",
                "raised from the bottom",
            ))
        }
        descend(depth - 1) + 1
    }
    descend(depth)
}

#[nif]
fn parse_int(text: &str) -> oxbeam::Result<i64> {
    Ok(text.parse::<i64>()?)
}
