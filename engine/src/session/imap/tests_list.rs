//! Transcripts of LIST-EXTENDED (RFC 5258 §5 examples), LIST-STATUS (RFC 5819 §3), SPECIAL-USE
//! and CREATE-SPECIAL-USE (RFC 6154 §5) and STATUS=SIZE (RFC 8438 §3), on this server's
//! hierarchy. Where the RFC's example server differs from this one, the transcript says how.

use super::{plain, run};
use crate::session::testing::{World, PASSWORD, USER};

/// The special-use mailboxes every account starts with (all subscribed).
const DEFAULTS: [&str; 5] = ["Sent", "Drafts", "Trash", "Junk", "Archive"];

/// Logs in and answers each command with `OK` (setup steps whose output is not the point).
fn setup(commands: &[&str]) -> String {
    let mut text = format!("S: * OK *\nC: l1 AUTHENTICATE PLAIN {}\nS: l1 OK *\n", plain(USER, PASSWORD));
    for (i, command) in commands.iter().enumerate() {
        if let Some(message) = command.strip_prefix("APPEND ") {
            // `APPEND mailbox`: one 12-byte message, LITERAL+.
            text.push_str(&format!("P: k{i} APPEND {message} {{12+}}\\r\\nSubject: x\\r\\n\\r\\n\nS: k{i} OK *\n"));
        } else {
            text.push_str(&format!("C: k{i} {command}\nS: k{i} OK *\n"));
        }
    }
    text
}

/// Setup that first removes the default special-use mailboxes and their subscriptions, leaving
/// INBOX (subscribed) as in the RFC examples, then runs `commands`.
fn bare(commands: &[&str]) -> String {
    let mut all: Vec<String> = Vec::new();
    for name in DEFAULTS {
        all.push(format!("DELETE {name}"));
        all.push(format!("UNSUBSCRIBE {name}"));
    }
    all.extend(commands.iter().map(|c| c.to_string()));
    setup(&all.iter().map(String::as_str).collect::<Vec<_>>())
}

/// RFC 5258 §5 examples 1-6, on their hierarchy. Differences: every mailbox carries
/// `\HasChildren` / `\HasNoChildren` (allowed without the CHILDREN option, §4); there is no
/// `\Marked`, `\NoInferiors` or remote mailbox; names come in name order.
#[test]
fn rfc5258_examples_1_to_6() {
    let world = World::new("");
    let hierarchy = bare(&[
        "CREATE Fruit",
        "CREATE Fruit/Apple",
        "CREATE Fruit/Banana",
        "CREATE Tofu",
        "CREATE Vegetable",
        "CREATE Vegetable/Broccoli",
        "CREATE Vegetable/Corn",
        "SUBSCRIBE Fruit/Banana",
        "SUBSCRIBE Fruit/Peach",
        "SUBSCRIBE Vegetable",
        "SUBSCRIBE Vegetable/Broccoli",
    ]);
    let transcript = r#"C: A01 LIST "" "*"
S: * LIST (\HasChildren) "/" "Fruit"
S: * LIST (\HasNoChildren) "/" "Fruit/Apple"
S: * LIST (\HasNoChildren) "/" "Fruit/Banana"
S: * LIST (\HasNoChildren) "/" "INBOX"
S: * LIST (\HasNoChildren) "/" "Tofu"
S: * LIST (\HasChildren) "/" "Vegetable"
S: * LIST (\HasNoChildren) "/" "Vegetable/Broccoli"
S: * LIST (\HasNoChildren) "/" "Vegetable/Corn"
S: A01 OK LIST completed
C: A02 LIST (SUBSCRIBED) "" "*"
S: * LIST (\Subscribed \HasNoChildren) "/" "Fruit/Banana"
S: * LIST (\NonExistent \Subscribed \HasNoChildren) "/" "Fruit/Peach"
S: * LIST (\Subscribed \HasNoChildren) "/" "INBOX"
S: * LIST (\Subscribed \HasChildren) "/" "Vegetable"
S: * LIST (\Subscribed \HasNoChildren) "/" "Vegetable/Broccoli"
S: A02 OK LIST completed
C: A03 LIST () "" "%" RETURN (CHILDREN)
S: * LIST (\HasChildren) "/" "Fruit"
S: * LIST (\HasNoChildren) "/" "INBOX"
S: * LIST (\HasNoChildren) "/" "Tofu"
S: * LIST (\HasChildren) "/" "Vegetable"
S: A03 OK LIST completed
C: A04 LIST (REMOTE) "" "%" RETURN (CHILDREN)
S: * LIST (\HasChildren) "/" "Fruit"
S: * LIST (\HasNoChildren) "/" "INBOX"
S: * LIST (\HasNoChildren) "/" "Tofu"
S: * LIST (\HasChildren) "/" "Vegetable"
S: A04 OK LIST completed
C: A05 LIST (REMOTE SUBSCRIBED) "" "*"
S: * LIST (\Subscribed \HasNoChildren) "/" "Fruit/Banana"
S: * LIST (\NonExistent \Subscribed \HasNoChildren) "/" "Fruit/Peach"
S: * LIST (\Subscribed \HasNoChildren) "/" "INBOX"
S: * LIST (\Subscribed \HasChildren) "/" "Vegetable"
S: * LIST (\Subscribed \HasNoChildren) "/" "Vegetable/Broccoli"
S: A05 OK LIST completed
C: A06 LIST (REMOTE) "" "*" RETURN (SUBSCRIBED)
S: * LIST (\HasChildren) "/" "Fruit"
S: * LIST (\HasNoChildren) "/" "Fruit/Apple"
S: * LIST (\Subscribed \HasNoChildren) "/" "Fruit/Banana"
S: * LIST (\Subscribed \HasNoChildren) "/" "INBOX"
S: * LIST (\HasNoChildren) "/" "Tofu"
S: * LIST (\Subscribed \HasChildren) "/" "Vegetable"
S: * LIST (\Subscribed \HasNoChildren) "/" "Vegetable/Broccoli"
S: * LIST (\HasNoChildren) "/" "Vegetable/Corn"
S: A06 OK LIST completed
C: A07 LIST "" ("INBOX" "Vegetable/%" "*Apple" "INBOX")
S: * LIST (\HasNoChildren) "/" "Fruit/Apple"
S: * LIST (\HasNoChildren) "/" "INBOX"
S: * LIST (\HasNoChildren) "/" "Vegetable/Broccoli"
S: * LIST (\HasNoChildren) "/" "Vegetable/Corn"
S: A07 OK LIST completed"#;
    run(&world, &format!("{hierarchy}{transcript}"));
}

