//! Addresses and domains as the store keys them: compared case-insensitively, so stored lowercased,
//! with internationalised domains as IDNA A-labels (`bücher.example` is `xn--bcher-kva.example`).

use crate::StoreError;
use std::fmt;

/// A local part is at most 64 octets (RFC 5321 §4.5.3.1.1).
const MAX_LOCAL_PART_BYTES: usize = 64;
/// A domain is at most 255 octets (RFC 5321 §4.5.3.1.2); 253 in its textual form.
const MAX_DOMAIN_BYTES: usize = 253;

/// A normalised domain name (lowercase ASCII, A-labels).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Domain(String);

impl Domain {
    /// Normalises `text` (a U-label or A-label domain, any case) or says why it is not a domain.
    pub fn parse(text: &str) -> Result<Domain, StoreError> {
        let text = text.trim().trim_end_matches('.');
        let invalid = || StoreError::Invalid(format!("{text:?} is not a valid domain name"));
        if text.is_empty() {
            return Err(invalid());
        }
        let ascii = idna::domain_to_ascii(text).map_err(|_| invalid())?;
        let ok = ascii.len() <= MAX_DOMAIN_BYTES
            && ascii.contains('.')
            && ascii.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if ok {
            Ok(Domain(ascii))
        } else {
            Err(invalid())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Rebuilds a domain read back from the store (already normalised).
    pub(crate) fn from_stored(text: String) -> Domain {
        Domain(text)
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A normalised email address: `local@domain`, both lowercased, the domain as A-labels. This is
/// also the username on every protocol.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    full: String,
    at: usize,
}

impl Address {
    /// Normalises `text` or says why it is not an address a local account can have.
    pub fn parse(text: &str) -> Result<Address, StoreError> {
        let text = text.trim();
        let invalid = |why: &str| StoreError::Invalid(format!("{text:?} is not a valid address: {why}"));
        let (local, domain) = text.rsplit_once('@').ok_or_else(|| invalid("no @"))?;
        if local.is_empty() {
            return Err(invalid("empty local part"));
        }
        if local.len() > MAX_LOCAL_PART_BYTES {
            return Err(invalid("local part longer than 64 bytes"));
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err(invalid("misplaced dot in local part"));
        }
        let allowed =
            |c: char| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c) || (!c.is_ascii() && !c.is_control());
        if !local.chars().all(allowed) {
            return Err(invalid("local part has characters outside RFC 5322's dot-atom"));
        }
        let domain = Domain::parse(domain).map_err(|_| invalid("bad domain"))?;
        let local = local.to_lowercase();
        let full = format!("{local}@{}", domain.as_str());
        Ok(Address { at: local.len(), full })
    }

    pub fn as_str(&self) -> &str {
        &self.full
    }

    pub fn local_part(&self) -> &str {
        &self.full[..self.at]
    }

    pub fn domain(&self) -> Domain {
        Domain(self.full[self.at + 1..].to_string())
    }

    /// Rebuilds an address read back from the store (already normalised).
    pub(crate) fn from_stored(full: String) -> Result<Address, StoreError> {
        let at = full.rfind('@').ok_or_else(|| StoreError::Corrupt(format!("account key {full:?}")))?;
        Ok(Address { full, at })
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_lowercased_and_idna_encoded() {
        let a = Address::parse("Alice.Smith@Example.TEST").unwrap();
        assert_eq!(a.as_str(), "alice.smith@example.test");
        assert_eq!(a.local_part(), "alice.smith");
        assert_eq!(a.domain().as_str(), "example.test");
        let b = Address::parse("bob@Bücher.example").unwrap();
        assert_eq!(b.as_str(), "bob@xn--bcher-kva.example");
    }

    #[test]
    fn bad_addresses_are_refused() {
        for bad in [
            "",
            "alice",
            "@example.test",
            "a b@example.test",
            "alice@",
            "alice@localhost",
            "a..b@example.test",
            ".a@example.test",
            "alice@exa mple.test",
        ] {
            assert!(Address::parse(bad).is_err(), "{bad:?} should be refused");
        }
        let long = format!("{}@example.test", "a".repeat(65));
        assert!(Address::parse(&long).is_err());
    }

    #[test]
    fn domains_normalise() {
        assert_eq!(Domain::parse("Example.TEST.").unwrap().as_str(), "example.test");
        assert!(Domain::parse("-bad.test").is_err());
        assert!(Domain::parse("nodot").is_err());
    }
}
