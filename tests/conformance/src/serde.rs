//! The `serde` feature: `SerdeTerm<T>`, `oxbeam::serde::{to_term, from_term}`. Every
//! mapping both ways, the same types with the derives and with serde side by side
//! (same terms, same errors), `serde_json::Value`, and a property test's NIFs.

use oxbeam::serde::{from_term, to_term};
use oxbeam::{nif, Decode, Encode, Env, SerdeTerm, Term};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::{BTreeMap, HashMap};

// ---------------------------------------------------------------------------------
// The same types with both derives.

/// `%Oxbeam.Test.Point{}`: an Elixir struct by the derive's attribute and by serde's
/// name.
#[derive(Encode, Decode, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[oxbeam(struct = "Oxbeam.Test.Point")]
#[serde(rename = "Elixir.Oxbeam.Test.Point")]
pub struct Point {
    x: f64,
    y: f64,
}

/// A plain map with atom keys.
#[derive(Encode, Decode, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Settings {
    verbose: bool,
    level: u8,
    nickname: Option<String>,
}

/// A tuple struct: a tuple.
#[derive(Encode, Decode, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Pair(i64, String);

/// Unit variants: atoms (serde needs `rename_all = "snake_case"` for the derive's names).
#[derive(Encode, Decode, Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Color {
    Red,
    DarkBlue,
}

/// A tagged enum: `:empty`, `{:circle, r}`, `{:rect, w, h}`, `{:labeled, %{...}}`.
#[derive(Encode, Decode, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    Empty,
    Circle(f64),
    Rect(f64, f64),
    Labeled { label: String, sides: u32 },
}

/// Derived types nested in each other and in `Vec`, `Option`, maps and tuples.
#[derive(Encode, Decode, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[oxbeam(struct = "Oxbeam.Test.Polygon")]
#[serde(rename = "Oxbeam.Test.Polygon")]
pub struct Polygon {
    name: String,
    points: Vec<Point>,
    color: Option<Color>,
    shapes: HashMap<String, Shape>,
    pairs: Vec<(Color, Pair)>,
}

/// Decodes `term` with the derive and with serde, and encodes each result the same
/// way: `{derive's term, serde's term, the two values are equal}`.
fn both<'a, T>(env: Env<'a>, term: Term<'a>) -> (Term<'a>, Term<'a>, bool)
where
    T: Decode<'a> + Encode<'a> + Deserialize<'a> + Serialize + PartialEq + Clone,
{
    let derived = T::decode(term, env).unwrap_or_else(|error| error.raise_for(env, term));
    let serded: T = from_term(env, term).unwrap_or_else(|error| error.raise_for(env, term));
    let same = derived == serded;
    (derived.encode(env), SerdeTerm(serded).encode(env), same)
}

#[nif]
fn serde_both_point<'a>(env: Env<'a>, term: Term<'a>) -> (Term<'a>, Term<'a>, bool) {
    both::<Point>(env, term)
}

#[nif]
fn serde_both_settings<'a>(env: Env<'a>, term: Term<'a>) -> (Term<'a>, Term<'a>, bool) {
    both::<Settings>(env, term)
}

#[nif]
fn serde_both_pair<'a>(env: Env<'a>, term: Term<'a>) -> (Term<'a>, Term<'a>, bool) {
    both::<Pair>(env, term)
}

#[nif]
fn serde_both_color<'a>(env: Env<'a>, term: Term<'a>) -> (Term<'a>, Term<'a>, bool) {
    both::<Color>(env, term)
}

#[nif]
fn serde_both_shape<'a>(env: Env<'a>, term: Term<'a>) -> (Term<'a>, Term<'a>, bool) {
    both::<Shape>(env, term)
}

#[nif]
fn serde_both_polygon<'a>(env: Env<'a>, term: Term<'a>) -> (Term<'a>, Term<'a>, bool) {
    both::<Polygon>(env, term)
}

