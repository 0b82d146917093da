//! What a derived type is: its `#[oxbeam(...)]` attributes read into a [`Model`]
//! (a plain value the code generator and the unit tests work on). Every misuse is a
//! `syn::Error` spanned on the culprit.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Attribute, Data, DeriveInput, Fields, Ident, LitStr, Member, Type};

/// A type to derive `Encode`/`Decode` for.
pub struct Model {
    pub ident: Ident,
    pub generics: syn::Generics,
    pub shape: Shape,
}

/// How the type crosses the boundary.
pub enum Shape {
    /// `%Module{field: ...}`; `exception` adds `__exception__: true`.
    Struct {
        module: String,
        exception: bool,
        fields: Vec<Field>,
    },
    /// A plain map, with atom keys or (by `keys = "strings"`) binary keys.
    Map {
        string_keys: bool,
        fields: Vec<Field>,
    },
    /// `{f1, f2, ...}`.
    Tuple { fields: Vec<Field> },
    /// `{:tag, f1, f2, ...}`.
    Record { tag: String, fields: Vec<Field> },
    /// An enum of unit variants: atoms.
    Atoms { variants: Vec<Variant> },
    /// `:unit` / `{:tag, v}` / `{:tag, v1, v2}` / `{:tag, %{field: v}}`.
    Tagged { variants: Vec<Variant> },
    /// The first variant whose shape decodes.
    Untagged { variants: Vec<Variant> },
}

pub struct Field {
    /// `self.x` or `self.0`.
    pub member: Member,
    pub ty: Type,
    /// The key (or the name in messages): the Rust name unless renamed.
    pub name: String,
    pub default: Option<FieldDefault>,
    pub skip: bool,
}

pub enum FieldDefault {
    /// `Default::default()`.
    Trait,
    /// A function returning the value.
    Function(syn::Path),
}

pub struct Variant {
    pub ident: Ident,
    /// The atom (tag) the variant is known by.
    pub name: String,
    pub kind: VariantKind,
    pub fields: Vec<Field>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum VariantKind {
    Unit,
    /// `V(a, b)`.
    Tuple,
    /// `V { a, b }`.
    Named,
}

const CONTAINER_KEYS: &str =
    "`struct`, `exception`, `map`, `keys`, `tuple`, `record`, `untagged`, `rename_all`";
const FIELD_KEYS: &str = "`rename`, `default`, `skip`";

/// Container attributes as written.
#[derive(Default)]
struct ContainerAttrs {
    /// The container kind and where it was written (for conflicts).
    kind: Option<(ContainerKind, Span)>,
    string_keys: Option<Span>,
    untagged: Option<Span>,
    rename_all: Option<(RenameRule, Span)>,
}

#[derive(Clone)]
enum ContainerKind {
    Struct(String),
    Exception(String),
    Map,
    Tuple,
    Record(String),
}

impl ContainerKind {
    fn keyword(&self) -> &'static str {
        match self {
            ContainerKind::Struct(_) => "struct",
            ContainerKind::Exception(_) => "exception",
            ContainerKind::Map => "map",
            ContainerKind::Tuple => "tuple",
            ContainerKind::Record(_) => "record",
        }
    }
}

/// How variant (and field) names become atoms.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RenameRule {
    SnakeCase,
    Lowercase,
    Uppercase,
    PascalCase,
    CamelCase,
    ScreamingSnakeCase,
    KebabCase,
}

impl RenameRule {
    fn parse(lit: &LitStr) -> syn::Result<RenameRule> {
        Ok(match lit.value().as_str() {
            "snake_case" => RenameRule::SnakeCase,
            "lowercase" => RenameRule::Lowercase,
            "UPPERCASE" => RenameRule::Uppercase,
            "PascalCase" => RenameRule::PascalCase,
            "camelCase" => RenameRule::CamelCase,
            "SCREAMING_SNAKE_CASE" => RenameRule::ScreamingSnakeCase,
            "kebab-case" => RenameRule::KebabCase,
            other => {
                return Err(syn::Error::new(
                    lit.span(),
                    format!(
                        "unknown rename_all rule {other:?}; expected one of \"snake_case\", \
                         \"lowercase\", \"UPPERCASE\", \"PascalCase\", \"camelCase\", \
                         \"SCREAMING_SNAKE_CASE\", \"kebab-case\""
                    ),
                ))
            }
        })
    }

