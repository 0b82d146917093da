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

/// A point, as the Elixir struct `%Hello.Point{}`.
#[derive(oxbeam::Encode, oxbeam::Decode)]
#[oxbeam(struct = "Hello.Point")]
pub struct Point {
    x: f64,
    y: f64,
}

/// Scales a point.
#[nif]
fn scale(point: Point, by: f64) -> Point {
    Point {
        x: point.x * by,
        y: point.y * by,
    }
}

oxbeam::init!("Elixir.Hello");