/// The serde forms as plain NIF arguments (for the error messages).
#[nif]
fn serde_point(point: SerdeTerm<Point>) -> SerdeTerm<Point> {
    point
}

#[nif]
fn serde_settings(settings: SerdeTerm<Settings>) -> SerdeTerm<Settings> {
    settings
}

#[nif]
fn serde_pair(pair: SerdeTerm<Pair>) -> SerdeTerm<Pair> {
    pair
}

#[nif]
fn serde_color(color: SerdeTerm<Color>) -> SerdeTerm<Color> {
    color
}

#[nif]
fn serde_shape(shape: SerdeTerm<Shape>) -> SerdeTerm<Shape> {
    shape
}

#[nif]
fn serde_polygon(polygon: SerdeTerm<Polygon>) -> SerdeTerm<Polygon> {
    polygon
}

// ---------------------------------------------------------------------------------
// Every shape of serde's data model.

/// `serialize_bytes`/`deserialize_bytes` (what `serde_bytes` does).
#[derive(Clone, Debug, PartialEq)]
pub struct Bytes(Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Bytes, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = Bytes;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Bytes, E> {
                Ok(Bytes(v.to_vec()))
            }
        }
        deserializer.deserialize_bytes(Visit)
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Unit;

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Meters(f64);

/// One field of each kind.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Everything {
    flag: bool,
    small: i8,
    short: u16,
    int: i32,
    long: i64,
    ulong: u64,
    big: i128,
    ubig: u128,
    single: f32,
    double: f64,
    letter: char,
    text: String,
    bytes: Bytes,
    none: Option<i64>,
    some: Option<i64>,
    unit: (),
    unit_struct: Unit,
    newtype: Meters,
    seq: Vec<i64>,
    tuple: (i64, String, bool),
    tuple_struct: Pair,
    map: BTreeMap<String, i64>,
    int_keys: BTreeMap<i64, bool>,
    array: [u8; 3],
}

#[nif]
fn serde_everything(value: SerdeTerm<Everything>) -> SerdeTerm<Everything> {
    value
}

/// The fixed value of [`Everything`], encoded.
#[nif]
fn serde_everything_sample() -> SerdeTerm<Everything> {
    SerdeTerm(Everything {
        flag: true,
        small: -8,
        short: 65535,
        int: -2_000_000_000,
        long: i64::MIN,
        ulong: u64::MAX,
        big: i128::MIN,
        ubig: u128::MAX,
        single: 1.5,
        double: -0.25,
        letter: 'é',
        text: "hello".into(),
        bytes: Bytes(vec![0, 255, 1]),
        none: None,
        some: Some(7),
        unit: (),
        unit_struct: Unit,
        newtype: Meters(3.5),
        seq: vec![1, 2, 3],
        tuple: (1, "one".into(), false),
        tuple_struct: Pair(2, "two".into()),
        map: [("a".to_string(), 1), ("b".to_string(), 2)].into(),
        int_keys: [(1, true), (-1, false)].into(),
        array: [1, 2, 3],
    })
}

/// Borrowed from the argument: `&str` and `&[u8]` without copying.
#[derive(Serialize, Deserialize)]
pub struct Borrowed<'a> {
    name: &'a str,
    /// serde serializes `&[u8]` as a sequence unless told it is bytes.
    #[serde(borrow, serialize_with = "as_bytes")]
    raw: &'a [u8],
}

fn as_bytes<S: Serializer>(bytes: &&[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_bytes(bytes)
}

#[nif]
fn serde_borrowed<'a>(value: SerdeTerm<Borrowed<'a>>) -> (usize, SerdeTerm<Borrowed<'a>>) {
    (value.name.len() + value.raw.len(), value)
}

/// Single values of a few types, to check each mapping and message.
#[nif]
fn serde_char(c: SerdeTerm<char>) -> SerdeTerm<char> {
    c
}

#[nif]
fn serde_unit(unit: SerdeTerm<()>) -> SerdeTerm<()> {
    unit
}

#[nif]
fn serde_u8(n: SerdeTerm<u8>) -> SerdeTerm<u8> {
    n
}

