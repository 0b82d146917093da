//! Elixir typespecs for Rust types, for the `@spec` of generated stubs. Purely
//! syntactic: a type oxbeam does not know by name becomes `oxbeam_type(Name)`, which
//! the Elixir side resolves to the `@type` of a derived or resource type of that name
//! (the derive and `#[resource]` embed one in the library), or to `term()`.

use syn::{GenericArgument, PathArguments, Type};

/// Where the type appears: arguments accept more than results produce (an integer is
/// accepted for a float argument).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Position {
    Argument,
    Return,
}

pub fn typespec(ty: &Type, position: Position) -> String {
    match ty {
        Type::Reference(r) => typespec(&r.elem, position),
        Type::Paren(p) => typespec(&p.elem, position),
        Type::Group(g) => typespec(&g.elem, position),
        Type::Slice(s) => slice_spec(&s.elem, position),
        Type::Tuple(t) if t.elems.is_empty() => ":ok".into(),
        Type::Tuple(t) => {
            let elems: Vec<String> = t.elems.iter().map(|e| typespec(e, position)).collect();
            format!("{{{}}}", elems.join(", "))
        }
        Type::Path(p) => {
            let Some(last) = p.path.segments.last() else {
                return "term()".into();
            };
            let args = generic_types(&last.arguments);
            let name = last.ident.to_string();
            match (name.as_str(), args.as_slice()) {
                ("u8" | "u16" | "u32" | "u64" | "u128" | "usize", _) => "non_neg_integer()".into(),
                ("i8" | "i16" | "i32" | "i64" | "i128" | "isize", _) => "integer()".into(),
                ("f32" | "f64", _) if position == Position::Argument => "number()".into(),
                ("f32" | "f64", _) => "float()".into(),
                ("bool", _) => "boolean()".into(),
                ("Atom", _) => "atom()".into(),
                ("str" | "String", _) => "String.t()".into(),
                ("Binary" | "OwnedBinary", _) => "binary()".into(),
                ("LocalPid", _) => "pid()".into(),
                ("Term", _) => "term()".into(),
                ("ListIterator", _) => "list()".into(),
                // Fine's result shapes (`oxbeam::tagged`): `:ok`, `{:ok, a, b}`, ...
                ("Ok", []) => ":ok".into(),
                ("Error", []) if in_tagged(&p.path) => ":error".into(),
                ("Ok", [values]) => tagged_spec("ok", values, position),
                ("Error", [values]) => tagged_spec("error", values, position),
                ("Tagged", [ok]) => format!("{} | :error", tagged_spec("ok", ok, position)),
                ("Tagged", [ok, error]) => format!(
                    "{} | {}",
                    tagged_spec("ok", ok, position),
                    tagged_spec("error", error, position)
                ),
                // A Vec is a list both ways, bytes included (`&[u8]` is the binary).
                ("Vec", [inner]) => format!("[{}]", element_spec(inner, position)),
                // A resource handle: the resource type's opaque @type.
                ("ResourceArc", [inner]) => typespec(inner, position),
                ("Option", [inner]) => format!("{} | nil", typespec(inner, position)),
                ("HashMap" | "BTreeMap", [k, v, ..]) => format!(
                    "%{{optional({}) => {}}}",
                    typespec(k, position),
                    typespec(v, position)
                ),
                ("Result", [ok]) => typespec(ok, position),
                // A top-level `Result<T, E>` whose `E` raises is specced by `#[nif]` itself
                // (nif::result_records, decided by type); anywhere else it is a value.
                ("Result", [ok, err]) => format!(
                    "{{:ok, {}}} | {{:error, {}}}",
                    typespec(ok, position),
                    typespec(err, position)
                ),
                _ => match derived_name(ty) {
                    Some(name) => format!("oxbeam_type({name})"),
                    None => "term()".into(),
                },
            }
        }
        _ => "term()".into(),
    }
}

/// The name of a type oxbeam does not know, if it can be a derived type: the last
/// segment of a path, starting with an uppercase letter (`Point`, `crate::Point<T>`).
fn derived_name(ty: &Type) -> Option<String> {
    let Type::Path(p) = ty else {
        return None;
    };
    let last = p.path.segments.last()?;
    let name = last.ident.to_string();
    let known = matches!(
        name.as_str(),
        "Vec"
            | "Option"
            | "HashMap"
            | "BTreeMap"
            | "Result"
            | "Term"
            | "Atom"
            | "String"
            | "ResourceArc"
            | "Tagged"
    );
    (!known && name.starts_with(|c: char| c.is_ascii_uppercase())).then_some(name)
}