/// RFC 5258 §5 example 7 (multiple patterns), with this server's default mailboxes.
#[test]
fn rfc5258_example_7_multiple_patterns() {
    let world = World::new("");
    let hierarchy = setup(&["CREATE Sent/March2004", "CREATE Sent/December2003", "CREATE Sent/August2004"]);
    let transcript = r#"C: BBB LIST "" ("INBOX" "Drafts" "Sent/%")
S: * LIST (\HasNoChildren \Drafts) "/" "Drafts"
S: * LIST (\HasNoChildren) "/" "INBOX"
S: * LIST (\HasNoChildren) "/" "Sent/August2004"
S: * LIST (\HasNoChildren) "/" "Sent/December2003"
S: * LIST (\HasNoChildren) "/" "Sent/March2004"
S: BBB OK LIST completed"#;
    run(&world, &format!("{hierarchy}{transcript}"));
}

/// RFC 5258 §5 example 8 (\HasChildren against CHILDINFO), cases A, A1, C, B and A2 in an order
/// that needs only subscription changes between them.
#[test]
fn rfc5258_example_8_childinfo() {
    let world = World::new("");
    let hierarchy = bare(&["UNSUBSCRIBE INBOX", "CREATE Foo/Bar", "CREATE Foo/Baz", "CREATE Moo", "SUBSCRIBE Foo/Baz"]);
    let transcript = r#"C: CA3 LIST "" "%" RETURN (CHILDREN)
S: * LIST (\HasChildren) "/" "Foo"
S: * LIST (\HasNoChildren) "/" "INBOX"
S: * LIST (\HasNoChildren) "/" "Moo"
S: CA3 OK LIST completed
C: C02 LIST (SUBSCRIBED) "" "*"
S: * LIST (\Subscribed \HasNoChildren) "/" "Foo/Baz"
S: C02 OK LIST completed
C: C03 LIST (SUBSCRIBED) "" "%"
S: C03 OK LIST completed
C: C04 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"
S: * LIST (\HasChildren) "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))
S: C04 OK LIST completed
C: a1 SUBSCRIBE Foo
S: a1 OK SUBSCRIBE completed
C: C05 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"
S: * LIST (\Subscribed \HasChildren) "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))
S: C05 OK LIST completed
C: c1 SUBSCRIBE Moo
S: c1 OK SUBSCRIBE completed
C: c2 UNSUBSCRIBE Foo/Baz
S: c2 OK UNSUBSCRIBE completed
C: C06 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%" RETURN (CHILDREN)
S: * LIST (\Subscribed \HasChildren) "/" "Foo"
S: * LIST (\Subscribed \HasNoChildren) "/" "Moo"
S: C06 OK LIST completed
C: b1 UNSUBSCRIBE Foo
S: b1 OK UNSUBSCRIBE completed
C: b2 UNSUBSCRIBE Moo
S: b2 OK UNSUBSCRIBE completed
C: C07 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"
S: C07 OK LIST completed
C: a2 SUBSCRIBE Foo/Baz
S: a2 OK SUBSCRIBE completed
C: a3 DELETE Foo
S: a3 OK DELETE completed
C: C08 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"
S: * LIST (\NonExistent \HasChildren) "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))
S: C08 OK LIST completed"#;
    run(&world, &format!("{hierarchy}{transcript}"));
}

