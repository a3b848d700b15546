//! Dropping root once the privileged ports are bound.
//!
//! Started as root with `run_as_user` set, the process hands `data_dir` to that user, then switches
//! its groups, group and user for good (glibc applies `setuid` to every thread). Started as that
//! user with CAP_NET_BIND_SERVICE (the systemd unit in `config/`), there is nothing to drop.

use anyhow::{bail, Context};
use mailgenic_config::Config;
use std::ffi::CString;
use std::path::Path;

pub fn drop_to(config: &Config) -> anyhow::Result<()> {
    let name = config.run_as_user.trim();
    if name.is_empty() {
        return Ok(());
    }
    let cname = CString::new(name).context("run_as_user contains a NUL byte")?;
    // SAFETY: getpwnam returns a pointer to static storage or null; we copy the two ids at once.
    let (uid, gid) = unsafe {
        let pw = libc::getpwnam(cname.as_ptr());
        if pw.is_null() {
            bail!("{}: key `run_as_user`: no such user {name:?}", config.source.display());
        }
        ((*pw).pw_uid, (*pw).pw_gid)
    };
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    if euid == uid {
        return Ok(());
    }
    if euid != 0 {
        bail!("run_as_user is {name:?} but the server was started as uid {euid}, which cannot switch users; start it as root or as {name}");
    }
    chown_tree(&config.data_dir, uid, gid)?;
    // SAFETY: plain system calls with valid arguments; order matters (groups and gid before uid).
    unsafe {
        if libc::setgroups(1, &gid) != 0 || libc::setgid(gid) != 0 || libc::setuid(uid) != 0 {
            bail!("cannot switch to user {name:?}: {}", std::io::Error::last_os_error());
        }
    }
    tracing::info!(user = name, uid, gid, "dropped root privileges");
    Ok(())
}

fn chown_tree(path: &Path, uid: u32, gid: u32) -> anyhow::Result<()> {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))
        .with_context(|| format!("cannot chown {}", path.display()))?;
    if path.is_dir() && !path.is_symlink() {
        for entry in std::fs::read_dir(path)? {
            chown_tree(&entry?.path(), uid, gid)?;
        }
    }
    Ok(())
}
