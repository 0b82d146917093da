//! Names shared by the serializer and the deserializer: atoms for serde's names,
//! how they read in messages, and the path steps of errors.

use crate::atom::{atom_from_raw, Atom};
use crate::env::Env;
use crate::sys;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// The module of a struct whose serde name is an Elixir module: `"Elixir.MyApp.Point"`,
/// or `"MyApp.Point"` (an uppercase letter first and a dot).
pub(crate) fn struct_module(name: &str) -> Option<std::borrow::Cow<'_, str>> {
    if name.starts_with("Elixir.") {
        return Some(name.into());
    }
    let first_upper = name.chars().next().is_some_and(|c| c.is_ascii_uppercase());
    (first_upper && name.contains('.')).then(|| format!("Elixir.{name}").into())
}

/// Whether [`struct_module`] would find a module in `name` (without allocating).
#[inline]
fn looks_like_module(name: &str) -> bool {
    name.as_bytes().first().is_some_and(u8::is_ascii_uppercase) && name.contains('.')
}

/// `%MyApp.Point{}` for the module `Elixir.MyApp.Point` (as the derive writes it).
pub(crate) fn struct_display(module: &str) -> String {
    format!("%{}{{}}", module.trim_start_matches("Elixir."))
}

/// How Elixir writes the atom `name`: `:x`, `:"dark-blue"`, `nil` (as the derive).
pub(crate) fn inspect_atom(name: &str) -> String {
    if matches!(name, "nil" | "true" | "false") {
        return name.to_string();
    }
    let body = name.strip_suffix(['?', '!']).unwrap_or(name);
    let plain = body
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && body
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '@');
    if plain {
        format!(":{name}")
    } else {
        format!(":{name:?}")
    }
}

/// A key in Elixir's map syntax: `x` in `%{x: _}`.
pub(crate) fn map_key(name: &str) -> String {
    let atom = inspect_atom(name);
    match atom.strip_prefix(':') {
        Some(plain) => plain.to_string(),
        None => format!("{atom}:"),
    }
}

/// The Rust type's name as the derive writes it: `Point` for `my_crate::Point<T>`.
pub(crate) fn type_ident<T: ?Sized>() -> String {
    let full = std::any::type_name::<T>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base).to_string()
}

/// The Rust type's name as the built-in codecs write it: `Vec<i64>`.
pub(crate) fn type_name<T: ?Sized>() -> String {
    crate::types::short_type_name(std::any::type_name::<T>())
}

/// A `'static` copy of `text`, made once per distinct text. Path steps
/// (`PathStep::Field`) are `'static`; the texts interned here are built from serde's
/// own `'static` names (fields, variants, types), so their number is bounded by the
/// program, not by the terms decoded. Only error paths call this.
pub(crate) fn intern(text: String) -> &'static str {
    static TEXTS: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let mut guard = TEXTS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let texts = guard.get_or_insert_with(HashSet::new);
    if let Some(&known) = texts.get(text.as_str()) {
        return known;
    }
    let leaked: &'static str = Box::leak(text.into_boxed_str());
    texts.insert(leaked);
    leaked
}

/// The atom `name` if it already exists (a key that is not an existing atom cannot be
/// in a map): looking it up never grows the atom table.
#[inline]
pub(crate) fn existing_atom(env: Env<'_>, name: &str) -> Option<Atom> {
    let mut raw = 0;
    // SAFETY: name points to name.len() readable bytes; raw is a valid out-pointer;
    // atoms are valid in every environment.
    let found = unsafe {
        sys::enif_make_existing_atom_len(
            env.as_raw(),
            name.as_ptr() as *const _,
            name.len(),
            &mut raw,
            sys::ErlNifCharEncoding::ERL_NIF_LATIN1,
        )
    };
    (found != 0).then(|| atom_from_raw(raw))
}

/// The text of an atom term, read into a stack buffer (no allocation for ASCII atoms).
pub(crate) struct AtomText {
    buf: [u8; crate::atom::MAX_ATOM_LENGTH + 1],
    len: usize,
}