/// RFC 5258 §5 example 9. With `*2`, "baz2" and "qux2" are left out: their subscribed children
/// are all listed anyway, and §3.5 says to suppress such redundant CHILDINFO (the RFC shows them
/// as optional). With `*`, for the same reason, neither is "foo2", which the RFC's second listing
/// shows; "eps2" keeps its CHILDINFO because it is listed for itself.
#[test]
fn rfc5258_example_9_childinfo_whether_or_not_children_match() {
    let world = World::new("");
    let mut commands = vec!["UNSUBSCRIBE INBOX"];
    let subscribed =
        ["foo2/bar1", "foo2/bar2", "baz2/bar2", "baz2/bar22", "baz2/bar222", "eps2", "eps2/mamba", "qux2/bar2"];
    let created = subscribed.iter().map(|n| format!("CREATE {n}")).collect::<Vec<_>>();
    let subscribe = subscribed.iter().map(|n| format!("SUBSCRIBE {n}")).collect::<Vec<_>>();
    commands.extend(created.iter().map(String::as_str));
    commands.extend(subscribe.iter().map(String::as_str));
    commands.push("DELETE qux2");
    let hierarchy = bare(&commands);
    let transcript = r#"C: D02 LIST (SUBSCRIBED) "" "*"
S: * LIST (\Subscribed \HasNoChildren) "/" "baz2/bar2"
S: * LIST (\Subscribed \HasNoChildren) "/" "baz2/bar22"
S: * LIST (\Subscribed \HasNoChildren) "/" "baz2/bar222"
S: * LIST (\Subscribed \HasChildren) "/" "eps2"
S: * LIST (\Subscribed \HasNoChildren) "/" "eps2/mamba"
S: * LIST (\Subscribed \HasNoChildren) "/" "foo2/bar1"
S: * LIST (\Subscribed \HasNoChildren) "/" "foo2/bar2"
S: * LIST (\Subscribed \HasNoChildren) "/" "qux2/bar2"
S: D02 OK LIST completed
C: D03 LIST (RECURSIVEMATCH SUBSCRIBED) "" "*2"
S: * LIST (\Subscribed \HasNoChildren) "/" "baz2/bar2"
S: * LIST (\Subscribed \HasNoChildren) "/" "baz2/bar22"
S: * LIST (\Subscribed \HasNoChildren) "/" "baz2/bar222"
S: * LIST (\Subscribed \HasChildren) "/" "eps2" ("CHILDINFO" ("SUBSCRIBED"))
S: * LIST (\HasChildren) "/" "foo2" ("CHILDINFO" ("SUBSCRIBED"))
S: * LIST (\Subscribed \HasNoChildren) "/" "foo2/bar2"
S: * LIST (\Subscribed \HasNoChildren) "/" "qux2/bar2"
S: D03 OK LIST completed
C: D04 LIST (RECURSIVEMATCH SUBSCRIBED) "" "*"
S: * LIST (\Subscribed \HasNoChildren) "/" "baz2/bar2"
S: * LIST (\Subscribed \HasNoChildren) "/" "baz2/bar22"
S: * LIST (\Subscribed \HasNoChildren) "/" "baz2/bar222"
S: * LIST (\Subscribed \HasChildren) "/" "eps2" ("CHILDINFO" ("SUBSCRIBED"))
S: * LIST (\Subscribed \HasNoChildren) "/" "eps2/mamba"
S: * LIST (\Subscribed \HasNoChildren) "/" "foo2/bar1"
S: * LIST (\Subscribed \HasNoChildren) "/" "foo2/bar2"
S: * LIST (\Subscribed \HasNoChildren) "/" "qux2/bar2"
S: D04 OK LIST completed"#;
    run(&world, &format!("{hierarchy}{transcript}"));
}

