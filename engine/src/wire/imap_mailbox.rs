//! Arguments of the mailbox commands that have more than a name, sans I/O: the extended LIST
//! (RFC 5258, with the STATUS return option of RFC 5819 and the SPECIAL-USE options of RFC 6154
//! §2), STATUS data items (RFC 9051 §6.3.11, SIZE from RFC 8438, HIGHESTMODSEQ from RFC 7162) and
//! CREATE parameters (RFC 4466 §2.2, USE from RFC 6154 §3). Names and patterns borrow the command
//! buffer unless they were quoted with escapes.
//!
//! ```text
//! list             = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]
//! list-select-opts = "(" [ (*(list-select-opt SP) list-select-base-opt *(SP list-select-opt))
//!                        / (list-select-independent-opt *(SP list-select-independent-opt)) ] ")"
//!                    ; a list-select-mod-opt needs a list-select-base-opt beside it
//! list-select-base-opt        = "SUBSCRIBED"
//! list-select-independent-opt = "REMOTE" / "SPECIAL-USE"
//! list-select-mod-opt         = "RECURSIVEMATCH"
//! mbox-or-pat      = list-mailbox / patterns
//! patterns         = "(" list-mailbox *(SP list-mailbox) ")"
//! list-mailbox     = 1*list-char / string
//! list-return-opts = "RETURN" SP "(" [return-option *(SP return-option)] ")"
//! return-option    = "SUBSCRIBED" / "CHILDREN" / "SPECIAL-USE" / status-option
//! status-option    = "STATUS" SP "(" status-att *(SP status-att) ")"
//!
//! status           = "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")"
//! status-att       = "MESSAGES" / "UIDNEXT" / "UIDVALIDITY" / "UNSEEN" / "RECENT" / "SIZE" /
//!                    "HIGHESTMODSEQ"
//!
//! create           = "CREATE" SP mailbox [create-params]
//! create-params    = SP "(" create-param *(SP create-param) ")"
//! create-param     = "USE" SP "(" [use-attr *(SP use-attr)] ")"
//! use-attr         = "\All" / "\Archive" / "\Drafts" / "\Flagged" / "\Junk" / "\Sent" /
//!                    "\Trash" / "\" atom
//! ```
//!
//! Option names are case-insensitive. An option this server does not know is a syntax error
//! (RFC 5258 §3: "A server MUST respond to options it does not recognize with a BAD response").

use super::imap::{is_astring_char, Args};
use super::imap_values::skip_space;
use std::borrow::Cow;

/// Most mailbox patterns one LIST may carry (each is matched against every name).
pub const MAX_LIST_PATTERNS: usize = 32;

/// LIST selection options (RFC 5258 §3.1, RFC 6154 §2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListSelect {
    /// List subscribed names instead of existing mailboxes.
    pub subscribed: bool,
    /// Include remote mailboxes (there are none here, so it changes nothing).
    pub remote: bool,
    /// Also list parents of matches, with the CHILDINFO extended data item.
    pub recursive_match: bool,
    /// Only mailboxes with a special-use attribute.
    pub special_use: bool,
}

/// LIST return options (RFC 5258 §3.2, RFC 5819, RFC 6154 §2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListReturn {
    pub subscribed: bool,
    pub children: bool,
    pub special_use: bool,
    /// `STATUS (...)`: a STATUS response after each selectable listed mailbox.
    pub status: Option<Vec<StatusItem>>,
}

/// A parsed LIST command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListCommand<'a> {
    /// One of the three extended forms of RFC 5258 §1 was used: an empty pattern is no longer
    /// the request for the hierarchy delimiter, and extended responses may be sent.
    pub extended: bool,
    pub select: ListSelect,
    pub reference: Cow<'a, [u8]>,
    /// At least one; the canonical pattern of each is `reference` followed by it.
    pub patterns: Vec<Cow<'a, [u8]>>,
    pub returns: ListReturn,
}

/// One STATUS data item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusItem {
    Messages,
    UidNext,
    UidValidity,
    Unseen,
    Recent,
    /// RFC 8438: total size of the mailbox in octets.
    Size,
    /// RFC 7162 §3.6.
    HighestModSeq,
    /// RFC 7889 §3: the largest message APPEND takes into this mailbox.
    AppendLimit,
    /// RFC 9051 §6.3.11: the number of messages with the `\Deleted` flag.
    Deleted,
}

impl StatusItem {
    const ALL: [StatusItem; 9] = [
        StatusItem::Messages,
        StatusItem::UidNext,
        StatusItem::UidValidity,
        StatusItem::Unseen,
        StatusItem::Recent,
        StatusItem::Size,
        StatusItem::HighestModSeq,
        StatusItem::AppendLimit,
        StatusItem::Deleted,
    ];

