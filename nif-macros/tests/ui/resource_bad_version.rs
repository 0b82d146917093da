#[oxbeam::resource(version = "2")]
struct Blob {
    bytes: Vec<u8>,
}

fn main() {}
