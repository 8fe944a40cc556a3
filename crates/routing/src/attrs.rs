//! Attribute documents of workers and tasks, kept compact.
//!
//! A million pending tasks must fit in well under a gigabyte, so attributes
//! are not kept as `serde_json::Value` maps (hundreds of bytes of tree nodes
//! each): keys are interned to small numbers and each document is one sorted
//! boxed slice.

use std::collections::HashMap;

/// Interned attribute names. Names are few (a deployment's schema), so the
/// table only grows with new kinds of attribute, never with tasks.
#[derive(Debug, Default, Clone)]
pub struct Keys {
    ids: HashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

/// Most distinct attribute names; past it documents are refused rather than
/// letting the table grow without bound.
pub const MAX_KEYS: usize = 10_000;

impl Keys {
    pub fn intern(&mut self, name: &str) -> Result<u32, String> {
        if let Some(&id) = self.ids.get(name) {
            return Ok(id);
        }
        if self.names.len() >= MAX_KEYS {
            return Err(format!(
                "more than {MAX_KEYS} distinct attribute names; attributes should be a fixed schema"
            ));
        }
        let id = self.names.len() as u32;
        self.names.push(name.into());
        self.ids.insert(name.into(), id);
        Ok(id)
    }

    pub fn lookup(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    /// Every name, by id (what an engine image saves).
    pub(crate) fn names(&self) -> &[Box<str>] {
        &self.names
    }

    /// The table with these names at these ids.
    pub(crate) fn from_names(names: Vec<Box<str>>) -> Self {
        let ids = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i as u32))
            .collect();
        Self { ids, names }
    }

    pub fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", |n| n)
    }
}

/// One attribute value.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Val {
    Null,
    Bool(bool),
    Num(f64),
    Str(Box<str>),
    List(Box<[Val]>),
    Obj(Attrs),
}

/// A document: attributes sorted by interned key.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Attrs(Box<[(u32, Val)]>);

impl Attrs {
    pub fn get(&self, key: u32) -> Option<&Val> {
        self.0
            .binary_search_by_key(&key, |(k, _)| *k)
            .ok()
            .map(|i| &self.0[i].1)
    }

    /// From a JSON object; anything else is refused.
    pub fn from_json(json: &serde_json::Value, keys: &mut Keys) -> Result<Self, String> {
        match json {
            serde_json::Value::Object(map) => {
                let mut out = Vec::with_capacity(map.len());
                for (k, v) in map {
                    out.push((keys.intern(k)?, Val::from_json(v, keys)?));
                }
                out.sort_by_key(|(k, _)| *k);
                Ok(Self(out.into_boxed_slice()))
            }
            serde_json::Value::Null => Ok(Self::default()),
            _ => Err("attributes must be a JSON object".into()),
        }
    }

    pub fn to_json(&self, keys: &Keys) -> serde_json::Value {
        serde_json::Value::Object(
            self.0
                .iter()
                .map(|(k, v)| (keys.name(*k).to_string(), v.to_json(keys)))
                .collect(),
        )
    }

    /// Bytes this document holds on the heap (for memory figures).
    pub fn heap_bytes(&self) -> usize {
        self.0.len() * std::mem::size_of::<(u32, Val)>()
            + self.0.iter().map(|(_, v)| v.heap_bytes()).sum::<usize>()
    }
}

impl Val {
    fn from_json(json: &serde_json::Value, keys: &mut Keys) -> Result<Self, String> {
        Ok(match json {
            serde_json::Value::Null => Val::Null,
            serde_json::Value::Bool(b) => Val::Bool(*b),
            serde_json::Value::Number(n) => Val::Num(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::String(s) => Val::Str(s.as_str().into()),
            serde_json::Value::Array(items) => Val::List(
                items
                    .iter()
                    .map(|v| Val::from_json(v, keys))
                    .collect::<Result<Vec<_>, _>>()?
                    .into_boxed_slice(),
            ),
            serde_json::Value::Object(_) => Val::Obj(Attrs::from_json(json, keys)?),
        })
    }

    pub fn to_json(&self, keys: &Keys) -> serde_json::Value {
        match self {
            Val::Null => serde_json::Value::Null,
            Val::Bool(b) => (*b).into(),
            // Whole numbers go back out as integers, as they came in.
            Val::Num(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => (*n as i64).into(),
            Val::Num(n) => {
                serde_json::Number::from_f64(*n).map_or(serde_json::Value::Null, Into::into)
            }
            Val::Str(s) => s.as_ref().into(),
            Val::List(items) => items.iter().map(|v| v.to_json(keys)).collect(),
            Val::Obj(a) => a.to_json(keys),
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Val::Str(s) => s.len(),
            Val::List(items) => {
                items.len() * std::mem::size_of::<Val>()
                    + items.iter().map(Val::heap_bytes).sum::<usize>()
            }
            Val::Obj(a) => a.heap_bytes(),
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_and_finds_keys() {
        let mut keys = Keys::default();
        let doc = json!({"languages": ["es", "en"], "skills": {"clinical": true}, "level": 3});
        let a = Attrs::from_json(&doc, &mut keys).unwrap();
        assert_eq!(a.to_json(&keys), doc);
        let level = keys.lookup("level").unwrap();
        assert_eq!(a.get(level), Some(&Val::Num(3.0)));
        assert!(Attrs::from_json(&json!([1]), &mut keys).is_err());
    }
}