#[nif]
fn serde_i128(n: SerdeTerm<i128>) -> SerdeTerm<i128> {
    n
}

#[nif]
fn serde_list(list: SerdeTerm<Vec<i64>>) -> SerdeTerm<Vec<i64>> {
    list
}

#[nif]
fn serde_string_map(map: SerdeTerm<HashMap<String, i64>>) -> SerdeTerm<HashMap<String, i64>> {
    map
}

#[nif]
fn serde_bytes(bytes: SerdeTerm<Bytes>) -> SerdeTerm<Bytes> {
    bytes
}

/// Encoding errors: NaN, and a name that cannot be an atom.
#[nif]
fn serde_encode_float(value: f64, nan: bool) -> SerdeTerm<f64> {
    SerdeTerm(if nan { f64::NAN } else { value })
}

/// A variant whose name is too long for an atom (256 characters).
#[derive(Serialize)]
pub enum Unnamable {
    #[serde(
        rename = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    )]
    TooLong,
}

#[nif]
fn serde_encode_unnamable() -> SerdeTerm<Unnamable> {
    SerdeTerm(Unnamable::TooLong)
}

/// `to_term` returns the error instead of raising.
#[nif]
fn serde_to_term_error(env: Env<'_>) -> String {
    match to_term(env, &f64::INFINITY) {
        Ok(_) => "encoded".into(),
        Err(error) => error.to_string(),
    }
}

/// A `Deserialize` impl's own error (`deserialize_with`).
fn positive<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    let n = i64::deserialize(deserializer)?;
    if n > 0 {
        Ok(n)
    } else {
        Err(serde::de::Error::custom("must be positive"))
    }
}

#[derive(Serialize, Deserialize)]
pub struct Checked {
    #[serde(deserialize_with = "positive")]
    count: i64,
}

#[nif]
fn serde_checked(value: SerdeTerm<Checked>) -> SerdeTerm<Checked> {
    value
}

// ---------------------------------------------------------------------------------
// serde's other enum representations go through `deserialize_any`.

/// Untagged: the first variant that reads.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(untagged)]
pub enum Loose {
    Int(i64),
    Text(String),
    Pair(i64, i64),
    Point { x: f64, y: f64 },
    Nothing,
}

#[nif]
fn serde_loose(value: SerdeTerm<Loose>) -> SerdeTerm<Loose> {
    value
}

/// Internally tagged.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Click { x: i64, y: i64 },
    Key { code: String },
}

#[nif]
fn serde_event(event: SerdeTerm<Event>) -> SerdeTerm<Event> {
    event
}

/// Adjacently tagged.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "t", content = "c", rename_all = "snake_case")]
pub enum Adjacent {
    Ping,
    Move(i64, i64),
    Say { text: String },
}

#[nif]
fn serde_adjacent(value: SerdeTerm<Adjacent>) -> SerdeTerm<Adjacent> {
    value
}

/// `#[serde(flatten)]`: the struct reads and writes through `deserialize_map`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Flattened {
    id: i64,
    #[serde(flatten)]
    settings: Inner,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Inner {
    verbose: bool,
}

#[nif]
fn serde_flattened(value: SerdeTerm<Flattened>) -> SerdeTerm<Flattened> {
    value
}

/// Fields left out by `skip_serializing_if`: the keys of one struct vary between values
/// (the serializer remembers a struct's keys; a skipped one must not shift them).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Skipping {
    #[serde(skip_serializing_if = "Option::is_none")]
    a: Option<i64>,
    b: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    c: Option<i64>,
}

#[nif]
fn serde_skipping(values: Vec<SerdeTerm<Skipping>>) -> Vec<SerdeTerm<Skipping>> {
    values
}

/// The serializer keeps a struct's keys from its first value (`{a, b}` here, used only
/// by the test "a later value whose fields differ from the first's"); a later value
/// with as many fields but others (`{a, c}`) leaves those keys midway.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Varying {
    a: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    b: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    c: Option<i64>,
}

