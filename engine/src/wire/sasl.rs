//! SASL PLAIN (RFC 4616) and the LOGIN mechanism's base64 steps.

use crate::auth::Password;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// Credentials taken from a SASL exchange.
#[derive(Debug)]
pub struct Credentials {
    pub username: String,
    pub password: Password,
}

/// Why a SASL response was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaslError {
    /// Not valid base64.
    Base64,
    /// Not `[authzid] NUL authcid NUL passwd`, or not UTF-8.
    Malformed,
    /// An authorization identity other than the authentication identity (no proxy logins).
    Authzid,
}

/// Decodes a base64 SASL response. `=` stands for an empty response (RFC 4954 §4).
pub fn decode_base64(text: &[u8]) -> Result<Vec<u8>, SaslError> {
    let text = text.strip_suffix(b"\r\n").or_else(|| text.strip_suffix(b"\n")).unwrap_or(text);
    if text == b"=" {
        return Ok(Vec::new());
    }
    STANDARD.decode(text).map_err(|_| SaslError::Base64)
}

/// Parses a decoded PLAIN message: `[authzid] NUL authcid NUL passwd`.
pub fn parse_plain(message: Vec<u8>) -> Result<Credentials, SaslError> {
    let mut message = message;
    let result = (|| {
        let mut parts = message.split(|&b| b == 0);
        let authzid = parts.next().ok_or(SaslError::Malformed)?;
        let authcid = parts.next().ok_or(SaslError::Malformed)?;
        let passwd = parts.next().ok_or(SaslError::Malformed)?;
        if parts.next().is_some() || authcid.is_empty() {
            return Err(SaslError::Malformed);
        }
        let username = std::str::from_utf8(authcid).map_err(|_| SaslError::Malformed)?;
        if !authzid.is_empty() && authzid != authcid {
            return Err(SaslError::Authzid);
        }
        Ok(Credentials { username: username.to_string(), password: Password::new(passwd.to_vec()) })
    })();
    message.fill(0);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_messages() {
        let c = parse_plain(b"\0alice@example.test\0secret".to_vec()).unwrap();
        assert_eq!(c.username, "alice@example.test");
        assert_eq!(c.password.as_bytes(), b"secret");
        let c = parse_plain(b"a@x.test\0a@x.test\0pw".to_vec()).unwrap();
        assert_eq!(c.username, "a@x.test");
        assert_eq!(parse_plain(b"other\0a@x.test\0pw".to_vec()).unwrap_err(), SaslError::Authzid);
        assert_eq!(parse_plain(b"a@x.test\0pw".to_vec()).unwrap_err(), SaslError::Malformed);
        assert_eq!(parse_plain(b"\0\0pw".to_vec()).unwrap_err(), SaslError::Malformed);
        assert_eq!(parse_plain(b"\0a\0b\0c".to_vec()).unwrap_err(), SaslError::Malformed);
    }

    #[test]
    fn base64_steps() {
        assert_eq!(decode_base64(b"AGEAYg==\r\n").unwrap(), b"\0a\0b");
        assert_eq!(decode_base64(b"=").unwrap(), b"");
        assert_eq!(decode_base64(b"***").unwrap_err(), SaslError::Base64);
    }

    #[test]
    fn debug_never_shows_the_password() {
        let c = parse_plain(b"\0alice@example.test\0hunter2-secret".to_vec()).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
