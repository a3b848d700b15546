//! `mailgenic store check`, `store backup` and `store usage` against real stores.

mod common;

use common::{cli, write_config, Server};
use storage::mail::{Flags, NewMessage};
use storage::{Address, Domain, Store};

/// Builds a store with one account and two messages in `dir/data`, as the server would.
fn seeded_store(dir: &std::path::Path) -> (Store, Address) {
    let store = Store::open(&dir.join("data/store")).expect("open store");
    store.add_domain(&Domain::parse("example.test").expect("domain")).expect("add domain");
    let alice = Address::parse("alice@example.test").expect("address");
    store.add_account(&alice, &storage::password::hash(b"pw").expect("hash")).expect("add account");
    (store, alice)
}

fn append(store: &Store, account: &Address, mailbox: &str, body: &[u8]) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let message =
        NewMessage { prefix: Vec::new(), body: body.to_vec(), flags: Flags::default(), internal_date: 1_700_000_000 };
    runtime.block_on(store.mail().append(account, mailbox, message)).expect("append");
}

#[test]
fn store_check_names_the_message_whose_body_was_removed() {
    let dir = tempfile::tempdir().expect("dir");
    let config = write_config(dir.path(), "");
    {
        let (store, alice) = seeded_store(dir.path());
        append(&store, &alice, "INBOX", b"Subject: one\r\n\r\nfirst\r\n");
        append(&store, &alice, "Archive", b"Subject: two\r\n\r\nsecond\r\n");
    }
    let (code, out, err) = cli(&config, &["store", "check"], "");
    assert_eq!((code, out.trim()), (0, "store check: no problems found"), "{err}");

    {
        let store = Store::open(&dir.path().join("data/store")).expect("reopen");
        let alice = Address::parse("alice@example.test").expect("address");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(store.mail().delete_body_for_test(&alice, "Archive", 1)).expect("damage");
    }
    let (code, out, err) = cli(&config, &["store", "check"], "");
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("alice@example.test Archive UID 1") && out.contains("is missing"), "{out}");
    assert!(err.contains("1 problem(s) found"), "{err}");
}

#[test]
fn store_usage_lists_each_accounts_messages_and_bytes() {
    let dir = tempfile::tempdir().expect("dir");
    let config = write_config(dir.path(), "");
    {
        let (store, alice) = seeded_store(dir.path());
        let bob = Address::parse("bob@example.test").expect("address");
        store.add_account(&bob, &storage::password::hash(b"pw").expect("hash")).expect("add account");
        append(&store, &alice, "INBOX", b"Subject: one\r\n\r\nfirst\r\n");
        append(&store, &alice, "Archive", b"Subject: two\r\n\r\nsecond\r\n");
    }
    let expected = "alice@example.test messages 2 size 47\nbob@example.test messages 0 size 0\n";
    let (code, out, err) = cli(&config, &["store", "usage"], "");
    assert_eq!((code, out.as_str()), (0, expected), "{err}");
    let (code, out, err) = cli(&config, &["store", "usage", "example.test"], "");
    assert_eq!((code, out.as_str()), (0, expected), "{err}");
}

#[test]
fn store_backup_of_a_running_server_passes_check() {
    let server = Server::start("");
    server.add_user("alice@example.test", "pw one two");
    // Through the running server's admin socket.
    let (code, out, err) = server.cli(&["store", "usage"], "");
    assert_eq!((code, out.trim()), (0, "alice@example.test messages 0 size 0"), "{err}");
    let backup = server.dir.join("copy");
    let (code, out, err) = server.cli(&["store", "backup", backup.join("store").to_str().expect("path")], "");
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, err) = server.cli(&["store", "backup", backup.join("store").to_str().expect("path")], "");
    assert_eq!(code, 1, "a backup never overwrites");
    assert!(err.contains("exists already"), "{err}");

    // The copy is a store of its own: check it with a config whose data_dir is the copy.
    let copy_config = backup.join("check.toml");
    std::fs::write(
        &copy_config,
        "hostname = \"localhost\"\ndata_dir = \".\"\n[listen]\nadmin_socket = \"none.sock\"\nlmtp_socket = \"lmtp.sock\"\n",
    )
    .expect("config");
    let (code, out, err) = cli(&copy_config, &["store", "check"], "");
    assert_eq!((code, out.trim()), (0, "store check: no problems found"), "{err}");
    let (code, out, _) = cli(&copy_config, &["user", "list"], "");
    assert_eq!((code, out.trim()), (0, "alice@example.test"));
}
