//! UPI virtual payment address. Its `Display` and `Debug` are masked so a full VPA
//! can never reach a log by accident; `expose()` is the one way to the raw value.

use std::fmt;

/// A syntactically valid VPA `local@handle`.
#[derive(Clone, PartialEq, Eq)]
pub struct Vpa(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "vpa must look like local@handle (letters, digits, '.', '-', '_' before '@'; letters after)"
)]
pub struct InvalidVpa;

impl Vpa {
    /// `^[A-Za-z0-9._-]{2,256}@[A-Za-z][A-Za-z0-9]{1,63}$` (UPI.md section 3).
    pub fn parse(s: &str) -> Result<Self, InvalidVpa> {
        let (local, handle) = s.split_once('@').ok_or(InvalidVpa)?;
        let local_ok = (2..=256).contains(&local.len())
            && local
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        let handle_ok = (2..=64).contains(&handle.len())
            && handle.as_bytes()[0].is_ascii_alphabetic()
            && handle.bytes().all(|b| b.is_ascii_alphanumeric());
        if local_ok && handle_ok {
            Ok(Vpa(s.to_string()))
        } else {
            Err(InvalidVpa)
        }
    }

    /// The full VPA, for the gateway request only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `a***@okaxis`: first character of the local part, the handle kept.
    pub fn masked(&self) -> String {
        mask_vpa(&self.0)
    }
}

/// Masks any VPA-looking string; used for gateway-supplied payer VPAs as well.
pub fn mask_vpa(s: &str) -> String {
    match s.split_once('@') {
        Some((local, handle)) => {
            let first = local.chars().next().map(String::from).unwrap_or_default();
            format!("{first}***@{handle}")
        }
        None => "***".to_string(),
    }
}

/// Masks a phone number to its last two digits.
pub fn mask_phone(s: &str) -> String {
    let digits: Vec<char> = s.chars().filter(|c| c.is_ascii_digit()).collect();
    let tail: String = digits.iter().rev().take(2).rev().collect();
    format!("******{tail}")
}

impl fmt::Display for Vpa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for Vpa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Vpa({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_masks() {
        let v = Vpa::parse("asha.k@okaxis").unwrap();
        assert_eq!(v.to_string(), "a***@okaxis");
        assert_eq!(format!("{v:?}"), "Vpa(a***@okaxis)");
        assert_eq!(v.expose(), "asha.k@okaxis");
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "noat",
            "a@okaxis",
            "ab@",
            "ab@1bank",
            "a b@ybl",
            "ab@ok.axis",
            "@ybl",
        ] {
            assert!(Vpa::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn masks_phone() {
        assert_eq!(mask_phone("+91 98765 43210"), "******10");
    }
}
