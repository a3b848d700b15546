//! Passwords are stored as argon2id PHC strings only (`$argon2id$v=19$m=...`).
//!
//! Hashing and verification cost tens of milliseconds of CPU and about 19 MiB of memory each (the
//! argon2 crate's defaults, the OWASP recommendation: m = 19 MiB, t = 2, p = 1): never call them on a
//! reactor thread.

use crate::StoreError;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// Hashes `password` with a fresh random salt.
pub fn hash(password: &[u8]) -> Result<String, StoreError> {
    let mut salt_bytes = [0u8; 16];
    getrandom::getrandom(&mut salt_bytes).map_err(|e| StoreError::Unavailable(format!("no randomness: {e}")))?;
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| StoreError::Unavailable(e.to_string()))?;
    Argon2::default()
        .hash_password(password, &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Unavailable(format!("argon2: {e}")))
}

/// Checks `password` against a stored PHC string. A malformed hash never matches.
pub fn verify(phc: &str, password: &[u8]) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default().verify_password(password, &parsed).is_ok(),
        Err(_) => false,
    }
}

/// A valid hash of a password nobody knows, verified for unknown users so that they cost the same
/// time as a wrong password (no user enumeration by timing).
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let mut secret = [0u8; 24];
        let _ = getrandom::getrandom(&mut secret);
        let text: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        hash(text.as_bytes()).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_argon2id_and_verifies() {
        let h = hash(b"correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(!h.contains("correct horse"));
        assert!(verify(&h, b"correct horse"));
        assert!(!verify(&h, b"correct horsE"));
        assert!(!verify("not a hash", b"x"));
        assert_ne!(h, hash(b"correct horse").unwrap(), "salts differ");
        assert!(decoy_hash().starts_with("$argon2id$"));
    }
}
