//! `#[derive(Encode, Decode)]`: every container kind and attribute, round-tripped
//! through a real NIF, nested inside other types, and as a resource's field.

use oxbeam::{nif, Binary, Decode, Encode, Env, ResourceArc, Term};
use std::collections::HashMap;

/// `%Oxbeam.Test.Point{x: _, y: _}`.
#[derive(Encode, Decode, Clone, Debug, PartialEq)]
#[oxbeam(struct = "Oxbeam.Test.Point")]
pub struct Point {
    x: f64,
    y: f64,
}

fn default_score() -> i64 {
    100
}

/// Field attributes: rename, default (trait and function), Option fields, skip.
#[derive(Encode, Decode)]
#[oxbeam(struct = "Elixir.Oxbeam.Test.Profile")]
pub struct Profile {
    name: String,
    #[oxbeam(rename = "years")]
    age: u32,
    #[oxbeam(default)]
    tags: Vec<String>,
    nickname: Option<String>,
    #[oxbeam(default = "default_score")]
    score: i64,
    #[oxbeam(skip)]
    cached: u64,
}

/// A plain map with atom keys (the default for a struct with named fields).
#[derive(Encode, Decode)]
pub struct Settings {
    verbose: bool,
    level: u8,
}

/// A plain map with string keys.
#[derive(Encode, Decode)]
#[oxbeam(map, keys = "strings")]
pub struct Headers {
    content_type: String,
    #[oxbeam(rename = "X-Id")]
    id: i64,
}

/// A tuple struct: a tuple.
#[derive(Encode, Decode)]
pub struct Pair(i64, String);

/// A struct with named fields as a tuple, in field order.
#[derive(Encode, Decode)]
#[oxbeam(tuple)]
pub struct Vec3 {
    x: f64,
    y: f64,
    z: f64,
}

/// An Erlang record: `{:user, name, id}`.
#[derive(Encode, Decode)]
#[oxbeam(record = "user")]
pub struct User {
    name: String,
    id: i64,
}

/// Unit variants: atoms, snake_case by default.
#[derive(Encode, Decode, Clone, Copy, Debug, PartialEq)]
pub enum Color {
    Red,
    DarkBlue,
    #[oxbeam(rename = "GREEN")]
    Green,
}

#[derive(Encode, Decode)]
#[oxbeam(rename_all = "kebab-case")]
pub enum Mode {
    ReadOnly,
    ReadWrite,
}

/// A tagged enum: `:empty`, `{:circle, r}`, `{:rect, w, h}`, `{:labeled, %{...}}`.
#[derive(Encode, Decode)]
pub enum Shape {
    Empty,
    Circle(f64),
    Rect(f64, f64),
    Labeled { label: String, sides: u32 },
}

/// An untagged enum: the first variant that decodes.
#[derive(Encode, Decode)]
#[oxbeam(untagged)]
pub enum Loose {
    Int(i64),
    Text(String),
    Pair(i64, i64),
    Point { x: f64, y: f64 },
    Nothing,
}

/// An Elixir exception, raised through `oxbeam::Error`.
#[derive(Encode, Decode)]
#[oxbeam(exception = "Oxbeam.Test.NotFound")]
pub struct NotFound {
    path: String,
    message: String,
}

/// A generic type.
#[derive(Encode, Decode)]
pub struct Wrapper<T> {
    value: T,
    count: usize,
}

/// Borrowed fields: the decode holds on to the terms.
#[derive(Encode, Decode)]
#[oxbeam(tuple)]
pub struct Borrowed<'a> {
    name: &'a str,
    raw: Term<'a>,
    bytes: Binary<'a>,
}

/// Derived types inside other types.
#[derive(Encode, Decode)]
#[oxbeam(struct = "Oxbeam.Test.Polygon")]
pub struct Polygon {
    name: String,
    points: Vec<Point>,
    color: Option<Color>,
    shapes: HashMap<String, Shape>,
    pairs: Vec<(Color, Pair)>,
}

#[nif]
fn derive_point(point: Point) -> Point {
    Point {
        x: point.x * 2.0,
        y: point.y * 2.0,
    }
}

