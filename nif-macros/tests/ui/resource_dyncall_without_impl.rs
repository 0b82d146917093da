// `dyncall` registers the type's `DynCall` implementation, which must exist.
#[oxbeam::resource(name = "my_app.counter", dyncall)]
struct Counter {
    value: u64,
}

fn main() {}
