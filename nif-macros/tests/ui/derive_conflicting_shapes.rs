#[derive(oxbeam::Decode)]
#[oxbeam(map, tuple)]
struct Point {
    x: f64,
    y: f64,
}

fn main() {}
