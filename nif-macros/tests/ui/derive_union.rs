#[derive(oxbeam::Encode)]
union Bits {
    int: u32,
    float: f32,
}

fn main() {}