#[nif]
fn serde_varying(values: Vec<SerdeTerm<Varying>>) -> Vec<SerdeTerm<Varying>> {
    values
}

// ---------------------------------------------------------------------------------
// serde_json::Value: as Jason decodes JSON.

#[nif]
fn serde_json_value(value: SerdeTerm<serde_json::Value>) -> SerdeTerm<serde_json::Value> {
    value
}

/// JSON text → term.
#[nif]
fn serde_json_parse(json: &str) -> oxbeam::Result<SerdeTerm<serde_json::Value>> {
    Ok(SerdeTerm(serde_json::from_str(json)?))
}

/// Term → JSON text.
#[nif]
fn serde_json_dump(value: SerdeTerm<serde_json::Value>) -> oxbeam::Result<String> {
    Ok(serde_json::to_string(&value.0)?)
}

// ---------------------------------------------------------------------------------
// The property test's value: every kind of term, nested.

/// A generated value: `nil`, booleans, integers (bignums too), floats, strings,
/// binaries, lists, tuples, maps with string keys, and a struct with atom keys.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Node {
    Nil,
    Flag(bool),
    Int(i64),
    Big(i128),
    Float(f64),
    Text(String),
    Raw(Bytes),
    List(Vec<Node>),
    Pair(Box<Node>, Box<Node>),
    Map(BTreeMap<String, Node>),
    Record {
        name: String,
        kids: Vec<Node>,
        extra: Option<Box<Node>>,
    },
}

#[nif]
fn serde_node(node: SerdeTerm<Node>) -> SerdeTerm<Node> {
    node
}

/// Decodes with `from_term` and encodes with `to_term` (the functions, not the wrapper).
#[nif]
fn serde_node_functions<'a>(env: Env<'a>, term: Term<'a>) -> oxbeam::Result<Term<'a>> {
    let node: Node = from_term(env, term).unwrap_or_else(|error| error.raise_for(env, term));
    to_term(env, &node)
}

// ---------------------------------------------------------------------------------
// The derive's and serde's messages for the same bad term.

/// `{derive's message, serde's message}` for decoding `term` as `T` (nil when it
/// decodes).
fn messages<'a, T: Decode<'a> + Deserialize<'a>>(
    env: Env<'a>,
    term: Term<'a>,
) -> (Option<String>, Option<String>) {
    (
        T::decode(term, env).err().map(|error| error.describe(env)),
        from_term::<T>(env, term)
            .err()
            .map(|error| error.describe(env)),
    )
}

#[nif]
fn serde_messages_point<'a>(env: Env<'a>, term: Term<'a>) -> (Option<String>, Option<String>) {
    messages::<Point>(env, term)
}

#[nif]
fn serde_messages_settings<'a>(env: Env<'a>, term: Term<'a>) -> (Option<String>, Option<String>) {
    messages::<Settings>(env, term)
}

#[nif]
fn serde_messages_pair<'a>(env: Env<'a>, term: Term<'a>) -> (Option<String>, Option<String>) {
    messages::<Pair>(env, term)
}

#[nif]
fn serde_messages_color<'a>(env: Env<'a>, term: Term<'a>) -> (Option<String>, Option<String>) {
    messages::<Color>(env, term)
}

#[nif]
fn serde_messages_shape<'a>(env: Env<'a>, term: Term<'a>) -> (Option<String>, Option<String>) {
    messages::<Shape>(env, term)
}

#[nif]
fn serde_messages_polygon<'a>(env: Env<'a>, term: Term<'a>) -> (Option<String>, Option<String>) {
    messages::<Polygon>(env, term)
}

/// `serde_json_value` on a dirty CPU scheduler, whose stack is the smallest (the
/// deepest nesting allowed must fit it).
#[nif(schedule = "dirty_cpu")]
fn serde_json_value_dirty(value: SerdeTerm<serde_json::Value>) -> SerdeTerm<serde_json::Value> {
    value
}