impl AtomText {
    /// `None` when `term` is not an atom.
    #[inline]
    pub(crate) fn read(env: Env<'_>, term: crate::Term<'_>) -> Option<AtomText> {
        let mut text = AtomText {
            buf: [0; crate::atom::MAX_ATOM_LENGTH + 1],
            len: 0,
        };
        // SAFETY: buf is writable for its whole length, which is passed; a latin-1
        // atom has at most MAX_ATOM_LENGTH bytes, plus the NUL written after it.
        let n = unsafe {
            sys::enif_get_atom(
                env.as_raw(),
                term.as_raw(),
                text.buf.as_mut_ptr() as *mut _,
                text.buf.len() as _,
                sys::ErlNifCharEncoding::ERL_NIF_LATIN1,
            )
        };
        if n <= 0 {
            return None;
        }
        text.len = n as usize - 1;
        Some(text)
    }

    /// The name as UTF-8: borrowed for ASCII, converted from latin-1 otherwise.
    pub(crate) fn as_str(&self) -> std::borrow::Cow<'_, str> {
        let bytes = &self.buf[..self.len];
        match std::str::from_utf8(bytes) {
            Ok(text) if bytes.is_ascii() => text.into(),
            _ => bytes.iter().map(|&b| b as char).collect::<String>().into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names() {
        assert_eq!(
            struct_module("Elixir.MyApp.Point").as_deref(),
            Some("Elixir.MyApp.Point")
        );
        assert_eq!(
            struct_module("MyApp.Point").as_deref(),
            Some("Elixir.MyApp.Point")
        );
        assert_eq!(struct_module("Point"), None);
        assert_eq!(struct_module("my.point"), None);
        for name in ["Elixir.A.B", "A.B", "Point", "my.point", "", "Éa.b"] {
            assert_eq!(
                looks_like_module(name),
                struct_module(name).is_some(),
                "{name}"
            );
        }
    }

    #[test]
    fn atoms_read_as_elixir_writes_them() {
        assert_eq!(inspect_atom("x"), ":x");
        assert_eq!(inspect_atom("dark-blue"), ":\"dark-blue\"");
        assert_eq!(inspect_atom("nil"), "nil");
        assert_eq!(map_key("x"), "x");
        assert_eq!(map_key("X-Id"), "\"X-Id\"");
    }

    #[test]
    fn type_idents_drop_paths_and_generics() {
        assert_eq!(type_ident::<Vec<i64>>(), "Vec");
        assert_eq!(type_name::<Vec<i64>>(), "Vec<i64>");
    }

    #[test]
    fn interned_texts_are_shared() {
        let a = intern("field :x of the map".to_string());
        let b = intern("field :x of the map".to_string());
        assert!(std::ptr::eq(a, b));
    }
}

/// Containers nested deeper than this are refused: 128 levels, as `serde_json`.
pub const MAX_DEPTH: u32 = 128;

/// The most stack one [`to_term`](super::to_term) or [`from_term`](super::from_term)
/// may use. A NIF on a dirty scheduler has about 320 KiB of stack (`+sssdcpu`, 40
/// kilowords), and a frame per level can be large (several KiB in a debug build):
/// counting levels alone cannot keep a deep term from overflowing the stack, which
/// would take the VM down.
pub const STACK_BUDGET: usize = 192 * 1024;

/// The address of a local of the caller's frame: how deep the stack is.
#[inline(always)]
fn stack_position() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

/// How deep a serializer or deserializer is: levels, and stack used since it started.
#[derive(Clone, Copy)]
pub(crate) struct Depth {
    start: usize,
    levels: u32,
}

impl Depth {
    #[inline(always)]
    pub(crate) fn start() -> Depth {
        Depth {
            start: stack_position(),
            levels: 0,
        }
    }

    /// Where the stack was at [`Depth::start`].
    #[inline(always)]
    pub(crate) fn position(self) -> usize {
        self.start
    }

