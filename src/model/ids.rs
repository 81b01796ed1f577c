//! Identifiers. switchyard's own payment id doubles as the merchant transaction id
//! sent to the gateway: `pay_` + 26 Crockford base32 chars of a UUIDv7 (time-ordered).

use uuid::Uuid;

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A fresh payment id, e.g. `sy_01JD3X...` (29 chars: fits every gateway's 35/40/50 limit).
pub fn new_payment_id() -> String {
    let v = Uuid::now_v7().as_u128();
    let mut s = String::with_capacity(29);
    s.push_str("sy_");
    for i in (0..26).rev() {
        let idx = ((v >> (i * 5)) & 0x1f) as usize;
        s.push(CROCKFORD[idx] as char);
    }
    s
}

/// `order_id`: required, 1–40 chars of `[A-Za-z0-9_-]`.
pub fn valid_order_id(s: &str) -> bool {
    (1..=40).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `Idempotency-Key`: required, 1–64 chars of `[A-Za-z0-9_-]`.
pub fn valid_idempotency_key(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_ids_are_unique_and_ordered() {
        let a = new_payment_id();
        let b = new_payment_id();
        assert_eq!(a.len(), 29);
        assert_ne!(a, b);
        assert!(a < b || a[..13] == b[..13]);
    }

    #[test]
    fn validates_keys() {
        assert!(valid_order_id("ord_123-A"));
        assert!(!valid_order_id(""));
        assert!(!valid_order_id("has space"));
        assert!(!valid_order_id(&"x".repeat(41)));
        assert!(valid_idempotency_key(&"k".repeat(64)));
        assert!(!valid_idempotency_key(&"k".repeat(65)));
    }
}
