#[oxbeam::resource(name = counter)]
struct Counter {
    value: u64,
}

#[oxbeam::resource(name = "my_app@counter")]
struct Gauge {
    value: u64,
}

fn main() {}
