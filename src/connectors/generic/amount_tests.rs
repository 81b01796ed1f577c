use super::*;

#[test]
fn callback_amounts_are_integer_paise_or_refused() {
    let obj = |a: &str| format!("{{\"amount\":{a}}}").into_bytes();
    assert_eq!(
        strict_minor(&obj("49900"), &["amount"]).unwrap(),
        Some(Paise(49_900))
    );
    assert_eq!(strict_minor(b"{}", &["amount"]).unwrap(), None);
    for bad in ["\"x\"", "-5", "499.5", "1e3", "99999999999999999999"] {
        assert!(
            strict_minor(&obj(bad), &["amount"]).is_err(),
            "{bad} accepted"
        );
    }
}
