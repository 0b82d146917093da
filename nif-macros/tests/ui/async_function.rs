use oxbeam::nif;

#[nif]
async fn later() -> i64 {
    1
}

fn main() {}