    /// Levels entered so far.
    #[inline(always)]
    pub(crate) fn levels(self) -> u32 {
        self.levels
    }

    /// The depth of `levels` levels entered since the stack was at `start`.
    #[inline(always)]
    pub(crate) fn resume(start: usize, levels: u32) -> Depth {
        Depth { start, levels }
    }

    /// One level deeper, or `None` past [`MAX_DEPTH`] or [`STACK_BUDGET`].
    #[inline(always)]
    pub(crate) fn enter(self) -> Option<Depth> {
        let levels = self.levels + 1;
        (levels <= MAX_DEPTH && self.within_budget()).then_some(Depth {
            start: self.start,
            levels,
        })
    }

    /// Whether the stack used so far is within [`STACK_BUDGET`] (for recursion that
    /// does not enter a container: `Some`, newtypes).
    #[inline(always)]
    pub(crate) fn within_budget(self) -> bool {
        self.start.abs_diff(stack_position()) <= STACK_BUDGET
    }
}

/// What a too deep term or value is told.
pub(crate) const TOO_DEEP: &str =
    "data nested less deeply (serde reads and writes at most 128 levels, in 192 KiB of stack)";

/// The atom made for a serde name (field or variant), found again by its address.
struct NameAtom {
    key: StaticKey,
    atom: sys::ERL_NIF_TERM,
}

impl Keyed for NameAtom {
    fn key(&self) -> StaticKey {
        self.key
    }
}

static NAME_ATOMS: StaticIndex<NameAtom> = StaticIndex::new();

/// Kinds of entries under one name in [`NAME_ATOMS`].
const NAME: usize = 0;
const MODULE: usize = 1;

/// The atom `name` (a serde field or variant name), created if needed; `None` when the
/// name cannot be an atom. Looked up in the atom table once per program.
#[inline]
pub(crate) fn name_atom(env: Env<'_>, name: &'static str) -> Option<Atom> {
    let key = [name.as_ptr() as usize, name.len(), NAME, 0];
    if let Some(found) = NAME_ATOMS.get(key) {
        return Some(atom_from_raw(found.atom));
    }
    NAME_ATOMS
        .get_or_make(key, || {
            Atom::try_from_str(env, name).map(|atom| NameAtom {
                key,
                atom: atom.as_raw(),
            })
        })
        .map(|found| atom_from_raw(found.atom))
}

/// The module atom of a struct whose serde name is `name` (see [`struct_module`]):
/// `None` when the name is not a module's; `Some(None)` when the module's atom does
/// not exist (`create: false`) or cannot be made.
#[inline]
pub(crate) fn module_atom(env: Env<'_>, name: &'static str, create: bool) -> Option<Option<Atom>> {
    // Most structs are plain maps: a glance at the name, no lookup.
    if !looks_like_module(name) {
        return None;
    }
    let key = [name.as_ptr() as usize, name.len(), MODULE, 0];
    if let Some(found) = NAME_ATOMS.get(key) {
        return Some(Some(atom_from_raw(found.atom)));
    }
    let module = struct_module(name)?;
    // Not kept when it does not exist yet: it may later.
    let found = NAME_ATOMS.get_or_make(key, || {
        let atom = if create {
            Atom::try_from_str(env, &module)
        } else {
            existing_atom(env, &module)
        };
        atom.map(|atom| NameAtom {
            key,
            atom: atom.as_raw(),
        })
    });
    Some(found.map(|found| atom_from_raw(found.atom)))
}

/// The atoms of a struct's fields or an enum's variants (serde's
/// `&'static [&'static str]`; 0 for a name that cannot be an atom, hence never a key
/// or a tag), and for a struct whose name is a module's, that module: made once per
/// program (the derive makes its own at load; serde's names are static too, so their
/// number is bounded) and found again by the addresses of the name and the list, so
/// decoding a struct costs one lookup, not one per field.
pub(crate) struct NameList {
    key: StaticKey,
    pub(crate) atoms: Box<[sys::ERL_NIF_TERM]>,
    /// A struct's module: `None` when its name is not a module's, 0 until the module's
    /// atom exists.
    module: Option<std::sync::atomic::AtomicU64>,
}

impl Keyed for NameList {
    fn key(&self) -> StaticKey {
        self.key
    }
}

static NAME_LISTS: StaticIndex<NameList> = StaticIndex::new();

impl NameList {
    /// The atoms of `names` (the fields of the struct `owner`, or with `struct_of:
    /// false` the variants of the enum `owner`).
    #[inline]
    pub(crate) fn of(
        env: Env<'_>,
        owner: &'static str,
        names: &'static [&'static str],
        struct_of: bool,
    ) -> &'static NameList {
        let key = [
            owner.as_ptr() as usize,
            owner.len(),
            names.as_ptr() as usize,
            names.len() << 1 | struct_of as usize,
        ];
        if let Some(found) = NAME_LISTS.get(key) {
            return found;
        }
        let made = NAME_LISTS.get_or_make(key, || {
            Some(NameList {
                key,
                atoms: names
                    .iter()
                    .map(|name| Atom::try_from_str(env, name).map_or(0, Atom::as_raw))
                    .collect(),
                module: (struct_of && looks_like_module(owner))
                    .then(|| std::sync::atomic::AtomicU64::new(0)),
            })
        });
        made.expect("a name list is always made")
    }

    /// `None` when the struct's name is not a module's; `Some(None)` when the module's
    /// atom does not exist (no map can be that struct).
    #[inline(always)]
    pub(crate) fn module(&self, env: Env<'_>, owner: &'static str) -> Option<Option<Atom>> {
        let module = self.module.as_ref()?;
        let raw = module.load(std::sync::atomic::Ordering::Relaxed);
        if raw != 0 {
            return Some(Some(atom_from_raw(raw)));
        }
        self.look_up_module(env, owner)
    }

    /// The module's atom, until it exists (then kept in `module`).
    #[cold]
    #[inline(never)]
    fn look_up_module(&self, env: Env<'_>, owner: &'static str) -> Option<Option<Atom>> {
        let module = self.module.as_ref()?;
        let found = module_atom(env, owner, false)?;
        if let Some(atom) = found {
            // Atoms are never freed: the word stays true for the life of the VM.
            module.store(atom.as_raw(), std::sync::atomic::Ordering::Relaxed);
        }
        Some(found)
    }
}

