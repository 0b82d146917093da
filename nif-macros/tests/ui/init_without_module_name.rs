oxbeam::init!(Elixir.MyApp.Native);

fn main() {}