/// `tagged::Error`: the path names the `tagged` module.
fn in_tagged(path: &syn::Path) -> bool {
    path.segments.iter().any(|s| s.ident == "tagged")
}

/// `:tag` for `()`, `{:tag, a, b}` for `(A, B)`: a tag followed by the tuple's values.
fn tagged_spec(tag: &str, values: &Type, position: Position) -> String {
    match values {
        Type::Tuple(t) if t.elems.is_empty() => format!(":{tag}"),
        Type::Tuple(t) => {
            let specs: Vec<String> = t.elems.iter().map(|e| typespec(e, position)).collect();
            format!("{{:{tag}, {}}}", specs.join(", "))
        }
        other => format!("{{:{tag}, {}}}", typespec(other, position)),
    }
}

/// A list element: `u8` is `byte()`.
fn element_spec(elem: &Type, position: Position) -> String {
    match elem {
        Type::Path(p) if p.path.is_ident("u8") => "byte()".into(),
        _ => typespec(elem, position),
    }
}

fn slice_spec(elem: &Type, position: Position) -> String {
    if let Type::Path(p) = elem {
        if p.path.is_ident("u8") {
            return "binary()".into();
        }
    }
    format!("[{}]", typespec(elem, position))
}

fn generic_types(args: &PathArguments) -> Vec<&Type> {
    match args {
        PathArguments::AngleBracketed(a) => a
            .args
            .iter()
            .filter_map(|arg| match arg {
                GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn arg(ty: Type) -> String {
        typespec(&ty, Position::Argument)
    }
    fn ret(ty: Type) -> String {
        typespec(&ty, Position::Return)
    }

    #[test]
    fn scalars() {
        assert_eq!(arg(parse_quote!(i64)), "integer()");
        assert_eq!(arg(parse_quote!(u8)), "non_neg_integer()");
        assert_eq!(arg(parse_quote!(f64)), "number()");
        assert_eq!(ret(parse_quote!(f64)), "float()");
        assert_eq!(ret(parse_quote!(())), ":ok");
        assert_eq!(arg(parse_quote!(&'a str)), "String.t()");
        assert_eq!(arg(parse_quote!(&[u8])), "binary()");
    }

    #[test]
    fn containers() {
        assert_eq!(arg(parse_quote!(Vec<i64>)), "[integer()]");
        assert_eq!(arg(parse_quote!(Vec<u8>)), "[byte()]");
        assert_eq!(ret(parse_quote!(tagged::Ok<()>)), ":ok");
        assert_eq!(ret(parse_quote!(tagged::Ok)), ":ok");
        assert_eq!(ret(parse_quote!(tagged::Error)), ":error");
        assert_eq!(
            ret(parse_quote!(Ok<(i64, f64)>)),
            "{:ok, integer(), float()}"
        );
        assert_eq!(
            ret(parse_quote!(Tagged<(i64, i64), (String,)>)),
            "{:ok, integer(), integer()} | {:error, String.t()}"
        );
        assert_eq!(arg(parse_quote!(&[u8])), "binary()");
        assert_eq!(
            ret(parse_quote!(ResourceArc<Counter>)),
            "oxbeam_type(Counter)"
        );
        assert_eq!(arg(parse_quote!((i64, String))), "{integer(), String.t()}");
        assert_eq!(arg(parse_quote!(Option<bool>)), "boolean() | nil");
        assert_eq!(
            arg(parse_quote!(HashMap<String, i64>)),
            "%{optional(String.t()) => integer()}"
        );
        assert_eq!(ret(parse_quote!(oxbeam::Result<i64>)), "integer()");
        assert_eq!(
            ret(parse_quote!(Result<i64, String>)),
            "{:ok, integer()} | {:error, String.t()}"
        );
        assert_eq!(arg(parse_quote!(MyStruct)), "oxbeam_type(MyStruct)");
        assert_eq!(arg(parse_quote!(Vec<crate::Point>)), "[oxbeam_type(Point)]");
        assert_eq!(
            ret(parse_quote!(Result<i64, NotFound>)),
            "{:ok, integer()} | {:error, oxbeam_type(NotFound)}"
        );
    }
}