    /// The item's name as the STATUS response writes it.
    pub fn name(self) -> &'static str {
        match self {
            StatusItem::Messages => "MESSAGES",
            StatusItem::UidNext => "UIDNEXT",
            StatusItem::UidValidity => "UIDVALIDITY",
            StatusItem::Unseen => "UNSEEN",
            StatusItem::Recent => "RECENT",
            StatusItem::Size => "SIZE",
            StatusItem::HighestModSeq => "HIGHESTMODSEQ",
            StatusItem::AppendLimit => "APPENDLIMIT",
            StatusItem::Deleted => "DELETED",
        }
    }

    fn parse(word: &[u8]) -> Option<StatusItem> {
        StatusItem::ALL.into_iter().find(|i| i.name().as_bytes().eq_ignore_ascii_case(word))
    }
}

/// A parsed CREATE command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateCommand<'a> {
    pub name: Cow<'a, [u8]>,
    /// The attributes of the `USE` parameter (each `\` atom, as sent), if it was given.
    pub use_attrs: Option<Vec<&'a [u8]>>,
}

/// Splits off the word at the start of `input`: everything up to SP, `(` or `)`.
fn word(input: &[u8]) -> (&[u8], &[u8]) {
    let end = input.iter().position(|&b| matches!(b, b' ' | b'(' | b')')).unwrap_or(input.len());
    input.split_at(end)
}

/// After an element of a parenthesised list: `Ok(Some(rest))` after a SP (another element
/// follows), `Ok(None)` at the closing parenthesis, which the caller then skips.
fn next_in_list(input: &[u8]) -> Result<Option<&[u8]>, &'static str> {
    match input {
        [b')', ..] => Ok(None),
        [b' ', more @ ..] if !more.is_empty() && more[0] != b' ' && more[0] != b')' => Ok(Some(more)),
        _ => Err("List elements must be separated by one space and closed by )"),
    }
}

/// Parses the arguments of LIST (everything after `LIST SP`).
pub fn parse_list(input: &[u8]) -> Result<ListCommand<'_>, &'static str> {
    let mut rest = input;
    let mut extended = false;
    let mut select = ListSelect::default();
    if let Some(mut options) = rest.strip_prefix(b"(") {
        extended = true;
        if options.first() != Some(&b')') {
            loop {
                let (name, after) = word(options);
                match name.to_ascii_uppercase().as_slice() {
                    b"SUBSCRIBED" => select.subscribed = true,
                    b"REMOTE" => select.remote = true,
                    b"RECURSIVEMATCH" => select.recursive_match = true,
                    b"SPECIAL-USE" => select.special_use = true,
                    b"" => return Err("Missing LIST selection option"),
                    _ => return Err("Unknown LIST selection option"),
                }
                match next_in_list(after)? {
                    Some(more) => options = more,
                    None => {
                        options = after;
                        break;
                    }
                }
            }
        }
        if select.recursive_match && !select.subscribed {
            return Err("RECURSIVEMATCH needs the SUBSCRIBED selection option beside it");
        }
        rest = skip_space(&options[1..])?;
    }
    let mut args = Args::new(rest);
    let reference = args.astring()?;
    rest = args.rest();
    if rest.is_empty() {
        return Err("Missing mailbox pattern");
    }
    let mut patterns = Vec::new();
    if let Some(mut list) = rest.strip_prefix(b"(") {
        extended = true;
        loop {
            if patterns.len() == MAX_LIST_PATTERNS {
                return Err("[LIMIT] Too many mailbox patterns");
            }
            let (pattern, after) = list_mailbox(list)?;
            patterns.push(pattern);
            match next_in_list(after)? {
                Some(more) => list = more,
                None => {
                    rest = &after[1..];
                    break;
                }
            }
        }
    } else {
        let (pattern, after) = list_mailbox(rest)?;
        patterns.push(pattern);
        rest = after;
    }
    let mut returns = ListReturn::default();
    if !rest.is_empty() {
        let after = rest.strip_prefix(b" ").ok_or("Expected SP after the mailbox pattern")?;
        let (keyword, after) = word(after);
        if !keyword.eq_ignore_ascii_case(b"RETURN") {
            return Err("Expected RETURN (options) after the mailbox pattern");
        }
        let mut options = after.strip_prefix(b" (").ok_or("RETURN needs a parenthesised list of options")?;
        extended = true;
        if options.first() != Some(&b')') {
            loop {
                let (name, after) = word(options);
                let after = match name.to_ascii_uppercase().as_slice() {
                    b"SUBSCRIBED" => {
                        returns.subscribed = true;
                        after
                    }
                    b"CHILDREN" => {
                        returns.children = true;
                        after
                    }
                    b"SPECIAL-USE" => {
                        returns.special_use = true;
                        after
                    }
                    b"STATUS" => {
                        let list = after.strip_prefix(b" ").ok_or("STATUS needs a list of items")?;
                        let (items, after) = parse_status_items(list)?;
                        let merged = returns.status.get_or_insert_with(Vec::new);
                        for item in items {
                            if !merged.contains(&item) {
                                merged.push(item);
                            }
                        }
                        after
                    }
                    b"" => return Err("Missing LIST return option"),
                    _ => return Err("Unknown LIST return option"),
                };
                match next_in_list(after)? {
                    Some(more) => options = more,
                    None => {
                        options = after;
                        break;
                    }
                }
            }
        }
        if options.len() > 1 {
            return Err("Unexpected text after the RETURN options");
        }
    }
    Ok(ListCommand { extended, select, reference, patterns, returns })
}

