//! [`VecMap`]: the ordered map of the client's state and sync engine — a sorted `Vec` of
//! pairs with the subset of the `BTreeMap` API the SDK uses — and [`sort_small`], the SDK's
//! sort for short lists.
//!
//! Why not `BTreeMap`: every `BTreeMap<K, V>` instantiation brings its own node balancing,
//! removal and drop code (about 6 KB of wasm each, ~60 KB for the SDK's maps). A sorted vector
//! needs a binary search and a `Vec::insert`/`Vec::remove` per type, and the maps here are small
//! (channels of one user, members of one channel, held events of one stream).

use std::borrow::Borrow;

/// A map ordered by key, stored as a sorted vector of `(key, value)` pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VecMap<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        VecMap {
            entries: Vec::new(),
        }
    }
}

impl<K: Ord, V> VecMap<K, V> {
    pub fn new() -> Self {
        VecMap::default()
    }

    /// `Ok(index)` of `key`, or `Err(index)` where it would be inserted.
    fn find<Q>(&self, key: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.entries.binary_search_by(|(k, _)| k.borrow().cmp(key))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.find(key).ok().map(|i| &self.entries[i].1)
    }

    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.find(key).ok().map(|i| &mut self.entries[i].1)
    }

    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.find(key).is_ok()
    }

    /// Inserts or replaces; returns the value replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (key, value));
                None
            }
        }
    }

    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.find(key).ok().map(|i| self.entries.remove(i).1)
    }

    /// The value under `key`, inserting `make()` first when there is none.
    pub fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        let i = match self.find(&key) {
            Ok(i) => i,
            Err(i) => {
                self.entries.insert(i, (key, make()));
                i
            }
        };
        &mut self.entries[i].1
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        self.entries.retain_mut(|(k, v)| keep(k, v));
    }

    /// Removes and returns the entries with keys `>= key` (as `BTreeMap::split_off`).
    pub fn split_off<Q>(&mut self, key: &Q) -> VecMap<K, V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let at = self.find(key).unwrap_or_else(|i| i);
        VecMap {
            entries: self.entries.split_off(at),
        }
    }

    pub fn last_key_value(&self) -> Option<(&K, &V)> {
        self.entries.last().map(|(k, v)| (k, v))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.entries.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.iter().map(|(_, v)| v)
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    pub fn into_values(self) -> impl Iterator<Item = V> {
        self.entries.into_iter().map(|(_, v)| v)
    }
}

impl<K: Ord + Borrow<Q>, Q: Ord + ?Sized, V> std::ops::Index<&Q> for VecMap<K, V> {
    type Output = V;
    /// The value under `key`; panics when there is none (as `BTreeMap` indexing).
    fn index(&self, key: &Q) -> &V {
        self.get(key).expect("no entry for the key")
    }
}

impl<K, V> IntoIterator for VecMap<K, V> {
    type Item = (K, V);
    type IntoIter = std::vec::IntoIter<(K, V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for VecMap<K, V> {
    /// Later pairs replace earlier ones with the same key, as in `BTreeMap`.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        let mut map = VecMap::new();
        for (k, v) in pairs {
            map.insert(k, v);
        }
        map
    }
}

/// Sorts short slices in place, stably: `before(a, b)` says `a` goes before `b`. An insertion
/// sort (outboxes, delivery joins and draft lists are short): one small function instead of
/// the standard library's sort machinery in the wasm for each element type.
pub fn sort_small<T>(items: &mut [T], before: impl Fn(&T, &T) -> bool) {
    for i in 1..items.len() {
        let mut j = i;
        while j > 0 && before(&items[j], &items[j - 1]) {
            items.swap(j - 1, j);
            j -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_small_is_stable() {
        let mut v = vec![(3, 'a'), (1, 'b'), (3, 'c'), (2, 'd'), (1, 'e')];
        sort_small(&mut v, |x, y| x.0 < y.0);
        assert_eq!(v, vec![(1, 'b'), (1, 'e'), (2, 'd'), (3, 'a'), (3, 'c')]);
    }

    #[test]
    fn keeps_keys_sorted_and_unique() {
        let mut m = VecMap::new();
        assert_eq!(m.insert("b".to_string(), 2), None);
        assert_eq!(m.insert("a".to_string(), 1), None);
        assert_eq!(m.insert("c".to_string(), 3), None);
        assert_eq!(m.insert("b".to_string(), 20), Some(2));
        assert_eq!(m.keys().cloned().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(m.get("b"), Some(&20));
        assert!(m.contains_key("c"));
        assert_eq!(m.remove("a"), Some(1));
        assert_eq!(m.remove("a"), None);
        assert_eq!(m.len(), 2);
        *m.get_or_insert_with("d".to_string(), || 0) += 4;
        *m.get_or_insert_with("d".to_string(), || 0) += 1;
        assert_eq!(m.get("d"), Some(&5));
        m.retain(|_, v| *v > 4);
        assert_eq!(
            m.into_iter().collect::<Vec<_>>(),
            [("b".to_string(), 20), ("d".to_string(), 5)]
        );
    }

    #[test]
    fn split_off_takes_the_upper_part() {
        let mut m: VecMap<u64, u64> = [(5, 50), (1, 10), (3, 30), (3, 31)].into_iter().collect();
        assert_eq!(m.get(&3), Some(&31));
        let upper = m.split_off(&3);
        assert_eq!(m.iter().collect::<Vec<_>>(), [(&1, &10)]);
        assert_eq!(upper.iter().collect::<Vec<_>>(), [(&3, &31), (&5, &50)]);
        assert_eq!(upper.last_key_value(), Some((&5, &50)));
        let mut m: VecMap<u64, u64> = [(1, 1)].into_iter().collect();
        assert!(m.split_off(&2).is_empty());
        assert!(m.split_off(&0).into_values().eq([1]));
        assert!(m.is_empty());
    }
}