/// A `'static` identity: the addresses and lengths of up to two of serde's `'static`
/// names or name lists (a struct's name and its fields, an enum's name and variants).
pub(crate) type StaticKey = [usize; 4];

/// Something found again by its [`StaticKey`].
pub(crate) trait Keyed: Sync + 'static {
    fn key(&self) -> StaticKey;
}

/// An index from serde's `'static` names to facts made once per program (atoms, key
/// layouts), shared by all threads: a lookup is two atomic loads, no lock and no
/// thread-local. Entries are made under a lock, leaked (their number is bounded by the
/// program's `'static` names, as for the derive's atoms made at load), and never
/// replaced; the lock-free slots are only a shortcut to them.
pub(crate) struct StaticIndex<T: Keyed> {
    slots: [std::sync::atomic::AtomicPtr<T>; INDEX_SLOTS],
    made: Mutex<Option<HashMap<StaticKey, &'static T>>>,
}

const INDEX_SLOTS: usize = 512;

impl<T: Keyed> StaticIndex<T> {
    pub(crate) const fn new() -> StaticIndex<T> {
        StaticIndex {
            slots: [const { std::sync::atomic::AtomicPtr::new(std::ptr::null_mut()) }; INDEX_SLOTS],
            made: Mutex::new(None),
        }
    }

