use oxbeam::nif;

/// Adds two integers.
#[nif]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// Greets someone by name.
#[nif]
fn greet(name: &str) -> String {
    format!("Hello, {name}!")
}

/// Sums a list of integers.
#[nif]
fn sum(numbers: Vec<i64>) -> i64 {
    numbers.iter().sum()
}

oxbeam::init!("Elixir.Hello");
