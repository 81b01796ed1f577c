//! The idempotency fingerprint of a request: the same key with the same body is a
//! replay; the same key with another body is a conflict (DESIGN.md section 4).

use serde_json::Value;
use sha2::{Digest, Sha256};

/// SHA-256 over a canonical form of the body (object keys sorted), so the same
/// request with its keys in another order is still the same request.
pub fn request_hash(body: &Value) -> String {
    fn canon(v: &Value, out: &mut Vec<u8>) {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                out.push(b'{');
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(Value::String(k.clone()).to_string().as_bytes());
                    out.push(b':');
                    canon(&m[k], out);
                }
                out.push(b'}');
            }
            Value::Array(a) => {
                out.push(b'[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    canon(x, out);
                }
                out.push(b']');
            }
            other => out.extend_from_slice(other.to_string().as_bytes()),
        }
    }
    let mut buf = Vec::with_capacity(256);
    canon(body, &mut buf);
    hex::encode(Sha256::digest(&buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_ignores_key_order_but_not_values() {
        let a: Value = serde_json::from_str(r#"{"a":1,"b":{"y":2,"x":[1,2]}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"b":{"x":[1,2],"y":2},"a":1}"#).unwrap();
        let c: Value = serde_json::from_str(r#"{"a":2,"b":{"y":2,"x":[1,2]}}"#).unwrap();
        assert_eq!(request_hash(&a), request_hash(&b));
        assert_ne!(request_hash(&a), request_hash(&c));
    }
}
