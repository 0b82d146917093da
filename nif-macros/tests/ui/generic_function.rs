use oxbeam::nif;

#[nif]
fn identity<T>(value: T) -> T {
    value
}

fn main() {}
