#[derive(oxbeam::Encode)]
struct Point {
    x: f64,
    #[oxbeam(rename = "x")]
    y: f64,
}

#[derive(oxbeam::Decode)]
enum Color {
    Red,
    #[oxbeam(rename = "red")]
    Crimson,
}

fn main() {}
