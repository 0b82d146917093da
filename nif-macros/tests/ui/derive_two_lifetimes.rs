#[derive(oxbeam::Decode)]
struct Both<'a, 'b> {
    first: &'a str,
    second: &'b str,
}

fn main() {}
