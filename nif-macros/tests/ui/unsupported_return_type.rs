use oxbeam::nif;

struct Handle;

#[nif]
fn open() -> Handle {
    Handle
}

fn main() {}
