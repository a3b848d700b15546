//! The IMAP command table: for each command the states it is valid in and whether it uses or
//! breaks message sequence numbers (RFC 9051 §5.5, §7.5.1), as data checked in one place before
//! dispatch (Dovecot keeps the same facts as flags on its command list).

/// Session states a command may run in, as bits.
pub(super) const NOT_AUTH: u8 = 1;
pub(super) const AUTH: u8 = 2;
pub(super) const SELECTED: u8 = 4;
const ANY: u8 = NOT_AUTH | AUTH | SELECTED;
const LOGGED_IN: u8 = AUTH | SELECTED;

/// Which handler a command goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cmd {
    Capability,
    Noop,
    Logout,
    Id,
    Login,
    Authenticate,
    Enable,
    Namespace,
    Select,
    Examine,
    Create,
    Delete,
    Rename,
    Subscribe,
    Unsubscribe,
    List,
    Lsub,
    Status,
    Append,
    Idle,
    Check,
    Close,
    Unselect,
    Expunge,
    Search,
    Fetch,
    Store,
    Copy,
    Move,
}

/// One row of the command table.
#[derive(Debug)]
pub(super) struct CommandSpec {
    pub name: &'static str,
    pub cmd: Cmd,
    /// Bit set of the states the command is valid in.
    pub states: u8,
    /// Takes message sequence numbers (the non-UID form): no EXPUNGE may be sent while it runs.
    pub uses_seqs: bool,
    /// Removes messages itself and reports them (so its own EXPUNGE responses are allowed).
    pub breaks_seqs: bool,
    /// Has a `UID` form (which uses UIDs, not sequence numbers).
    pub has_uid_form: bool,
}

const fn spec(name: &'static str, cmd: Cmd, states: u8) -> CommandSpec {
    CommandSpec { name, cmd, states, uses_seqs: false, breaks_seqs: false, has_uid_form: false }
}

const fn seq(name: &'static str, cmd: Cmd, breaks_seqs: bool) -> CommandSpec {
    CommandSpec { name, cmd, states: SELECTED, uses_seqs: true, breaks_seqs, has_uid_form: true }
}

/// The command table.
pub(super) const COMMANDS: &[CommandSpec] = &[
    spec("CAPABILITY", Cmd::Capability, ANY),
    spec("NOOP", Cmd::Noop, ANY),
    spec("LOGOUT", Cmd::Logout, ANY),
    spec("ID", Cmd::Id, ANY),
    spec("LOGIN", Cmd::Login, NOT_AUTH),
    spec("AUTHENTICATE", Cmd::Authenticate, NOT_AUTH),
    spec("ENABLE", Cmd::Enable, AUTH),
    spec("NAMESPACE", Cmd::Namespace, LOGGED_IN),
    spec("SELECT", Cmd::Select, LOGGED_IN),
    spec("EXAMINE", Cmd::Examine, LOGGED_IN),
    spec("CREATE", Cmd::Create, LOGGED_IN),
    spec("DELETE", Cmd::Delete, LOGGED_IN),
    spec("RENAME", Cmd::Rename, LOGGED_IN),
    spec("SUBSCRIBE", Cmd::Subscribe, LOGGED_IN),
    spec("UNSUBSCRIBE", Cmd::Unsubscribe, LOGGED_IN),
    spec("LIST", Cmd::List, LOGGED_IN),
    spec("LSUB", Cmd::Lsub, LOGGED_IN),
    spec("STATUS", Cmd::Status, LOGGED_IN),
    spec("APPEND", Cmd::Append, LOGGED_IN),
    spec("IDLE", Cmd::Idle, LOGGED_IN),
    spec("CHECK", Cmd::Check, SELECTED),
    spec("CLOSE", Cmd::Close, SELECTED),
    spec("UNSELECT", Cmd::Unselect, SELECTED),
    CommandSpec { has_uid_form: true, ..spec("EXPUNGE", Cmd::Expunge, SELECTED) },
    seq("SEARCH", Cmd::Search, false),
    seq("FETCH", Cmd::Fetch, false),
    seq("STORE", Cmd::Store, false),
    seq("COPY", Cmd::Copy, false),
    seq("MOVE", Cmd::Move, true),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        for (i, spec) in COMMANDS.iter().enumerate() {
            assert_eq!(spec.name, spec.name.to_ascii_uppercase());
            assert!(COMMANDS[i + 1..].iter().all(|other| other.name != spec.name), "{} twice", spec.name);
            assert!(spec.states != 0, "{} is valid nowhere", spec.name);
            // Only selected-state commands can touch sequence numbers.
            assert!(!(spec.uses_seqs || spec.breaks_seqs) || spec.states == SELECTED, "{}", spec.name);
        }
    }
}
