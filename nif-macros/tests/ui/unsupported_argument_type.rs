use oxbeam::nif;

struct Config;

#[nif]
fn configure(config: Config) -> i64 {
    let _ = config;
    1
}

fn main() {}
