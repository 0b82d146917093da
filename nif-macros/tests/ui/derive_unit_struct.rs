#[derive(oxbeam::Encode)]
struct Nothing;

fn main() {}