/// RFC 5258 §5 examples 10 and 11: CHILDINFO without \HasChildren, and a missing superior shown
/// as `\NonExistent \HasChildren` (`\Noselect` in a classic LIST) unless its child is listed.
#[test]
fn rfc5258_examples_10_and_11() {
    let world = World::new("");
    let hierarchy =
        bare(&["UNSUBSCRIBE INBOX", "CREATE foo", "SUBSCRIBE foo/bar", "CREATE music/rock", "DELETE music"]);
    let transcript = r#"C: a1 LIST "" ("foo" "foo/*")
S: * LIST (\HasNoChildren) "/" "foo"
S: a1 OK LIST completed
C: a2 LIST (SUBSCRIBED) "" "foo/*"
S: * LIST (\NonExistent \Subscribed \HasNoChildren) "/" "foo/bar"
S: a2 OK LIST completed
C: a3 LIST (SUBSCRIBED RECURSIVEMATCH) "" foo RETURN (CHILDREN)
S: * LIST (\HasNoChildren) "/" "foo" ("CHILDINFO" ("SUBSCRIBED"))
S: a3 OK LIST completed
C: b2 LIST () "" %
S: * LIST (\HasNoChildren) "/" "INBOX"
S: * LIST (\HasNoChildren) "/" "foo"
S: * LIST (\NonExistent \HasChildren) "/" "music"
S: b2 OK LIST completed
C: b3 LIST "" %
S: * LIST (\HasNoChildren) "/" "INBOX"
S: * LIST (\HasNoChildren) "/" "foo"
S: * LIST (\Noselect \HasChildren) "/" "music"
S: b3 OK LIST completed
C: b4 LIST "" (% music/rock)
S: * LIST (\HasNoChildren) "/" "INBOX"
S: * LIST (\HasNoChildren) "/" "foo"
S: * LIST (\HasNoChildren) "/" "music/rock"
S: b4 OK LIST completed
C: b5 LIST "" *
S: * LIST (\HasNoChildren) "/" "INBOX"
S: * LIST (\HasNoChildren) "/" "foo"
S: * LIST (\HasNoChildren) "/" "music/rock"
S: b5 OK LIST completed"#;
    run(&world, &format!("{hierarchy}{transcript}"));
}

