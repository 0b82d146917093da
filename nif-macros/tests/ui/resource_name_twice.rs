#[oxbeam::resource(name = "my_app.counter", name = "my_app.gauge")]
struct Counter {
    value: u64,
}

fn main() {}
