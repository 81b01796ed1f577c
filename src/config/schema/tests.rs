use super::fields::{ADMIN, GATEWAY, SERVER};
use super::*;
use crate::config::raw::RawConfig;

fn render(fields: &[Field], prefix: &str, out: &mut String) {
    let mut tables = Vec::new();
    for (name, shape) in fields {
        match shape {
            Shape::Str => out.push_str(&format!("{name} = \"x\"\n")),
            Shape::U32 | Shape::U64 | Shape::I64 => out.push_str(&format!("{name} = 1\n")),
            Shape::Bool => out.push_str(&format!("{name} = true\n")),
            Shape::StrList => out.push_str(&format!("{name} = [\"x\"]\n")),
            Shape::F64 => out.push_str(&format!("{name} = 1.5\n")),
            Shape::U32List => out.push_str(&format!("{name} = [1]\n")),
            Shape::StrMap => out.push_str(&format!("{name} = {{ k = \"v\" }}\n")),
            Shape::Table(f) | Shape::Tables(f) => tables.push((name, shape, *f)),
        }
    }
    for (name, shape, f) in tables {
        let full = if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}.{name}")
        };
        match shape {
            Shape::Tables(_) => out.push_str(&format!("[[{full}]]\n")),
            _ => out.push_str(&format!("[{full}]\n")),
        }
        render(f, &full, out);
    }
}

#[test]
fn schema_matches_raw() {
    let mut text = String::new();
    render(ROOT, "", &mut text);
    let parsed: Result<RawConfig, _> = toml::from_str(&text);
    assert!(parsed.is_ok(), "{parsed:?}\n{text}");
}

#[test]
fn secret_keys_get_the_reference_message() {
    assert_eq!(
        unknown_key("key_secret", GATEWAY),
        "secrets are never inline: use key_secret_env = \"NAME\" or key_secret_file = \"/path\""
    );
    assert!(unknown_key("password", GATEWAY).contains("key_secret_env"));
    assert!(unknown_key("token", ADMIN).contains("token_env = \"NAME\""));
    assert_eq!(
        unknown_key("listn", SERVER),
        "unknown key \"listn\" (did you mean \"listen\"?)"
    );
}
