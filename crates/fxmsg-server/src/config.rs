//! Server settings: one clap struct, every flag with an `FXMSG_*` env var, zero-config defaults.
//! Loading has no side effects; the data directory is only touched by [`crate::Server::build`].

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

/// `fxmsg serve` settings.
#[derive(Clone, clap::Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "FXMSG_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory for the SQLite database, the media files and the token key.
    #[arg(long, env = "FXMSG_DATA_DIR", default_value = "./fxmsg-data")]
    pub data_dir: PathBuf,
    /// Admin token for `/api/v1`. When unset, one is generated on first start and printed once.
    #[arg(long, env = "FXMSG_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Largest JSON request body, in bytes.
    #[arg(long, env = "FXMSG_JSON_BODY_LIMIT", default_value_t = 2 * 1024 * 1024)]
    pub json_body_limit: usize,
    /// Seconds a request may take before it is answered with 408.
    #[arg(long, env = "FXMSG_REQUEST_TIMEOUT", default_value_t = 60)]
    pub request_timeout_secs: u64,
    /// Do not create the demo corp on first start.
    #[arg(long, env = "FXMSG_NO_DEMO")]
    pub no_demo: bool,
    /// Seconds between passes that delete `thirdTraceId` keys older than their 24 h window.
    #[arg(long, env = "FXMSG_KEY_PRUNE_SECS", default_value_t = 60)]
    pub key_prune_secs: u64,
}

impl Config {
    /// Defaults with the given data directory and listen address; what tests start from.
    pub fn new(data_dir: impl Into<PathBuf>, listen: SocketAddr) -> Self {
        Config {
            listen,
            data_dir: data_dir.into(),
            admin_token: None,
            json_body_limit: 2 * 1024 * 1024,
            request_timeout_secs: 60,
            no_demo: false,
            key_prune_secs: 60,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field(
                "admin_token",
                &self.admin_token.as_ref().map(|_| "<redacted>"),
            )
            .field("json_body_limit", &self.json_body_limit)
            .field("request_timeout_secs", &self.request_timeout_secs)
            .field("no_demo", &self.no_demo)
            .field("key_prune_secs", &self.key_prune_secs)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_admin_token() {
        let mut config = Config::new("/tmp/x", "127.0.0.1:0".parse().unwrap());
        config.admin_token = Some("very-secret".into());
        assert!(!format!("{config:?}").contains("very-secret"));
    }
}
