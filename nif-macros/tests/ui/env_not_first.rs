use oxbeam::nif;

#[nif]
fn add(a: i64, env: oxbeam::Env) -> i64 {
    let _ = env;
    a
}

fn main() {}
