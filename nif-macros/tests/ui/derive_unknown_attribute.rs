#[derive(oxbeam::Decode)]
struct Point {
    #[oxbeam(renamed = "px")]
    x: f64,
}

#[derive(oxbeam::Encode)]
#[oxbeam(strukt = "MyApp.Point")]
struct Other {
    x: f64,
}

fn main() {}
