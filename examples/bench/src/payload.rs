//! The session maps every contender stores: a small one (about 200 bytes
//! of JSON) and a large one (about 64 KiB).

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use crate::schema::TYPED_KEYS;

/// The user every created and saved session belongs to; it exists in every
/// backend's users table.
pub const PAYLOAD_USER: i64 = 1;

/// The JSON size the large payload reaches. MySQL's `BLOB`, the peer's data
/// column there, holds at most 65 535 bytes, which the peer's MessagePack
/// encoding of this map stays under.
const LARGE_TARGET: usize = 64 * 1024;

/// A session map and the same map split as ours and the floor store it.
#[derive(Debug)]
pub struct Payload {
    /// `small` or `large`.
    pub name: &'static str,
    /// The whole session map, as tower-sessions hands it to a store.
    pub map: HashMap<String, Value>,
    /// The map without the typed keys: the `data` column.
    pub rest: Value,
    /// The `user_id` column.
    pub user_id: i64,
    /// The `user_agent` column.
    pub user_agent: String,
    /// The size of the whole map as JSON.
    pub json_bytes: usize,
}

impl Payload {
    /// About 200 bytes: a logged-in user's ids and preferences.
    pub fn small() -> Payload {
        Payload::from_map("small", base())
    }

    /// About 64 KiB: the small map plus a list of recently viewed items.
    pub fn large() -> Payload {
        let mut map = base();
        let mut items = Vec::new();
        let mut size = json_size(&map);
        let mut n = 0_u32;
        while size < LARGE_TARGET {
            let item = json!({
                "sku": format!("SKU-{n:06}"),
                "title": format!("Item {n}: a product title long enough to look like one in a shop"),
                "price_cents": 1999 + n,
                "qty": 1 + n % 3,
            });
            // The item, and the comma before it.
            size += item.to_string().len() + 1;
            items.push(item);
            n += 1;
        }
        map.insert("recently_viewed".to_owned(), Value::Array(items));
        Payload::from_map("large", map)
    }

    /// Rows of this payload per multi-row `INSERT` when seeding: few
    /// enough for every backend's bind limit and MySQL's packet limit.
    pub fn rows_per_insert(&self) -> usize {
        (4_000_000 / (self.json_bytes + 200)).clamp(1, 500)
    }

    fn from_map(name: &'static str, map: HashMap<String, Value>) -> Payload {
        let rest: Map<String, Value> = map
            .iter()
            .filter(|(key, _)| !TYPED_KEYS.contains(&key.as_str()))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        let user_agent = map
            .get("user_agent")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        Payload {
            name,
            json_bytes: json_size(&map),
            user_id: PAYLOAD_USER,
            user_agent,
            rest: Value::Object(rest),
            map,
        }
    }
}

fn base() -> HashMap<String, Value> {
    let pairs = [
        ("user_id", json!(PAYLOAD_USER)),
        (
            "user_agent",
            json!("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
        ),
        ("csrf_token", json!("9f86d081884c7d659a2feaa0c55ad015")),
        ("theme", json!("dark")),
        ("locale", json!("en-GB")),
        ("cart_items", json!(3)),
    ];
    pairs
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect()
}

fn json_size(map: &HashMap<String, Value>) -> usize {
    serde_json::to_vec(map).map_or(0, |bytes| bytes.len())
}
