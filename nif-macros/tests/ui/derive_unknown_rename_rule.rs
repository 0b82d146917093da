#[derive(oxbeam::Encode)]
#[oxbeam(rename_all = "Title Case")]
enum Mode {
    ReadOnly,
}

fn main() {}
