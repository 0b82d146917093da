// A pid made from an arbitrary word would be a forged term, and a resource type
// registered by hand could hand out another type's objects: both need `unsafe`.
use oxbeam::{sys, LocalPid, Resource};

struct Unregistered;

impl Resource for Unregistered {}

fn main() {
    let _pid = LocalPid::from_raw(sys::ErlNifPid { pid: 12345 });
}
