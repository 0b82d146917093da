oxbeam::init!("MyApp.Native");

fn main() {}
