use oxbeam::nif;

#[nif]
fn bump(counter: &mut i64) -> i64 {
    *counter + 1
}

fn main() {}
