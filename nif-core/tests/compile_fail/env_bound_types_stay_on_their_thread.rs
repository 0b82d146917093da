// An environment and everything that borrows from it belong to the calling thread's
// NIF call: none of them may cross to another thread.
use oxbeam::types::list::DecodeEach;
use oxbeam::{
    Binary, DecodeError, Env, IoData, ListIterator, MapDecodeEach, MapIter, MapView, NewBinary, Next,
    Reference, Scheduled, Term,
};

fn send<T: Send>() {}
fn sync<T: Sync>() {}

fn main() {
    send::<Env<'static>>();
    sync::<Env<'static>>();
    send::<Term<'static>>();
    sync::<Term<'static>>();
    send::<Binary<'static>>();
    send::<ListIterator<'static>>();
    send::<MapView<'static>>();
    send::<NewBinary<'static>>();
    send::<DecodeError<'static>>();
    send::<Scheduled<'static>>();
    send::<Next<'static, i64>>();
    send::<Reference<'static>>();
    send::<IoData<'static>>();
    send::<MapIter<'static>>();
    send::<DecodeEach<'static, i64>>();
    send::<MapDecodeEach<'static, i64, i64>>();
}
