//! What the first start on an empty data directory creates: the admin token (unless configured),
//! the token-derivation key, and a demo corp to try the API with.

use std::io::Write;
use std::path::Path;

use fxmsg_api::native::{NewDepartment, NewEmployee, Sandbox};
use fxmsg_store::Store;

use crate::directory;
use crate::error::NativeError;
use crate::secrets::{random_hex, sha256_hex, TokenKey};

const ADMIN_HASH_KEY: &str = "admin_token_sha256";
const INITIALIZED_KEY: &str = "initialized_at";
const TOKEN_KEY: &str = "token_key";
/// The demo's departments: (id, name, parent).
const DEMO_DEPARTMENTS: [(i64, &str, i64); 5] = [
    (1, "Sales", 0),
    (2, "Sales East", 1),
    (3, "Engineering", 0),
    (4, "Platform", 3),
    (5, "Operations", 0),
];
/// A demo employee: name, position, gender, departments (the main one first), leader's number.
type DemoEmployee = (
    &'static str,
    &'static str,
    &'static str,
    &'static [i64],
    Option<&'static str>,
);
/// The demo's employees, numbered from 1000.
const DEMO_EMPLOYEES: [DemoEmployee; 5] = [
    ("Ada Li", "Head of Sales", "F", &[1], None),
    ("Bo Wang", "Account Manager", "M", &[2], Some("1000")),
    ("Chen Zhao", "CTO", "M", &[3], None),
    ("Dan Liu", "Platform Engineer", "M", &[4, 2], Some("1002")),
    ("Eva Sun", "Operations Lead", "F", &[5], None),
];

/// Secrets created by this start, to be shown once.
#[derive(Debug, Default)]
pub struct Bootstrap {
    /// The generated admin token, on the start that generated it.
    pub admin_token: Option<String>,
    /// The demo directory, on the start that created it.
    pub demo: Option<Demo>,
}

/// The demo corp created on first start: a sandbox that cannot be deleted as one.
pub type Demo = Sandbox;

/// Returns the admin token's hash. A configured token replaces the stored one and stays in force
/// for later starts without it, as a changed password does; without either, a token is generated,
/// stored and shown once.
pub async fn admin_token_hash(
    store: &dyn Store,
    configured: Option<&str>,
    boot: &mut Bootstrap,
) -> Result<String, NativeError> {
    let stored = store.meta(ADMIN_HASH_KEY).await?;
    if let Some(token) = configured {
        let hash = sha256_hex(token);
        if stored.as_deref() != Some(hash.as_str()) {
            store.set_meta(ADMIN_HASH_KEY, &hash).await?;
            if stored.is_some() {
                tracing::info!("the admin token was replaced by the configured one");
            }
        }
        return Ok(hash);
    }
    if let Some(hash) = stored {
        return Ok(hash);
    }
    let token = format!("fxa_{}", random_hex(24));
    let hash = sha256_hex(&token);
    // Nodes starting together on one database: one token wins, and only its node shows it.
    let kept = store.claim_meta(ADMIN_HASH_KEY, &hash).await?;
    if kept == hash {
        boot.admin_token = Some(token);
    }
    Ok(kept)
}

/// Creates the demo corp once, on the first start, unless disabled.
pub async fn demo(
    store: &dyn Store,
    enabled: bool,
    now: i64,
    boot: &mut Bootstrap,
) -> Result<(), NativeError> {
    if store.meta(INITIALIZED_KEY).await?.is_some() {
        return Ok(());
    }
    if enabled && store.list_corps().await?.is_empty() {
        let plan = directory::TenantPlan {
            name: "Demo Corp",
            ea: "demo",
            sandbox: false,
            app: "Demo App",
            service_account: "Demo Notices",
            employees: DEMO_EMPLOYEES
                .iter()
                .zip(1000..)
                .map(
                    |(&(name, position, gender, departments, leader), number)| NewEmployee {
                        name: name.into(),
                        user_id: Some(number.to_string()),
                        mobile: Some(format!("138{number:08}")),
                        email: Some(format!(
                            "{}@demo.example",
                            name.to_lowercase().replace(' ', ".")
                        )),
                        gender: Some(gender.into()),
                        position: Some(position.into()),
                        department_ids: departments.to_vec(),
                        leader_id: leader.map(String::from),
                        ..NewEmployee::default()
                    },
                )
                .collect(),
            departments: DEMO_DEPARTMENTS
                .iter()
                .map(|&(id, name, parent)| NewDepartment {
                    id: Some(id),
                    name: name.into(),
                    parent_id: parent,
                    principal_id: match id {
                        1 => Some("1000".into()),
                        3 => Some("1002".into()),
                        _ => None,
                    },
                    ..NewDepartment::default()
                })
                .collect(),
        };
        match directory::create_tenant(store, plan, now).await {
            Ok(demo) => boot.demo = Some(demo),
            // Another node starting on the same database made it a moment ago.
            Err(_) if demo_exists(store).await? => {}
            Err(e) => return Err(e),
        }
    }
    store.set_meta(INITIALIZED_KEY, &now.to_string()).await?;
    Ok(())
}

async fn demo_exists(store: &dyn Store) -> Result<bool, NativeError> {
    Ok(store.list_corps().await?.iter().any(|c| c.ea == "demo"))
}

/// The token key of a database that several nodes share: kept in it, made by the first node
/// that starts. Whoever can read the database can then derive live tokens from their stored
/// nonces, as with `token.key` next to an SQLite database.
pub async fn shared_token_key(store: &dyn Store) -> Result<TokenKey, NativeError> {
    let text = store.claim_meta(TOKEN_KEY, &random_hex(32)).await?;
    key_from_hex(&text).ok_or_else(|| NativeError {
        status: axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        code: "internal",
        message: format!("the stored {TOKEN_KEY} is not a 32-byte hex key"),
    })
}

/// Reads the token key from `path`, creating it (owner-only) on first start.
pub fn token_key(path: &Path) -> std::io::Result<TokenKey> {
    match std::fs::read_to_string(path) {
        Ok(text) => key_from_hex(text.trim()).ok_or_else(|| {
            std::io::Error::other(format!("{} is not a 32-byte hex key", path.display()))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let text = random_hex(32);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(path)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            Ok(key_from_hex(&text).expect("a fresh key is valid hex"))
        }
        Err(e) => Err(e),
    }
}

fn key_from_hex(text: &str) -> Option<TokenKey> {
    let bytes = (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()?;
    (bytes.len() >= 32).then(|| TokenKey::new(bytes))
}
