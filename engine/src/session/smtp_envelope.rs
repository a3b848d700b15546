//! The envelope of one SMTP/LMTP mail transaction (RFC 5321 §3.3): the reverse-path, the
//! accepted forward-paths, the `MAIL FROM` parameters, and the trace fields written in front of
//! each stored copy (RFC 5321 §4.4).

use storage::Address;

/// `MAIL FROM` parameters this server understands (RFC 1870 SIZE, RFC 6152 8BITMIME, RFC 6531
/// SMTPUTF8, RFC 4954 AUTH).
///
/// ```text
/// mail-parameters = esmtp-param *(SP esmtp-param)
/// esmtp-param     = esmtp-keyword ["=" esmtp-value]
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailParams {
    /// The size the client declared, if any.
    pub size: Option<u64>,
    /// `SMTPUTF8`: the transaction may use UTF-8 addresses (RFC 6531 §3.4).
    pub smtputf8: bool,
}

/// Why `MAIL FROM` parameters were refused: the reply to send.
pub type ParamError = &'static str;

/// Parses the parameter text after `MAIL FROM:<...>`.
pub fn parse_mail_params(params: &[u8]) -> Result<MailParams, ParamError> {
    let mut out = MailParams::default();
    for param in params.split(|&b| b == b' ').filter(|p| !p.is_empty()) {
        let (keyword, value) = match param.iter().position(|&b| b == b'=') {
            Some(i) => (&param[..i], Some(&param[i + 1..])),
            None => (param, None),
        };
        let is = |name: &str| keyword.eq_ignore_ascii_case(name.as_bytes());
        if is("SIZE") {
            let value = value.unwrap_or_default();
            if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
                return Err("501 5.5.4 Syntax: SIZE=<number>\r\n");
            }
            out.size = Some(value.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0')));
        } else if is("BODY") {
            match value {
                Some(v) if v.eq_ignore_ascii_case(b"7BIT") || v.eq_ignore_ascii_case(b"8BITMIME") => {}
                _ => return Err("501 5.5.4 BODY must be 7BIT or 8BITMIME\r\n"),
            }
        } else if is("SMTPUTF8") {
            if value.is_some() {
                return Err("501 5.5.4 SMTPUTF8 takes no value\r\n");
            }
            out.smtputf8 = true;
        } else if is("AUTH") {
            // RFC 4954 §5: the original submitter; informational, and this server does not relay
            // it further, so it is accepted and ignored.
        } else {
            return Err("555 5.5.4 Unsupported MAIL FROM parameter\r\n");
        }
    }
    Ok(out)
}

/// One transaction between `MAIL` and the end of data (or `RSET`).
#[derive(Debug, Clone, Default)]
pub struct Envelope {
    /// The reverse-path as the client wrote it (without brackets); empty for the null sender.
    pub sender: String,
    /// Accepted local recipients, in `RCPT` order (LMTP answers each one after DATA).
    pub local: Vec<Address>,
    /// Accepted remote recipients (submission only): they go to the outbound queue.
    pub remote: Vec<String>,
    /// `MAIL FROM ... SMTPUTF8` was given: UTF-8 addresses are allowed.
    pub smtputf8: bool,
}

impl Envelope {
    pub fn recipient_count(&self) -> usize {
        self.local.len() + self.remote.len()
    }
}

/// What a `Received:` field says about the connection it came over.
#[derive(Debug, Clone)]
pub struct Trace<'a> {
    /// The name from EHLO/HELO/LHLO (already made printable).
    pub helo: &'a str,
    /// The client's IP address, if the connection has one.
    pub ip: Option<std::net::IpAddr>,
    pub hostname: &'a str,
    /// `ESMTPSA`, `ESMTPS`, `ESMTP`, `LMTP` (RFC 3848).
    pub protocol: &'a str,
    /// TLS version and cipher suite, if TLS is up.
    pub tls: Option<&'a str>,
    /// Seconds since the Unix epoch.
    pub now: i64,
}

impl Trace<'_> {
    /// `Received: from <helo> (<ip>) by <hostname> with <protocol> (<tls>); <date>` CRLF.
    pub fn received(&self) -> String {
        let mut s = format!("Received: from {}", self.helo);
        if let Some(ip) = self.ip {
            s.push_str(&format!(" ({ip})"));
        }
        s.push_str(&format!("\r\n\tby {} with {}", self.hostname, self.protocol));
        if let Some(tls) = self.tls {
            s.push_str(&format!(" ({tls})"));
        }
        s.push_str(&format!(";\r\n\t{}\r\n", rfc5322_date(self.now)));
        s
    }

    /// The prefix of one delivered copy: `Return-Path`, `Delivered-To`, then `Received`.
    pub fn delivery_prefix(&self, sender: &str, recipient: &Address) -> Vec<u8> {
        format!("Return-Path: <{sender}>\r\nDelivered-To: {recipient}\r\n{}", self.received()).into_bytes()
    }
}

/// Keeps a client-supplied name printable for a header: at most 255 bytes of visible ASCII.
pub fn printable_name(name: &[u8]) -> String {
    name.iter().take(255).map(|&b| if b.is_ascii_graphic() { b as char } else { '?' }).collect()
}

/// `Thu, 3 Dec 2026 19:20:43 +0000` (RFC 5322 §3.3), in UTC.
pub fn rfc5322_date(secs: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{}, {} {} {} {:02}:{:02}:{:02} +0000",
        DAYS[days.rem_euclid(7) as usize],
        day,
        MONTHS[(month - 1) as usize],
        year,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc5322_date(0), "Thu, 1 Jan 1970 00:00:00 +0000");
        assert_eq!(rfc5322_date(1_796_325_643), "Thu, 3 Dec 2026 19:20:43 +0000");
        assert_eq!(rfc5322_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000");
    }

    #[test]
    fn mail_params() {
        assert_eq!(
            parse_mail_params(b"SIZE=100 BODY=8BITMIME SMTPUTF8"),
            Ok(MailParams { size: Some(100), smtputf8: true })
        );
        assert_eq!(parse_mail_params(b""), Ok(MailParams::default()));
        assert!(parse_mail_params(b"SIZE=x").is_err());
        assert!(parse_mail_params(b"BODY=BINARYMIME").is_err());
        assert!(parse_mail_params(b"RET=FULL").unwrap_err().starts_with("555"));
    }
}
