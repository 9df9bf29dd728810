use session_runtime::{DataKey, EncryptionKeys, SessionStore};

#[derive(SessionStore, Debug)]
#[session(table = http_sessions, backend = sqlite)]
pub struct AppSession {
    pub user_id: Option<i64>,
}

fn main() {
    let keys = EncryptionKeys::new(DataKey::from_bytes([7; 32]));
    let _ = AppSessionStore::connect("sessions.db").map(|store| store.with_encryption_keys(keys));
}
