//! `application/x-www-form-urlencoded` bodies (PayU and Paytm callbacks and
//! requests): decoded pairs in the order sent, looked up by name.

/// A decoded form, pairs in wire order. A repeated name keeps its first value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form(pub Vec<(String, String)>);

impl Form {
    pub fn parse(body: &[u8]) -> Self {
        Form(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The value of `name` as sent (possibly empty).
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `name`, `""` when absent.
    pub fn get(&self, name: &str) -> &str {
        self.raw(name).unwrap_or("")
    }

    /// A non-blank value of `name`, trimmed, owned.
    pub fn non_empty(&self, name: &str) -> Option<String> {
        self.raw(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    }
}

/// Encodes pairs in the given order.
pub fn encode<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k.as_ref(), v.as_ref());
    }
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_plus_and_percent_and_keeps_order() {
        let f = Form::parse(b"key=bjg%24121&b=a+b&empty=&key=second");
        assert_eq!(f.get("key"), "bjg$121");
        assert_eq!(f.get("b"), "a b");
        assert_eq!(f.raw("empty"), Some(""));
        assert_eq!(f.non_empty("empty"), None);
        assert_eq!(f.raw("missing"), None);
        assert_eq!(encode(&[("a", "x y"), ("b", "$")]), "a=x+y&b=%24");
    }
}
