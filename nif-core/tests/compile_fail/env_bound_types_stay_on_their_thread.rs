// An environment and everything that borrows from it belong to the calling thread's
// NIF call: none of them may cross to another thread.
use oxbeam::{Binary, DecodeError, Env, ListIterator, MapView, NewBinary, Scheduled, Term};

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
}
