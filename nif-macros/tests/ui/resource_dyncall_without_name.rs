#[oxbeam::resource(dyncall)]
struct Counter {
    value: u64,
}

fn main() {}