    /// Applies the rule to a Rust name (a `PascalCase` variant or a `snake_case` field).
    pub fn apply(self, name: &str) -> String {
        let words = words(name);
        match self {
            RenameRule::SnakeCase => join_lower(&words, "_"),
            RenameRule::KebabCase => join_lower(&words, "-"),
            RenameRule::Lowercase => words.concat().to_lowercase(),
            RenameRule::Uppercase => words.concat().to_uppercase(),
            RenameRule::ScreamingSnakeCase => join_lower(&words, "_").to_uppercase(),
            RenameRule::PascalCase => words.iter().map(|w| capitalize(w)).collect(),
            RenameRule::CamelCase => {
                let pascal: String = words.iter().map(|w| capitalize(w)).collect();
                let mut chars = pascal.chars();
                match chars.next() {
                    Some(first) => first.to_lowercase().chain(chars).collect(),
                    None => pascal,
                }
            }
        }
    }
}

/// `HTTPServer2Error` → `HTTP`, `Server2`, `Error`; `snake_case` → `snake`, `case`.
fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    for part in name.split('_').filter(|p| !p.is_empty()) {
        let chars: Vec<char> = part.chars().collect();
        let mut current = String::new();
        for (i, &c) in chars.iter().enumerate() {
            let boundary = c.is_uppercase()
                && !current.is_empty()
                && (chars[i - 1].is_lowercase()
                    || chars[i - 1].is_ascii_digit()
                    || chars.get(i + 1).is_some_and(|n| n.is_lowercase()));
            if boundary {
                words.push(std::mem::take(&mut current));
            }
            current.push(c);
        }
        if !current.is_empty() {
            words.push(current);
        }
    }
    words
}

fn join_lower(words: &[String], sep: &str) -> String {
    words
        .iter()
        .map(|w| w.to_lowercase())
        .collect::<Vec<_>>()
        .join(sep)
}

