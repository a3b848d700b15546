//! Awkward messages used by several tests.

pub const SIMPLE: &[u8] = b"Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\nFrom: Fred Foobar <foobar@Blurdybloop.example>\r\nSubject: afternoon meeting\r\nTo: mooch@owatagu.siam.edu.example\r\nMessage-Id: <B27397-0100000@Blurdybloop.example>\r\nMIME-Version: 1.0\r\nContent-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\nHello Joe, do you think we can meet at 3:30 tomorrow?\r\n";

pub const NESTED: &[u8] = b"From: \"Jo \\\"Q\\\" Public\" <jo@x.test>, bob@y.test\r\nSubject: =?iso-8859-1?q?caf=E9?= menu\r\n (folded)\r\nSender: list@x.test\r\nTo: Team: a@x.test, b@x.test;\r\nCc: undisclosed-recipients:;\r\nIn-Reply-To: <p@x.test>\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\npreamble\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\ncaf\xc3\xa9\r\nline2\r\n--b1\r\nContent-Type: message/rfc822\r\nContent-Description: forwarded\r\n\r\nFrom: a@b.test\r\nSubject: inner\r\nContent-Type: multipart/alternative; boundary=b2\r\n\r\n--b2\r\n\r\ninner plain\r\n--b2\r\nContent-Type: text/html\r\n\r\n<b>x</b>\r\n--b2--\r\n\r\n--b1\r\nContent-Type: application/pdf; name=\"r.pdf\"\r\nContent-Disposition: attachment; filename=\"r.pdf\"\r\nContent-Transfer-Encoding: base64\r\nContent-ID: <c1@x.test>\r\n\r\nJVBERi0xLjQK\r\n--b1--\r\nepilogue\r\n";

pub const NO_HEADER: &[u8] = b"just some text\r\nwithout any header\r\n";

pub const BINARY: &[u8] = b"Subject: bin\x00ary\xff\r\n\r\n\x00\x01\x02\xff\xfe\r\nmore\x00";

pub const BROKEN_MIME: &[u8] =
    b"From: x@y.test\r\nContent-Type: multipart/mixed\r\n\r\nno boundary parameter\r\n--\r\n";

pub const SINGLE_RFC822: &[u8] =
    b"From: outer@x.test\r\nContent-Type: message/rfc822\r\n\r\nFrom: inner@x.test\r\nSubject: in\r\n\r\nbody\r\n";

pub const ALL: &[&[u8]] = &[SIMPLE, NESTED, NO_HEADER, BINARY, BROKEN_MIME, SINGLE_RFC822, b""];