#[nif]
fn derive_profile(profile: Profile) -> Profile {
    assert_eq!(profile.cached, 0, "skipped fields decode as Default");
    Profile {
        cached: 42,
        ..profile
    }
}

#[nif]
fn derive_settings(settings: Settings) -> Settings {
    settings
}

#[nif]
fn derive_headers(headers: Headers) -> Headers {
    headers
}

#[nif]
fn derive_pair(pair: Pair) -> Pair {
    pair
}

#[nif]
fn derive_vec3(v: Vec3) -> Vec3 {
    v
}

#[nif]
fn derive_user(user: User) -> User {
    user
}

#[nif]
fn derive_color(color: Color) -> Color {
    color
}

#[nif]
fn derive_mode(mode: Mode) -> Mode {
    mode
}

#[nif]
fn derive_shape(shape: Shape) -> Shape {
    shape
}

#[nif]
fn derive_loose(value: Loose) -> Loose {
    value
}

#[nif]
fn derive_not_found(error: NotFound) -> NotFound {
    error
}

/// Raises `%Oxbeam.Test.NotFound{}` through `?`.
#[nif]
fn derive_raise_not_found(path: String) -> oxbeam::Result<String> {
    let found: Result<String, NotFound> = Err(NotFound {
        message: format!("no file at {path}"),
        path,
    });
    Ok(found?)
}

/// Returns `Err(NotFound)` itself: a derived exception in `Err` raises.
#[nif]
fn derive_find(path: String) -> Result<String, NotFound> {
    if path == "/here" {
        return Ok("found".into());
    }
    Err(NotFound {
        message: format!("no file at {path}"),
        path,
    })
}

/// An `Err` of a type that is not an exception is returned as `{:error, value}`.
#[nif]
fn derive_color_result(ok: bool) -> Result<i64, Color> {
    if ok {
        Ok(1)
    } else {
        Err(Color::DarkBlue)
    }
}

#[nif]
fn derive_wrapper(wrapper: Wrapper<Vec<Color>>) -> Wrapper<Vec<Color>> {
    wrapper
}

#[nif]
fn derive_borrowed<'a>(value: Borrowed<'a>) -> Borrowed<'a> {
    value
}

#[nif]
fn derive_polygon(polygon: Polygon) -> Polygon {
    polygon
}

/// Derived types inside `Vec`, `Option`, `HashMap` and `Result`.
type Nested = (
    Vec<Option<Point>>,
    HashMap<String, Point>,
    Result<Color, Shape>,
);

#[nif]
fn derive_nested(
    points: Vec<Option<Point>>,
    by_name: HashMap<String, Point>,
    result: Result<Color, Shape>,
) -> Nested {
    (points, by_name, result)
}

/// A resource whose field is a derived type.
#[oxbeam::resource]
pub struct PointBox {
    point: std::sync::Mutex<Point>,
}

#[nif]
fn derive_box_new(point: Point) -> ResourceArc<PointBox> {
    ResourceArc::new(PointBox {
        point: std::sync::Mutex::new(point),
    })
}

#[nif]
fn derive_box_get(boxed: &PointBox) -> Point {
    boxed
        .point
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
}

/// `Result<T, oxbeam::Error>` written out: raises on `Err`, as `oxbeam::Result<T>`.
#[nif]
fn spec_full_result(n: i64) -> Result<i64, oxbeam::Error> {
    Ok(n)
}

/// Bytes as a list (`Vec<u8>`) and as a binary (`&[u8]`).
#[nif]
fn spec_bytes(list: Vec<u8>, binary: &[u8]) -> Vec<u8> {
    list.into_iter().chain(binary.iter().copied()).collect()
}

/// A spec written by hand replaces the one derived from the types.
#[nif(spec = "spec_written(pos_integer()) :: pos_integer()")]
fn spec_written(n: i64) -> i64 {
    n
}

/// Encodes without decoding: the term a value makes.
#[nif]
fn derive_encode_samples(env: Env<'_>) -> Vec<Term<'_>> {
    vec![
        Color::DarkBlue.encode(env),
        Shape::Rect(1.0, 2.0).encode(env),
        Loose::Nothing.encode(env),
        Loose::Int(3).encode(env),
    ]
}