fn capitalize(word: &str) -> String {
    let lower = word.to_lowercase();
    let mut chars = lower.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `MyApp.Point` or `Elixir.MyApp.Point` → `Elixir.MyApp.Point`.
fn module_atom(lit: &LitStr) -> syn::Result<String> {
    let value = lit.value();
    let bare = value.strip_prefix("Elixir.").unwrap_or(&value);
    let valid = !bare.is_empty()
        && bare.split('.').all(|segment| {
            let mut chars = segment.chars();
            chars.next().is_some_and(|c| c.is_ascii_uppercase())
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
    if !valid {
        return Err(syn::Error::new(
            lit.span(),
            format!("{value:?} is not an Elixir module name (write it like \"MyApp.Point\")"),
        ));
    }
    Ok(format!("Elixir.{bare}"))
}

fn parse_container(attrs: &[Attribute]) -> syn::Result<ContainerAttrs> {
    let mut out = ContainerAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("oxbeam")) {
        attr.parse_nested_meta(|meta| {
            let span = meta.path.span();
            let key = meta
                .path
                .get_ident()
                .map(|i| i.to_string())
                .unwrap_or_default();
            let kind = match key.as_str() {
                "struct" => Some(ContainerKind::Struct(module_atom(&meta.value()?.parse()?)?)),
                "exception" => Some(ContainerKind::Exception(module_atom(
                    &meta.value()?.parse()?,
                )?)),
                "map" => Some(ContainerKind::Map),
                "tuple" => Some(ContainerKind::Tuple),
                "record" => {
                    let tag: LitStr = meta.value()?.parse()?;
                    if tag.value().is_empty() {
                        return Err(syn::Error::new(tag.span(), "a record tag cannot be empty"));
                    }
                    Some(ContainerKind::Record(tag.value()))
                }
                "keys" => {
                    let lit: LitStr = meta.value()?.parse()?;
                    match lit.value().as_str() {
                        "strings" => out.string_keys = Some(span),
                        "atoms" => {}
                        _ => {
                            return Err(syn::Error::new(
                                lit.span(),
                                "`keys` is \"atoms\" (the default) or \"strings\"",
                            ))
                        }
                    }
                    None
                }
                "untagged" => {
                    out.untagged = Some(span);
                    None
                }
                "rename_all" => {
                    let lit: LitStr = meta.value()?.parse()?;
                    out.rename_all = Some((RenameRule::parse(&lit)?, span));
                    None
                }
                _ => {
                    return Err(syn::Error::new(
                        span,
                        format!(
                        "unknown oxbeam attribute `{}`; on a type it is one of {CONTAINER_KEYS}",
                        key_text(&meta.path)
                    ),
                    ))
                }
            };
            if let Some(kind) = kind {
                if let Some((previous, _)) = &out.kind {
                    return Err(syn::Error::new(
                        span,
                        format!(
                            "conflicting attributes: `{}` and `{}` (a type has one shape)",
                            previous.keyword(),
                            kind.keyword()
                        ),
                    ));
                }
                out.kind = Some((kind, span));
            }
            Ok(())
        })?;
    }
    Ok(out)
}

fn key_text(path: &syn::Path) -> String {
    path.segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

struct FieldAttrs {
    rename: Option<String>,
    default: Option<FieldDefault>,
    skip: bool,
}

fn parse_field_attrs(attrs: &[Attribute], allowed: &[&str]) -> syn::Result<FieldAttrs> {
    let mut out = FieldAttrs {
        rename: None,
        default: None,
        skip: false,
    };
    for attr in attrs.iter().filter(|a| a.path().is_ident("oxbeam")) {
        attr.parse_nested_meta(|meta| {
            let key = meta
                .path
                .get_ident()
                .map(|i| i.to_string())
                .unwrap_or_default();
            if !allowed.contains(&key.as_str()) {
                let expected = if allowed.len() == 1 {
                    "`rename`".to_string()
                } else {
                    FIELD_KEYS.to_string()
                };
                return Err(syn::Error::new(
                    meta.path.span(),
                    format!(
                        "unknown oxbeam attribute `{}`; here it is one of {expected}",
                        key_text(&meta.path)
                    ),
                ));
            }
            match key.as_str() {
                "rename" => {
                    let lit: LitStr = meta.value()?.parse()?;
                    if lit.value().is_empty() {
                        return Err(syn::Error::new(lit.span(), "a name cannot be empty"));
                    }
                    out.rename = Some(lit.value());
                }
                "default" => {
                    out.default = Some(if meta.input.peek(syn::Token![=]) {
                        let lit: LitStr = meta.value()?.parse()?;
                        FieldDefault::Function(lit.parse()?)
                    } else {
                        FieldDefault::Trait
                    });
                }
                "skip" => out.skip = true,
                _ => unreachable!("checked against the allowed keys"),
            }
            Ok(())
        })?;
    }
    Ok(out)
}

fn parse_fields(fields: &Fields, rename_all: Option<RenameRule>) -> syn::Result<Vec<Field>> {
    let mut out: Vec<Field> = Vec::new();
    for (index, field) in fields.iter().enumerate() {
        let attrs = parse_field_attrs(&field.attrs, &["rename", "default", "skip"])?;
        let (member, rust_name) = match &field.ident {
            Some(ident) => (Member::Named(ident.clone()), ident.to_string()),
            None => (Member::Unnamed(index.into()), index.to_string()),
        };
        let rust_name = rust_name.trim_start_matches("r#").to_string();
        let name = attrs.rename.unwrap_or_else(|| match rename_all {
            Some(rule) if field.ident.is_some() => rule.apply(&rust_name),
            _ => rust_name,
        });
        if let Some(same) = out
            .iter()
            .find(|f| !f.skip && !attrs.skip && f.name == name)
        {
            return Err(syn::Error::new(
                field
                    .ident
                    .as_ref()
                    .map_or_else(|| field.ty.span(), |ident| ident.span()),
                format!(
                    "two fields are named {name:?} (`{}` and this one): rename one",
                    member_text(&same.member)
                ),
            ));
        }
        out.push(Field {
            member,
            ty: field.ty.clone(),
            name,
            default: attrs.default,
            skip: attrs.skip,
        });
    }
    Ok(out)
}

fn member_text(member: &Member) -> String {
    match member {
        Member::Named(ident) => ident.to_string(),
        Member::Unnamed(index) => index.index.to_string(),
    }
}

/// Reads the derive input into a [`Model`].
pub fn analyze(input: &DeriveInput) -> syn::Result<Model> {
    let attrs = parse_container(&input.attrs)?;
    let lifetimes = input.generics.lifetimes().count();
    if lifetimes > 1 {
        let second = input.generics.lifetimes().nth(1).map(|l| l.span());
        return Err(syn::Error::new(
            second.unwrap_or_else(|| input.ident.span()),
            "a derived type may have at most one lifetime (the terms' lifetime)",
        ));
    }
    let rename_all = attrs.rename_all.map(|(rule, _)| rule);
    let shape = match &input.data {
        Data::Struct(data) => {
            if let Some(span) = attrs.untagged {
                return Err(syn::Error::new(span, "`untagged` is for enums"));
            }
            if matches!(data.fields, Fields::Unit) {
                return Err(syn::Error::new(
                    input.ident.span(),
                    "a unit struct carries no data: use a unit enum to cross as an atom",
                ));
            }
            let fields = parse_fields(&data.fields, rename_all)?;
            let named = matches!(data.fields, Fields::Named(_));
            let kind = attrs.kind.clone();
            if let Some(span) = attrs.string_keys {
                if !matches!(kind, None | Some((ContainerKind::Map, _))) {
                    return Err(syn::Error::new(
                        span,
                        "`keys` is for maps (`#[oxbeam(map)]`)",
                    ));
                }
            }
            match kind {
                Some((ContainerKind::Struct(module), span))
                | Some((ContainerKind::Exception(module), span))
                    if !named =>
                {
                    let _ = module;
                    return Err(syn::Error::new(
                        span,
                        "an Elixir struct needs named fields (use `tuple` or `record` for a tuple struct)",
                    ));
                }
                Some((ContainerKind::Map, span)) if !named => {
                    return Err(syn::Error::new(
                        span,
                        "a map needs named fields (use `tuple` or `record` for a tuple struct)",
                    ))
                }
                Some((ContainerKind::Struct(module), _)) => Shape::Struct {
                    module,
                    exception: false,
                    fields,
                },
                Some((ContainerKind::Exception(module), _)) => Shape::Struct {
                    module,
                    exception: true,
                    fields,
                },
                Some((ContainerKind::Map, _)) => Shape::Map {
                    string_keys: attrs.string_keys.is_some(),
                    fields,
                },
                None if named => Shape::Map {
                    string_keys: attrs.string_keys.is_some(),
                    fields,
                },
                Some((ContainerKind::Tuple, _)) | None => Shape::Tuple { fields },
                Some((ContainerKind::Record(tag), _)) => Shape::Record { tag, fields },
            }
        }
        Data::Enum(data) => {
            if let Some((kind, span)) = &attrs.kind {
                return Err(syn::Error::new(
                    *span,
                    format!(
                        "`{}` is for structs; an enum crosses as atoms or tagged tuples (or `untagged`)",
                        kind.keyword()
                    ),
                ));
            }
            if let Some(span) = attrs.string_keys {
                return Err(syn::Error::new(
                    span,
                    "`keys` is for maps (`#[oxbeam(map)]`)",
                ));
            }
            if data.variants.is_empty() {
                return Err(syn::Error::new(
                    input.ident.span(),
                    "an enum without variants has no value to encode or decode",
                ));
            }
            let rule = rename_all.unwrap_or(RenameRule::SnakeCase);
            let mut variants: Vec<Variant> = Vec::new();
            for variant in &data.variants {
                let attrs = parse_field_attrs(&variant.attrs, &["rename"])?;
                let name = attrs
                    .rename
                    .unwrap_or_else(|| rule.apply(&variant.ident.to_string()));
                if let Some(same) = variants.iter().find(|v| v.name == name) {
                    return Err(syn::Error::new(
                        variant.ident.span(),
                        format!(
                            "two variants are named {name:?} (`{}` and this one): rename one",
                            same.ident
                        ),
                    ));
                }
                let kind = match variant.fields {
                    Fields::Unit => VariantKind::Unit,
                    Fields::Unnamed(_) => VariantKind::Tuple,
                    Fields::Named(_) => VariantKind::Named,
                };
                variants.push(Variant {
                    ident: variant.ident.clone(),
                    name,
                    kind,
                    fields: parse_fields(&variant.fields, None)?,
                });
            }
            if attrs.untagged.is_some() {
                Shape::Untagged { variants }
            } else if variants.iter().all(|v| v.kind == VariantKind::Unit) {
                Shape::Atoms { variants }
            } else {
                Shape::Tagged { variants }
            }
        }
        Data::Union(data) => {
            return Err(syn::Error::new(
                data.union_token.span(),
                "unions cannot be derived: which field holds the value is not known",
            ))
        }
    };
    Ok(Model {
        ident: input.ident.clone(),
        generics: input.generics.clone(),
        shape,
    })
}

/// `:y`, `:Point`, `:"my key"`: an atom as Elixir's `inspect` writes it (for messages).
pub fn inspect_atom(name: &str) -> String {
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

/// `%MyApp.Point{}` for the module atom `Elixir.MyApp.Point`.
pub fn struct_display(module: &str) -> String {
    format!("%{}{{}}", module.trim_start_matches("Elixir."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(input: proc_macro2::TokenStream) -> syn::Result<Model> {
        analyze(&syn::parse2(input).unwrap())
    }

    #[test]
    fn rename_rules() {
        assert_eq!(RenameRule::SnakeCase.apply("NotFound"), "not_found");
        assert_eq!(RenameRule::SnakeCase.apply("HTTPError"), "http_error");
        assert_eq!(RenameRule::SnakeCase.apply("Ipv4Addr"), "ipv4_addr");
        assert_eq!(RenameRule::KebabCase.apply("NotFound"), "not-found");
        assert_eq!(RenameRule::CamelCase.apply("NotFound"), "notFound");
        assert_eq!(RenameRule::CamelCase.apply("user_name"), "userName");
        assert_eq!(RenameRule::PascalCase.apply("user_name"), "UserName");
        assert_eq!(
            RenameRule::ScreamingSnakeCase.apply("NotFound"),
            "NOT_FOUND"
        );
        assert_eq!(RenameRule::Uppercase.apply("NotFound"), "NOTFOUND");
        assert_eq!(RenameRule::Lowercase.apply("NotFound"), "notfound");
    }

    #[test]
    fn atoms_in_messages() {
        assert_eq!(inspect_atom("y"), ":y");
        assert_eq!(inspect_atom("valid?"), ":valid?");
        assert_eq!(inspect_atom("my key"), ":\"my key\"");
        assert_eq!(inspect_atom("Point"), ":Point");
        assert_eq!(inspect_atom("read-only"), ":\"read-only\"");
        assert_eq!(inspect_atom("nil"), "nil");
    }

    #[test]
    fn shapes_by_default() {
        let m = model(quote::quote!(
            struct P {
                x: f64,
            }
        ))
        .unwrap();
        assert!(matches!(
            m.shape,
            Shape::Map {
                string_keys: false,
                ..
            }
        ));
        let m = model(quote::quote!(
            struct P(f64, f64);
        ))
        .unwrap();
        assert!(matches!(m.shape, Shape::Tuple { .. }));
        let m = model(quote::quote!(
            enum C {
                Red,
                DarkBlue,
            }
        ))
        .unwrap();
        match m.shape {
            Shape::Atoms { variants } => assert_eq!(variants[1].name, "dark_blue"),
            _ => panic!("expected atoms"),
        }
    }

    #[test]
    fn module_names_get_the_elixir_prefix() {
        let m = model(quote::quote!(
            #[oxbeam(struct = "MyApp.Point")]
            struct P {
                x: f64,
            }
        ))
        .unwrap();
        match m.shape {
            Shape::Struct { module, .. } => assert_eq!(module, "Elixir.MyApp.Point"),
            _ => panic!("expected a struct"),
        }
    }

    #[test]
    fn conflicts_and_unknown_keys_are_errors() {
        let e = model(quote::quote!(
            #[oxbeam(map, tuple)]
            struct P {
                x: f64,
            }
        ))
        .err()
        .unwrap();
        assert!(e
            .to_string()
            .contains("conflicting attributes: `map` and `tuple`"));
        let e = model(quote::quote!(
            struct P {
                #[oxbeam(renamed = "y")]
                x: f64,
            }
        ))
        .err()
        .unwrap();
        assert!(e.to_string().contains("unknown oxbeam attribute `renamed`"));
    }
}
