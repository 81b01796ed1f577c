//! Scrubbing text that came from outside (a gateway's error body, a decline
//! message) before it is logged: no full VPA, email or phone number may reach a log
//! line (DESIGN.md, STYLE.md).
//!
//! - `local@handle` (a VPA or an email): the local part becomes `***`, the handle
//!   or domain stays (`***@okhdfc`, `***@example.com`): enough to tell which bank
//!   or provider, nothing that names the payer.
//! - A phone number, any run of 10 or more digits (an optional leading `+`, single
//!   spaces or dashes between digit groups): `[phone]`. Amounts and short codes
//!   (fewer than 10 digits) stay.
//!
//! Over-scrubbing (a 10-digit reference number) is accepted; under-scrubbing is not.

use std::borrow::Cow;

/// Characters of a VPA's or email's local part or handle.
fn is_addr_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+')
}

/// `text` with VPAs, emails and phone numbers masked. Borrowed when nothing matched.
pub fn scrub(text: &str) -> Cow<'_, str> {
    if !text.contains('@') && !has_digit_run(text) {
        return Cow::Borrowed(text);
    }
    let masked = mask_addresses(text);
    Cow::Owned(mask_phones(&masked))
}

fn has_digit_run(text: &str) -> bool {
    let mut run = 0;
    for b in text.bytes() {
        if b.is_ascii_digit() {
            run += 1;
            if run >= 10 {
                return true;
            }
        } else if b != b' ' && b != b'-' {
            run = 0;
        }
    }
    false
}

/// Every `local@handle`: the local part (the address characters right before the
/// `@`) is replaced by `***`.
fn mask_addresses(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '@' {
            // Take back the local part already copied.
            let mut n = 0;
            while out.ends_with(|c: char| is_addr_char(c) && c != '*') {
                out.pop();
                n += 1;
            }
            if n > 0 || !out.ends_with("***") {
                out.push_str("***");
            }
            out.push('@');
            i += 1;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// Runs of 10+ digits (with single separators) become `[phone]`.
fn mask_phones(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i].is_ascii_digit()
            || (chars[i] == '+' && chars.get(i + 1).is_some_and(char::is_ascii_digit));
        if !starts {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // Extend over digits and single separators between digits.
        let mut j = i + usize::from(chars[i] == '+');
        let mut digits = 0;
        let mut end = j;
        while j < chars.len() {
            if chars[j].is_ascii_digit() {
                digits += 1;
                j += 1;
                end = j;
            } else if matches!(chars[j], ' ' | '-')
                && chars.get(j + 1).is_some_and(char::is_ascii_digit)
            {
                j += 1;
            } else {
                break;
            }
        }
        if digits >= 10 {
            out.push_str("[phone]");
        } else {
            out.extend(&chars[i..end]);
        }
        i = end.max(i + 1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn examples() {
        assert_eq!(
            scrub("VPA rahul.k@okhdfcbank is invalid"),
            "VPA ***@okhdfcbank is invalid"
        );
        assert_eq!(
            scrub("mail a.b+c@example.com or call +91 98765 43210"),
            "mail ***@example.com or call [phone]"
        );
        assert_eq!(scrub("phone 9876543210."), "phone [phone].");
        assert_eq!(scrub("amount 100000 paise"), "amount 100000 paise");
        assert!(matches!(scrub("no secrets here"), Cow::Borrowed(_)));
    }

    fn local() -> impl Strategy<Value = String> {
        "[a-z0-9][a-z0-9._-]{0,20}"
    }

    fn handle() -> impl Strategy<Value = String> {
        "[a-z][a-z0-9.-]{1,15}"
    }

    fn phone() -> impl Strategy<Value = String> {
        prop_oneof![
            "[6-9][0-9]{9}",
            "\\+91[6-9][0-9]{9}",
            "\\+91 [6-9][0-9]{4} [0-9]{5}",
            "0[6-9][0-9]{2}-[0-9]{3}-[0-9]{4}",
        ]
    }

    /// Text around the secret: anything but address characters and digits right
    /// next to it, so the secret is a whole token.
    fn filler() -> impl Strategy<Value = String> {
        "[ :,;()\"'=a-zA-Z]{0,30}".prop_map(|s| format!(" {s} "))
    }

    proptest! {
        #[test]
        fn no_address_survives(pre in filler(), l in local(), h in handle(), post in filler()) {
            let addr = format!("{l}@{h}");
            let out = scrub(&format!("{pre}{addr}{post}")).into_owned();
            prop_assert!(!out.contains(&addr), "{out}");
            prop_assert!(!out.contains(&format!("{l}@")), "{out}");
        }

        #[test]
        fn no_phone_survives(pre in filler(), p in phone(), post in filler()) {
            let out = scrub(&format!("{pre}{p}{post}")).into_owned();
            let digits: String = p.chars().filter(char::is_ascii_digit).collect();
            let out_digits: String = out.chars().filter(char::is_ascii_digit).collect();
            prop_assert!(!out.contains(&p), "{out}");
            prop_assert!(!out_digits.contains(&digits[digits.len() - 10..]), "{out}");
        }

        #[test]
        fn idempotent_and_never_panics(s in "\\PC{0,200}") {
            let once = scrub(&s).into_owned();
            prop_assert_eq!(scrub(&once).into_owned(), once);
        }

        #[test]
        fn clean_text_is_untouched(s in "[a-zA-Z ,.:_]{0,100}", n in 0u32..1_000_000_000) {
            let text = format!("{s} {n}");
            prop_assert_eq!(scrub(&text).into_owned(), text);
        }
    }
}
