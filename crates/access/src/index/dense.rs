//! A map from dense database ids to values, stored as a vector: a lookup is an index, not a hash.
//! Group and staff ids are handed out by the database from 1 upwards, so the vector stays about
//! as long as the number of rows.

#[derive(Debug, Clone)]
pub struct Dense<T> {
    slots: Vec<Option<T>>,
}

impl<T> Default for Dense<T> {
    fn default() -> Self {
        Dense { slots: Vec::new() }
    }
}

impl<T> Dense<T> {
    pub fn get(&self, key: &u32) -> Option<&T> {
        self.slots.get(*key as usize).and_then(Option::as_ref)
    }

    pub fn get_mut(&mut self, key: &u32) -> Option<&mut T> {
        self.slots.get_mut(*key as usize).and_then(Option::as_mut)
    }

    pub fn remove(&mut self, key: &u32) -> Option<T> {
        self.slots.get_mut(*key as usize).and_then(Option::take)
    }

    /// The value at `key`, created with `make` if absent.
    pub fn get_or_insert_with(&mut self, key: u32, make: impl FnOnce() -> T) -> &mut T {
        let i = key as usize;
        if self.slots.len() <= i {
            self.slots.resize_with(i + 1, || None);
        }
        self.slots[i].get_or_insert_with(make)
    }

    pub fn iter(&self) -> impl Iterator<Item = (u32, &T)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.as_ref().map(|v| (i as u32, v)))
    }

    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().filter_map(Option::as_ref)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_like_a_map() {
        let mut d: Dense<&str> = Dense::default();
        assert_eq!(d.get(&3), None);
        *d.get_or_insert_with(3, || "a") = "b";
        assert_eq!(d.get(&3), Some(&"b"));
        assert_eq!(d.iter().collect::<Vec<_>>(), vec![(3, &"b")]);
        assert_eq!(d.remove(&3), Some("b"));
        assert_eq!(d.values().count(), 0);
    }
}