/// RFC 5258 §3 syntax and errors: unknown options are BAD, RECURSIVEMATCH needs SUBSCRIBED, an
/// empty pattern is only special in the classic form.
#[test]
fn list_extended_syntax_and_errors() {
    let world = World::new("");
    let transcript = r#"C: e1 LIST (imaptest) "" ""
S: e1 BAD Unknown LIST selection option
C: e2 LIST (RECURSIVEMATCH) "" ""
S: e2 BAD RECURSIVEMATCH needs the SUBSCRIBED selection option beside it
C: e3 LIST (recursivematch remote) "" ""
S: e3 BAD RECURSIVEMATCH needs the SUBSCRIBED selection option beside it
C: e4 LIST "" "" RETURN (imaptest)
S: e4 BAD Unknown LIST return option
C: e5 LIST "" % RETURN (STATUS (BOGUS))
S: e5 BAD Unknown STATUS item
C: e6 LIST "" (INBOX
S: e6 BAD *
C: e7 LIST "" % RETURN (CHILDREN) extra
S: e7 BAD Unexpected text after the RETURN options
C: e8 LIST "" "" 
S: e8 BAD *
C: n1 LIST "" ""
S: * LIST (\Noselect) "/" ""
S: n1 OK LIST completed
C: n2 LIST () "" ""
S: n2 OK LIST completed
C: n3 LIST "" ("" "inbox")
S: * LIST (\HasNoChildren) "/" "INBOX"
S: n3 OK LIST completed
C: n4 list (subscribed remote) "" inbox return (subscribed children special-use)
S: * LIST (\Subscribed \HasNoChildren) "/" "INBOX"
S: n4 OK LIST completed
C: n5 LIST "" "" RETURN ()
S: n5 OK LIST completed
C: n6 LIST (SPECIAL-USE) "" ("Dra*" {4}
S: + Ready for literal data
C: Sent) RETURN (STATUS (MESSAGES))
S: * LIST (\HasNoChildren \Drafts) "/" "Drafts"
S: * STATUS "Drafts" (MESSAGES 0)
S: * LIST (\HasNoChildren \Sent) "/" "Sent"
S: * STATUS "Sent" (MESSAGES 0)
S: n6 OK LIST completed
P: n7 LIST "" ({5+}\r\nINBOX %) RETURN (CHILDREN)\r\nn8 NOOP\r\n
S: * LIST (\HasNoChildren \Archive) "/" "Archive"
S: * LIST (\HasNoChildren \Drafts) "/" "Drafts"
S: * LIST (\HasNoChildren) "/" "INBOX"
S: * LIST (\HasNoChildren \Junk) "/" "Junk"
S: * LIST (\HasNoChildren \Sent) "/" "Sent"
S: * LIST (\HasNoChildren \Trash) "/" "Trash"
S: n7 OK LIST completed
S: n8 OK NOOP completed"#;
    run(&world, &format!("{}{transcript}", setup(&[])));
}

/// RFC 5819 §3 examples (the RFC's "bar" is \NoSelect; here a missing superior plays that part)
/// and RFC 8438 §3: SIZE in STATUS and in LIST-STATUS.
#[test]
fn rfc5819_list_status_and_rfc8438_size() {
    let world = World::new("");
    let hierarchy = bare(&[
        "CREATE foo",
        "CREATE bar/x",
        "DELETE bar",
        "APPEND INBOX",
        "APPEND INBOX",
        "APPEND foo",
        "SUBSCRIBE foo/sub",
    ]);
    let transcript = r#"C: A01 LIST "" % RETURN (STATUS (MESSAGES UNSEEN))
S: * LIST (\HasNoChildren) "/" "INBOX"
S: * STATUS "INBOX" (MESSAGES 2 UNSEEN 2)
S: * LIST (\NonExistent \HasChildren) "/" "bar"
S: * LIST (\HasNoChildren) "/" "foo"
S: * STATUS "foo" (MESSAGES 1 UNSEEN 1)
S: A01 OK LIST completed
C: A02 LIST (SUBSCRIBED RECURSIVEMATCH)"" % RETURN (STATUS (MESSAGES))
S: A02 BAD *
C: A03 LIST (SUBSCRIBED RECURSIVEMATCH) "" % RETURN (STATUS (MESSAGES))
S: * LIST (\Subscribed \HasNoChildren) "/" "INBOX"
S: * STATUS "INBOX" (MESSAGES 2)
S: * LIST (\HasNoChildren) "/" "foo" ("CHILDINFO" ("SUBSCRIBED"))
S: A03 OK LIST completed
C: s1 STATUS foo (MESSAGES SIZE UIDNEXT)
S: * STATUS "foo" (MESSAGES 1 SIZE 12 UIDNEXT 2)
S: s1 OK STATUS completed
C: A04 LIST "" % RETURN (STATUS (MESSAGES SIZE))
S: * LIST (\HasNoChildren) "/" "INBOX"
S: * STATUS "INBOX" (MESSAGES 2 SIZE 24)
S: * LIST (\NonExistent \HasChildren) "/" "bar"
S: * LIST (\HasNoChildren) "/" "foo"
S: * STATUS "foo" (MESSAGES 1 SIZE 12)
S: A04 OK LIST completed
C: A05 LIST "" "bar/%" RETURN (CHILDREN STATUS (RECENT UIDVALIDITY HIGHESTMODSEQ))
S: * LIST (\HasNoChildren) "/" "bar/x"
S: * STATUS "bar/x" (RECENT 0 UIDVALIDITY *
S: A05 OK LIST completed
C: s2 STATUS INBOX ()
S: s2 BAD Missing STATUS item
C: s3 STATUS INBOX (SIZE) extra
S: s3 BAD Unexpected text after the STATUS items
C: s4 SELECT INBOX
S: * FLAGS *
S: * 2 EXISTS
S: * 2 RECENT
S: * OK [UNSEEN 1] *
S: * OK [UIDVALIDITY *
S: * OK [UIDNEXT 3] *
S: * OK [PERMANENTFLAGS *
S: * OK [HIGHESTMODSEQ *
S: s4 OK [READ-WRITE] SELECT completed
C: s5 STORE 1 +FLAGS.SILENT (\Deleted)
S: s5 OK STORE completed
C: s6 EXPUNGE
S: * 1 EXPUNGE
S: s6 OK EXPUNGE completed
C: s7 STATUS INBOX (SIZE MESSAGES)
S: * STATUS "INBOX" (SIZE 12 MESSAGES 1)
S: s7 OK STATUS completed"#;
    run(&world, &format!("{hierarchy}{transcript}"));
}

/// RFC 6154 §5.1-5.3. The example CREATE with two uses is refused here: a mailbox holds one
/// special use in this store, and each use belongs to one mailbox (§3 allows refusing both).
#[test]
fn rfc6154_special_use_list_and_create() {
    let world = World::new("");
    let hierarchy = setup(&["CREATE Projects/ToDo"]);
    let transcript = r#"C: t1 LIST "" "%"
S: * LIST (\HasNoChildren \Archive) "/" "Archive"
S: * LIST (\HasNoChildren \Drafts) "/" "Drafts"
S: * LIST (\HasNoChildren) "/" "INBOX"
S: * LIST (\HasNoChildren \Junk) "/" "Junk"
S: * LIST (\HasChildren) "/" "Projects"
S: * LIST (\HasNoChildren \Sent) "/" "Sent"
S: * LIST (\HasNoChildren \Trash) "/" "Trash"
S: t1 OK LIST completed
C: t2 LIST "" "%" RETURN (SPECIAL-USE)
S: * LIST (\HasNoChildren \Archive) "/" "Archive"
S: * LIST (\HasNoChildren \Drafts) "/" "Drafts"
S: * LIST (\HasNoChildren) "/" "INBOX"
S: * LIST (\HasNoChildren \Junk) "/" "Junk"
S: * LIST (\HasChildren) "/" "Projects"
S: * LIST (\HasNoChildren \Sent) "/" "Sent"
S: * LIST (\HasNoChildren \Trash) "/" "Trash"
S: t2 OK LIST completed
C: t3 LIST (SPECIAL-USE) "" "*"
S: * LIST (\HasNoChildren \Archive) "/" "Archive"
S: * LIST (\HasNoChildren \Drafts) "/" "Drafts"
S: * LIST (\HasNoChildren \Junk) "/" "Junk"
S: * LIST (\HasNoChildren \Sent) "/" "Sent"
S: * LIST (\HasNoChildren \Trash) "/" "Trash"
S: t3 OK LIST completed
C: u1 CREATE MySpecial (USE (\Drafts \Sent))
S: u1 NO [USEATTR] A mailbox can have only one special use
C: u2 CREATE Everything (USE (\All))
S: u2 NO [USEATTR] \All is not supported
C: u3 CREATE Archive2 (USE (\Archive))
S: u3 NO [USEATTR] Archive is already the \Archive mailbox
C: u4 DELETE Archive
S: u4 OK DELETE completed
C: u5 CREATE Projects/Old (USE (\archive))
S: u5 OK CREATE completed
C: u6 CREATE Plain (USE ())
S: u6 OK CREATE completed
C: u7 CREATE Weird (FOO (1))
S: u7 BAD Unknown CREATE parameter
C: u8 CREATE Weird (USE (Sent))
S: u8 BAD A special-use attribute starts with \
C: u9 CREATE Sent (USE (\Sent))
S: u9 NO [ALREADYEXISTS] *
C: t4 LIST (SPECIAL-USE SUBSCRIBED) "" "*"
S: * LIST (\Subscribed \HasNoChildren \Drafts) "/" "Drafts"
S: * LIST (\Subscribed \HasNoChildren \Junk) "/" "Junk"
S: * LIST (\Subscribed \HasNoChildren \Sent) "/" "Sent"
S: * LIST (\Subscribed \HasNoChildren \Trash) "/" "Trash"
S: t4 OK LIST completed
C: t5 LIST (SPECIAL-USE) "" "*"
S: * LIST (\HasNoChildren \Drafts) "/" "Drafts"
S: * LIST (\HasNoChildren \Junk) "/" "Junk"
S: * LIST (\HasNoChildren \Archive) "/" "Projects/Old"
S: * LIST (\HasNoChildren \Sent) "/" "Sent"
S: * LIST (\HasNoChildren \Trash) "/" "Trash"
S: t5 OK LIST completed"#;
    run(&world, &format!("{hierarchy}{transcript}"));
}
