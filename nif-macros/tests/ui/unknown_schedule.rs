use oxbeam::nif;

#[nif(schedule = "dirty")]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

fn main() {}
