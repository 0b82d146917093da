// An owned environment is used by one thread at a time: it moves, it is not shared.
use oxbeam::OwnedEnv;

fn sync<T: Sync>() {}

fn main() {
    sync::<OwnedEnv>();
}
