//! Transcripts of FETCH BINARY, BINARY.PEEK and BINARY.SIZE (RFC 3516).

use super::{plain, run};
use crate::session::imap::CAPABILITIES_AUTH;
use crate::session::testing::{World, PASSWORD, USER};

/// A multipart message: a quoted-printable text, a base64 part holding a NUL byte, and a part in
/// an encoding nobody can undo. Lines as the transcript sends them (`\r\n` written out).
const MESSAGE: &str = "From: bob@example.test\\r\\n\
Subject: parts\\r\\n\
Content-Type: multipart/mixed; boundary=\"b\"\\r\\n\\r\\n\
--b\\r\\nContent-Type: text/plain; charset=utf-8\\r\\nContent-Transfer-Encoding: quoted-printable\\r\\n\\r\\n\
caf=C3=A9 =3D good=\\r\\n food\\r\\n\
--b\\r\\nContent-Type: application/octet-stream\\r\\nContent-Transfer-Encoding: base64\\r\\n\\r\\n\
AGJj\\r\\n\
--b\\r\\nContent-Type: application/x-odd\\r\\nContent-Transfer-Encoding: x-uuencode\\r\\n\\r\\n\
begin 644 x\\r\\n\
--b--\\r\\n";

fn session_with_message() -> String {
    let size = MESSAGE.replace("\\r\\n", "\r\n").len();
    format!(
        "S: * OK *
         C: l1 AUTHENTICATE PLAIN {}
         S: l1 OK *
         C: l2 CAPABILITY
         S: * CAPABILITY {CAPABILITIES_AUTH} APPENDLIMIT=*
         S: l2 OK *
         P: a1 APPEND INBOX {{{size}+}}\\r\\n{MESSAGE}\\r\\n
         S: a1 OK [APPENDUID *
         C: a2 SELECT INBOX
         S: * *
         S: * *
         S: * *
         S: * *
         S: * *
         S: * *
         S: * *
         S: * *
         S: a2 OK [READ-WRITE] *
",
        plain(USER, PASSWORD)
    )
}

#[test]
fn binary_decodes_each_part_by_its_transfer_encoding() {
    assert!(CAPABILITIES_AUTH.split(' ').any(|c| c == "BINARY"));
    let world = World::new("");
    run(
        &world,
        &format!(
            "{}C: b1 FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1])
             S: * 1 FETCH (BINARY[1] {{17}}
             S: café = good food BINARY.SIZE[1] 17)
             S: b1 OK FETCH completed
             C: b2 FETCH 1 (BINARY.SIZE[2] BINARY.PEEK[2])
             S: * 1 FETCH (BINARY.SIZE[2] 3 BINARY[2] ~{{3}}
             S: \0bc)
             S: b2 OK FETCH completed
             C: b3 FETCH 1 (FLAGS BINARY.PEEK[1]<5.3>)
             S: * 1 FETCH (FLAGS (\\Recent) BINARY[1]<5> {{3}}
             S:  = )
             S: b3 OK FETCH completed
             C: b4 FETCH 1 BINARY.PEEK[3]
             S: b4 NO [UNKNOWN-CTE] *
             C: b5 FETCH 1 BINARY[9]
             S: * 1 FETCH (BINARY[9] {{0}}
             S:  FLAGS (\\Recent \\Seen))
             S: b5 OK FETCH completed
             C: b6 FETCH 1 BINARY[1.MIME]
             S: b6 BAD *
             C: b7 UID FETCH 1 BINARY.SIZE[]
             S: * 1 FETCH (UID 1 BINARY.SIZE[] {})
             S: b7 OK UID FETCH completed",
            session_with_message(),
            MESSAGE.replace("\\r\\n", "\r\n").len()
        ),
    );
}

#[test]
fn append_takes_a_literal8_and_binary_returns_it() {
    let world = World::new("");
    // As the transcript sends it: `\r\n` written out, a real NUL byte.
    let message = "Subject: nul\\r\\n\\r\\na\0b\\r\\n";
    run(
        &world,
        &format!(
            "S: * OK *
             C: l1 AUTHENTICATE PLAIN {}
             S: l1 OK *
             P: a1 APPEND INBOX ~{{{}+}}\\r\\n{message}\\r\\n
             S: a1 OK [APPENDUID *
             C: a2 EXAMINE INBOX
             S: * *
             S: * *
             S: * *
             S: * *
             S: * *
             S: * *
             S: * *
             S: * *
             S: a2 OK [READ-ONLY] *
             C: a3 FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1])
             S: * 1 FETCH (BINARY[1] ~{{5}}
             S: a\0b
             S:  BINARY.SIZE[1] 5)
             S: a3 OK FETCH completed",
            plain(USER, PASSWORD),
            message.replace("\\r\\n", "\r\n").len()
        ),
    );
}
