//! An ordered list of messages: sorted by `channel_seq`, one entry per message id, local echoes
//! (sent from here, not yet confirmed) after every confirmed message in the order they were
//! sent. Each entry remembers the sequence of the change that last wrote it, so an older copy
//! (a late HTTP answer) never replaces a newer one (an event that came first).

use super::wire::Wire;

#[derive(Debug, Clone, PartialEq)]
pub struct Entry<W> {
    pub id: String,
    /// `channel_seq` of the message; 0 for a local echo.
    pub seq: u64,
    /// Sequence of the change that produced `data` (0 for local echoes and unordered copies).
    pub rev: u64,
    pub data: W,
}

impl<W: Wire> Entry<W> {
    /// An entry for a wire message; `rev` is the sequence of the change that carried it.
    pub fn from_wire(data: W, rev: u64) -> Option<Self> {
        let id = data.str_of("id")?;
        let seq = data.u64_of("channel_seq").unwrap_or(0);
        Some(Entry {
            id,
            seq,
            rev: rev.max(seq),
            data,
        })
    }

    pub fn is_local(&self) -> bool {
        self.seq == 0
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MessageList<W> {
    entries: Vec<Entry<W>>,
}

impl<W> Default for MessageList<W> {
    fn default() -> Self {
        MessageList {
            entries: Vec::new(),
        }
    }
}

impl<W: Wire> MessageList<W> {
    pub fn entries(&self) -> &[Entry<W>] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, id: &str) -> Option<&Entry<W>> {
        self.entries.iter().find(|e| e.id == id)
    }

    /// Inserts or replaces by id (and drops another entry holding the same sequence). A copy
    /// older than the stored one (`rev` lower) is ignored; a confirmed copy always replaces a
    /// local echo. Returns whether anything changed.
    pub fn upsert(&mut self, entry: Entry<W>) -> bool {
        if let Some(i) = self.entries.iter().position(|e| e.id == entry.id) {
            let old = &self.entries[i];
            // A confirmed copy always replaces an echo; otherwise an older copy loses.
            let confirms_echo = old.is_local() && !entry.is_local();
            if !confirms_echo && entry.rev < old.rev {
                return false;
            }
            self.entries.remove(i);
        }
        if !entry.is_local() {
            self.entries.retain(|e| e.seq != entry.seq);
        }
        let at = if entry.is_local() {
            self.entries.len()
        } else {
            self.entries
                .iter()
                .position(|e| e.is_local() || e.seq > entry.seq)
                .unwrap_or(self.entries.len())
        };
        self.entries.insert(at, entry);
        true
    }

    /// Replaces the data of an existing entry (edits, reactions, pins) when `rev` is not older;
    /// `false` when the message is not in this list.
    pub fn update(&mut self, data: W, rev: u64) -> bool {
        let Some(id) = data.str_of("id") else {
            return false;
        };
        match self.entries.iter_mut().find(|e| e.id == id) {
            Some(e) if rev >= e.rev => {
                e.rev = rev;
                e.data = data;
                true
            }
            _ => false,
        }
    }

    pub fn remove(&mut self, id: &str) -> Option<Entry<W>> {
        let i = self.entries.iter().position(|e| e.id == id)?;
        Some(self.entries.remove(i))
    }

    /// Drops every confirmed message below `seq` (truncation).
    pub fn truncate_before(&mut self, seq: u64) {
        self.entries.retain(|e| e.is_local() || e.seq >= seq);
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Drops every confirmed message, keeping local echoes.
    pub fn clear_confirmed(&mut self) {
        self.entries.retain(|e| e.is_local());
    }

    /// Replaces the data of a held message (a local change: edit, delete, reaction) keeping its
    /// place and revision, so the server's next copy of it still wins; `false` when not held.
    pub fn set_data(&mut self, id: &str, data: W) -> bool {
        match self.entries.iter_mut().find(|e| e.id == id) {
            Some(e) => {
                e.data = data;
                true
            }
            None => false,
        }
    }

    /// Replaces a local echo's data (e.g. marks it failed); `false` when not found.
    pub fn set_local(&mut self, id: &str, data: W) -> bool {
        match self.entries.iter_mut().find(|e| e.id == id && e.is_local()) {
            Some(e) => {
                e.data = data;
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn msg(id: &str, seq: u64, text: &str) -> Entry<Value> {
        Entry::from_wire(json!({"id": id, "channel_seq": seq, "text": text}), seq).unwrap()
    }

    fn ids(l: &MessageList<Value>) -> Vec<&str> {
        l.entries().iter().map(|e| e.id.as_str()).collect()
    }

    #[test]
    fn sorted_by_sequence_with_local_echoes_last() {
        let mut l = MessageList::default();
        l.upsert(msg("c", 3, ""));
        l.upsert(msg("echo", 0, ""));
        l.upsert(msg("a", 1, ""));
        l.upsert(msg("b", 2, ""));
        assert_eq!(ids(&l), ["a", "b", "c", "echo"]);
    }

    #[test]
    fn the_servers_copy_replaces_the_echo_in_place_of_its_sequence() {
        let mut l = MessageList::default();
        l.upsert(msg("a", 1, ""));
        l.upsert(msg("mine", 0, "hi"));
        l.upsert(msg("b", 5, ""));
        assert!(l.upsert(msg("mine", 3, "hi")));
        assert_eq!(ids(&l), ["a", "mine", "b"]);
        assert_eq!(l.get("mine").unwrap().seq, 3);
    }

    #[test]
    fn duplicates_by_id_or_sequence_collapse_and_older_copies_lose() {
        let mut l = MessageList::default();
        l.upsert(msg("a", 1, "v1"));
        assert!(l.update(json!({"id": "a", "channel_seq": 1, "text": "v2"}), 7));
        // A late copy of the original (rev 1) does not undo the edit seen at rev 7.
        assert!(!l.upsert(msg("a", 1, "v1")));
        assert_eq!(l.get("a").unwrap().data["text"], "v2");
        l.upsert(msg("x", 1, "same seq, other id"));
        assert_eq!(ids(&l), ["x"]);
        assert_eq!(l.len(), 1);
    }

    #[test]
    fn truncation_keeps_later_messages_and_echoes() {
        let mut l = MessageList::default();
        for (id, seq) in [("a", 1), ("b", 2), ("c", 4), ("e", 0)] {
            l.upsert(msg(id, seq, ""));
        }
        l.truncate_before(3);
        assert_eq!(ids(&l), ["c", "e"]);
    }
}
