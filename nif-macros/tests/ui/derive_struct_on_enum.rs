#[derive(oxbeam::Encode)]
#[oxbeam(struct = "MyApp.Color")]
enum Color {
    Red,
}

fn main() {}
