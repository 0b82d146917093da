#[derive(oxbeam::Encode)]
#[oxbeam(struct = "MyApp.Pair")]
struct Pair(i64, i64);

fn main() {}