    #[inline(always)]
    fn slot(key: &StaticKey) -> usize {
        let mixed = (key[0] as u64)
            ^ (key[1] as u64).rotate_left(32)
            ^ (key[2] as u64).rotate_left(17)
            ^ (key[3] as u64).rotate_left(49);
        (mixed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - INDEX_SLOTS.trailing_zeros())) as usize
    }

    /// The entry for `key`, if made and published (two slots per key).
    #[inline(always)]
    pub(crate) fn get(&self, key: StaticKey) -> Option<&'static T> {
        let first = Self::slot(&key);
        for i in [first, first ^ 1] {
            let entry = self.slots[i].load(std::sync::atomic::Ordering::Acquire);
            // SAFETY: a non-null slot holds a pointer to a leaked (never freed) T,
            // published with Release after it was fully built.
            if let Some(entry) = unsafe { entry.as_ref() } {
                // Word by word: a vector compare of the array was slower (its halves
                // were just stored separately).
                let found = entry.key();
                if found[0] == key[0]
                    && found[1] == key[1]
                    && found[2] == key[2]
                    && found[3] == key[3]
                {
                    return Some(entry);
                }
            }
        }
        None
    }

    /// The entry for `key`, made by `make` the first time (`None`: nothing to keep,
    /// `make` runs again next time).
    #[cold]
    #[inline(never)]
    pub(crate) fn get_or_make(
        &self,
        key: StaticKey,
        make: impl FnOnce() -> Option<T>,
    ) -> Option<&'static T> {
        let mut made = self
            .made
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let made = made.get_or_insert_with(HashMap::new);
        let entry: &'static T = match made.get(&key) {
            Some(&entry) => entry,
            None => {
                let entry: &'static T = Box::leak(Box::new(make()?));
                made.insert(key, entry);
                entry
            }
        };
        // Published in the first free slot of the two; when both hold other keys the
        // entry is still found here, under the lock.
        let first = Self::slot(&key);
        for i in [first, first ^ 1] {
            let published = self.slots[i].compare_exchange(
                std::ptr::null_mut(),
                entry as *const T as *mut T,
                std::sync::atomic::Ordering::AcqRel,
                std::sync::atomic::Ordering::Acquire,
            );
            match published {
                Ok(_) => break,
                Err(other) if std::ptr::eq(other, entry) => break,
                Err(_) => {}
            }
        }
        Some(entry)
    }
}

#[cfg(test)]
mod index_tests {
    use super::*;

    /// The key of a `'static` name (and an optional second one).
    #[inline(always)]
    fn static_key(first: &'static str, second: &'static [&'static str]) -> StaticKey {
        [
            first.as_ptr() as usize,
            first.len(),
            second.as_ptr() as usize,
            second.len(),
        ]
    }

    struct Fact(StaticKey, u32);
    impl Keyed for Fact {
        fn key(&self) -> StaticKey {
            self.0
        }
    }

    #[test]
    fn an_entry_is_made_once_and_found_again() {
        static INDEX: StaticIndex<Fact> = StaticIndex::new();
        let key = static_key("point", &["x", "y"]);
        assert!(INDEX.get(key).is_none());
        let made = INDEX.get_or_make(key, || Some(Fact(key, 7))).unwrap();
        let again = INDEX.get_or_make(key, || Some(Fact(key, 8))).unwrap();
        assert!(std::ptr::eq(made, again));
        assert_eq!(INDEX.get(key).map(|fact| fact.1), Some(7));
        assert!(INDEX
            .get_or_make(static_key("none", &[]), || None)
            .is_none());
    }

    #[test]
    fn keys_sharing_slots_are_all_found() {
        static INDEX: StaticIndex<Fact> = StaticIndex::new();
        // More keys than two slots can hold for any one slot: all found (some only
        // under the lock).
        let names: Vec<&'static str> = (0..2000)
            .map(|i| &*Box::leak(format!("f{i}").into_boxed_str()))
            .collect();
        for (i, name) in names.iter().enumerate() {
            let key = static_key(name, &[]);
            INDEX.get_or_make(key, || Some(Fact(key, i as u32)));
        }
        for (i, name) in names.iter().enumerate() {
            let key = static_key(name, &[]);
            let found = INDEX.get(key).or_else(|| INDEX.get_or_make(key, || None));
            assert_eq!(found.map(|fact| fact.1), Some(i as u32));
        }
    }
}
