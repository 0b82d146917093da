// The VM watches a descriptor until the resource's stop callback, so the descriptor
// must outlive the resource: `select` takes it from a closure borrowing the resource's
// value (higher-ranked), and a descriptor owned by a local (closed when the local is
// dropped, while the VM may still watch it) is a compile error.
use oxbeam::select::Interest;
use oxbeam::{Env, ResourceArc};
use std::os::fd::AsFd;

#[oxbeam::resource]
pub struct Watched {
    _unused: u8,
}

fn watch<'a>(env: Env<'a>, arc: ResourceArc<Watched>) {
    let local = std::fs::File::open("/dev/null").unwrap();
    let _ = arc.select(env, |_| local.as_fd(), Interest::Read, None, None);
    drop(local);
}

fn main() {}
