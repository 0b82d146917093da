#[derive(oxbeam::Encode)]
#[oxbeam(struct = "my_app.point")]
struct Point {
    x: f64,
}

fn main() {}
