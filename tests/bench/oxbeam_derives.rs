// The derive rows with oxbeam's `#[derive(Encode, Decode)]`: included by both oxbeam
// libraries (`oxbeam_nif` and `oxbeam_zero_copy`), as there is nothing to borrow in
// these types. The same work as the C floor in `c_nif/bench_c.c` and Rustler's derives
// in `rustler_nif/src/lib.rs`.

/// `%Bench.Point4{x: float, y: float, z: float, w: float}`.
#[derive(oxbeam::Encode, oxbeam::Decode)]
#[oxbeam(struct = "Bench.Point4")]
pub struct Point4 {
    x: f64,
    y: f64,
    z: f64,
    w: f64,
}

/// `{:rec, a, b, c}`.
#[derive(oxbeam::Encode, oxbeam::Decode)]
#[oxbeam(record = "rec")]
pub struct Rec {
    a: i64,
    b: f64,
    c: bool,
}

/// `:idle | :done | {:count, integer} | {:ratio, float}`.
#[derive(oxbeam::Encode, oxbeam::Decode)]
pub enum State {
    Idle,
    Done,
    Count(i64),
    Ratio(f64),
}

/// Decode only.
#[oxbeam::nif]
fn point_sum(p: Point4) -> f64 {
    p.x + p.y + p.z + p.w
}

/// Encode only.
#[oxbeam::nif]
fn point_new(f: f64) -> Point4 {
    Point4 {
        x: f,
        y: f + 1.0,
        z: f + 2.0,
        w: f + 3.0,
    }
}

/// Both.
#[oxbeam::nif]
fn point_bump(p: Point4) -> Point4 {
    Point4 { x: p.x + 1.0, ..p }
}

#[oxbeam::nif]
fn rec_bump(r: Rec) -> Rec {
    Rec {
        a: r.a + 1,
        b: r.b * 2.0,
        c: !r.c,
    }
}

#[oxbeam::nif]
fn state_step(s: State) -> State {
    match s {
        State::Idle => State::Count(0),
        State::Done => State::Done,
        State::Count(n) => State::Count(n + 1),
        State::Ratio(r) => State::Ratio(r / 2.0),
    }
}
