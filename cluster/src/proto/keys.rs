//! [`Keys`]: the key layout under the forest's prefix (etcd-cluster.md §3).
//!
//! Invariant: every key the protocol touches is built here, and every parse is the exact
//! inverse (`parse(key(x)) == Some(x)`); ranks are decimal without padding.

/// Which protocol key a full key is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// `config`.
    Config,
    /// `procs/<proc>`.
    Proc(String),
    /// `members/<rank>`.
    Member(u32),
    /// `epoch/<rank>`.
    Epoch(u32),
    /// `recovery/lock/<rank>`.
    Lock(u32),
    /// `recovery/slot/<s>`.
    Slot(u32),
    /// `pause/<rank>`.
    Pause(u32),
    /// `ack/<rank>/<proc>`.
    Ack(u32, String),
    /// `store/<rank>`.
    Store(u32),
}

/// The layout under one prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keys {
    prefix: String,
}

/// `epoch/<rank>` value of a member in good standing.
pub const EPOCH_HEALTHY: &[u8] = b"healthy";
/// `epoch/<rank>` value while a recovery holds the lock (or after it gave up).
pub const EPOCH_RECOVERING: &[u8] = b"recovering";
/// `epoch/<rank>` value after a graceful leave (joinable again).
pub const EPOCH_LEFT: &[u8] = b"left";

impl Keys {
    /// The layout under `prefix` (ends with `/`).
    pub fn new(prefix: &str) -> Keys {
        Keys {
            prefix: prefix.to_owned(),
        }
    }
    /// The prefix itself (the whole keyspace of the forest).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
    /// `config`.
    pub fn config(&self) -> String {
        format!("{}config", self.prefix)
    }
    /// `procs/<proc>`.
    pub fn proc(&self, p: &str) -> String {
        format!("{}procs/{p}", self.prefix)
    }
    /// `members/<rank>`.
    pub fn member(&self, r: u32) -> String {
        format!("{}members/{r}", self.prefix)
    }
    /// `members/` prefix.
    pub fn members(&self) -> String {
        format!("{}members/", self.prefix)
    }
    /// `epoch/<rank>`.
    pub fn epoch(&self, r: u32) -> String {
        format!("{}epoch/{r}", self.prefix)
    }
    /// `epoch/` prefix.
    pub fn epochs(&self) -> String {
        format!("{}epoch/", self.prefix)
    }
    /// `recovery/lock/<rank>`.
    pub fn lock(&self, r: u32) -> String {
        format!("{}recovery/lock/{r}", self.prefix)
    }
    /// `recovery/slot/<s>`.
    pub fn slot(&self, s: u32) -> String {
        format!("{}recovery/slot/{s}", self.prefix)
    }
    /// `pause/<rank>`.
    pub fn pause(&self, r: u32) -> String {
        format!("{}pause/{r}", self.prefix)
    }
    /// `ack/<rank>/<proc>`.
    pub fn ack(&self, r: u32, p: &str) -> String {
        format!("{}ack/{r}/{p}", self.prefix)
    }
    /// `ack/<rank>/` prefix.
    pub fn acks(&self, r: u32) -> String {
        format!("{}ack/{r}/", self.prefix)
    }
    /// `store/<rank>`.
    pub fn store(&self, r: u32) -> String {
        format!("{}store/{r}", self.prefix)
    }

    /// Which protocol key `key` is (`None`: outside the layout).
    pub fn parse(&self, key: &str) -> Option<KeyKind> {
        let rest = key.strip_prefix(self.prefix.as_str())?;
        let num = |s: &str| -> Option<u32> {
            if s.is_empty() || (s.len() > 1 && s.starts_with('0')) {
                return None;
            }
            s.parse().ok()
        };
        if rest == "config" {
            return Some(KeyKind::Config);
        }
        if let Some(p) = rest.strip_prefix("procs/") {
            return (!p.is_empty() && !p.contains('/')).then(|| KeyKind::Proc(p.to_owned()));
        }
        if let Some(r) = rest.strip_prefix("members/") {
            return num(r).map(KeyKind::Member);
        }
        if let Some(r) = rest.strip_prefix("epoch/") {
            return num(r).map(KeyKind::Epoch);
        }
        if let Some(r) = rest.strip_prefix("recovery/lock/") {
            return num(r).map(KeyKind::Lock);
        }
        if let Some(r) = rest.strip_prefix("recovery/slot/") {
            return num(r).map(KeyKind::Slot);
        }
        if let Some(r) = rest.strip_prefix("pause/") {
            return num(r).map(KeyKind::Pause);
        }
        if let Some(r) = rest.strip_prefix("store/") {
            return num(r).map(KeyKind::Store);
        }
        if let Some(ra) = rest.strip_prefix("ack/") {
            let (r, p) = ra.split_once('/')?;
            if p.is_empty() || p.contains('/') {
                return None;
            }
            return num(r).map(|r| KeyKind::Ack(r, p.to_owned()));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_inverts_build() {
        let k = Keys::new("ftf/x/");
        assert_eq!(k.parse(&k.config()), Some(KeyKind::Config));
        assert_eq!(k.parse(&k.proc("n1")), Some(KeyKind::Proc("n1".into())));
        assert_eq!(k.parse(&k.member(7)), Some(KeyKind::Member(7)));
        assert_eq!(k.parse(&k.epoch(0)), Some(KeyKind::Epoch(0)));
        assert_eq!(k.parse(&k.lock(3)), Some(KeyKind::Lock(3)));
        assert_eq!(k.parse(&k.slot(1)), Some(KeyKind::Slot(1)));
        assert_eq!(k.parse(&k.pause(2)), Some(KeyKind::Pause(2)));
        assert_eq!(k.parse(&k.ack(2, "n3")), Some(KeyKind::Ack(2, "n3".into())));
        assert_eq!(k.parse(&k.store(9)), Some(KeyKind::Store(9)));
        assert_eq!(k.parse("ftf/x/members/07"), None);
        assert_eq!(k.parse("ftf/y/config"), None);
    }
}