/// Reads one `list-mailbox` (an astring, or an atom that may also contain `%` and `*`); returns
/// it and the text right after it.
pub fn list_mailbox(input: &[u8]) -> Result<(Cow<'_, [u8]>, &[u8]), &'static str> {
    if input.first().is_some_and(|&b| b == b'"' || b == b'{') {
        let mut args = Args::new(input);
        let value = args.astring_value()?;
        return Ok((value, args.rest()));
    }
    let end = input.iter().position(|&b| !(is_astring_char(b) || b == b'%' || b == b'*')).unwrap_or(input.len());
    if end == 0 {
        return Err("Missing or invalid mailbox pattern");
    }
    Ok((Cow::Borrowed(&input[..end]), &input[end..]))
}

/// Parses `"(" status-att *(SP status-att) ")"`; returns the items (each once, in the order
/// first asked) and the text after `)`.
pub fn parse_status_items(input: &[u8]) -> Result<(Vec<StatusItem>, &[u8]), &'static str> {
    let mut list = input.strip_prefix(b"(").ok_or("STATUS items must be in parentheses")?;
    let mut items = Vec::new();
    loop {
        let (name, after) = word(list);
        if name.is_empty() {
            return Err("Missing STATUS item");
        }
        let item = StatusItem::parse(name).ok_or("Unknown STATUS item")?;
        if !items.contains(&item) {
            items.push(item);
        }
        match next_in_list(after)? {
            Some(more) => list = more,
            None => return Ok((items, &after[1..])),
        }
    }
}

/// Parses the arguments of STATUS: the mailbox name and the items.
pub fn parse_status(input: &[u8]) -> Result<(Cow<'_, [u8]>, Vec<StatusItem>), &'static str> {
    let mut args = Args::new(input);
    let name = args.astring()?;
    let (items, rest) = parse_status_items(args.rest())?;
    if !rest.is_empty() {
        return Err("Unexpected text after the STATUS items");
    }
    Ok((name, items))
}

/// Parses the arguments of CREATE: the name and the optional `(USE (...))` parameter.
pub fn parse_create(input: &[u8]) -> Result<CreateCommand<'_>, &'static str> {
    let mut args = Args::new(input);
    let name = args.astring()?;
    let rest = args.rest();
    if rest.is_empty() {
        return Ok(CreateCommand { name, use_attrs: None });
    }
    let mut params = rest.strip_prefix(b"(").ok_or("Expected a parenthesised list of CREATE parameters")?;
    let mut use_attrs: Option<Vec<&[u8]>> = None;
    loop {
        let (param, after) = word(params);
        if param.is_empty() {
            return Err("Missing CREATE parameter");
        }
        if !param.eq_ignore_ascii_case(b"USE") {
            return Err("Unknown CREATE parameter");
        }
        let mut list = after.strip_prefix(b" (").ok_or("USE needs a parenthesised list of attributes")?;
        let attrs = use_attrs.get_or_insert_with(Vec::new);
        if list.first() != Some(&b')') {
            loop {
                let (attr, after) = word(list);
                let atom = attr.strip_prefix(b"\\").ok_or("A special-use attribute starts with \\")?;
                if atom.is_empty() || !atom.iter().all(|&b| is_astring_char(b) && b != b']') {
                    return Err("Invalid special-use attribute");
                }
                if !attrs.iter().any(|a| a.eq_ignore_ascii_case(attr)) {
                    attrs.push(attr);
                }
                match next_in_list(after)? {
                    Some(more) => list = more,
                    None => {
                        list = after;
                        break;
                    }
                }
            }
        }
        match next_in_list(&list[1..])? {
            Some(more) => params = more,
            None if list.len() == 2 => return Ok(CreateCommand { name, use_attrs }),
            None => return Err("Unexpected text after the CREATE parameters"),
        }
    }
}

#[cfg(test)]
#[path = "imap_mailbox_tests.rs"]
mod tests;
