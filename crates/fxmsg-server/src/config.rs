//! Server settings: one clap struct, every flag with an `FXMSG_*` env var, zero-config defaults.
//! Loading has no side effects; the data directory is only touched by [`crate::Server::build`].

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

/// `fxmsg serve` settings.
#[derive(Clone, clap::Args)]
pub struct Config {
    /// Address to listen on: HOST:PORT, an IPv6 address in brackets with its port, or :PORT.
    #[arg(
        long,
        env = "FXMSG_LISTEN",
        default_value = "127.0.0.1:8080",
        help = "Address to listen on: HOST:PORT (a name such as localhost is resolved), [IPv6]:PORT, or :PORT for every interface. Port 0 picks a free port; the banner shows it"
    )]
    pub listen: Listen,
    /// Directory for the SQLite database, the media files and the token key.
    #[arg(long, env = "FXMSG_DATA_DIR", default_value = "./fxmsg-data")]
    pub data_dir: PathBuf,
    /// Where the state is kept: sqlite:PATH, or postgres://USER:PASSWORD@HOST/DATABASE, which
    /// several fxmsg nodes can share. Default: fxmsg.db in the data directory. A URL holding a
    /// password is visible in `ps`: prefer FXMSG_DATABASE.
    #[arg(
        long,
        env = "FXMSG_DATABASE",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database: Option<crate::database::Database>,
    /// Where media bytes are kept: file:PATH, or s3://BUCKET/PREFIX on an S3-compatible service
    /// (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY). Default: media/ in the data
    /// directory.
    #[arg(long, env = "FXMSG_MEDIA", value_name = "URL")]
    pub media: Option<crate::objects::MediaLocation>,
    /// The S3-compatible service's URL for s3:// media (MinIO, moto, …); AWS when unset. Also
    /// read from AWS_ENDPOINT_URL.
    #[arg(long, env = "FXMSG_S3_ENDPOINT", value_name = "URL")]
    pub s3_endpoint: Option<String>,
    /// The bucket's region for s3:// media. Also read from AWS_REGION.
    #[arg(long, env = "FXMSG_S3_REGION")]
    pub s3_region: Option<String>,
    /// Admin token for `/api/v1`. When never set, one is generated at the first start and printed
    /// once; a token set here replaces it and stays in force for later starts without it.
    /// A flag's value is visible to every local user in `ps`; prefer FXMSG_ADMIN_TOKEN or
    /// --admin-token-file.
    #[arg(long, env = "FXMSG_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Read the admin token from this file (its first line), so it appears in no process list
    /// or environment.
    #[arg(long, env = "FXMSG_ADMIN_TOKEN_FILE", conflicts_with = "admin_token")]
    pub admin_token_file: Option<PathBuf>,
    /// Largest JSON request body, in bytes.
    #[arg(long, env = "FXMSG_JSON_BODY_LIMIT", default_value_t = 2 * 1024 * 1024)]
    pub json_body_limit: usize,
    /// Seconds a request may take before it is answered with 408.
    #[arg(long, env = "FXMSG_REQUEST_TIMEOUT", default_value_t = 60)]
    pub request_timeout_secs: u64,
    /// Seconds a client has to send a request's headers, and to send a JSON body once its
    /// reading starts; the longest an upload may pause between chunks; the longest an idle
    /// keep-alive connection stays open. Slow or stalled clients are cut off then instead of
    /// holding a connection and its buffers.
    #[arg(long, env = "FXMSG_READ_TIMEOUT", default_value_t = 10)]
    pub read_timeout_secs: u64,
    /// Connections served at once; more wait in the listen backlog. Default: what the open-file
    /// limit (raised to its hard limit) leaves after 256 descriptors for the database and media.
    #[arg(long, env = "FXMSG_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Seconds shutdown waits for requests in flight before closing the connections still open.
    #[arg(long, env = "FXMSG_SHUTDOWN_GRACE", default_value_t = 10)]
    pub shutdown_grace_secs: u64,
    /// Bytes of request bodies buffered in memory at once, across all requests: JSON bodies
    /// (their declared length) and uploads (3 MiB of streaming buffers each). A request that
    /// does not fit waits for room. Bounds memory whatever clients send.
    #[arg(long, env = "FXMSG_BODY_BUFFER_BUDGET", default_value_t = 64 * 1024 * 1024)]
    pub body_buffer_budget: usize,
    /// Bytes of live media each corp may hold; an upload that would pass it gets 30003. 0: no
    /// limit.
    #[arg(long, env = "FXMSG_MEDIA_QUOTA", default_value_t = 10 * 1024 * 1024 * 1024)]
    pub media_quota_bytes: u64,
    /// Days messages are kept: older ones are deleted with their inbox rows, and media older than
    /// that which no remaining message refers to, in small batches off the send path. 0: forever.
    #[arg(long, env = "FXMSG_RETAIN_MESSAGES_DAYS", default_value_t = 0)]
    pub retain_messages_days: u64,
    /// Do not create the demo corp on first start.
    #[arg(long, env = "FXMSG_NO_DEMO")]
    pub no_demo: bool,
    /// Seconds between pruning passes: `thirdTraceId` keys past their 24 h window, events past
    /// their retention.
    #[arg(long, env = "FXMSG_KEY_PRUNE_SECS", default_value_t = 60)]
    pub key_prune_secs: u64,
    /// Days events are kept for streams to resume from; a client resuming from before that gets
    /// `reset`.
    #[arg(long, env = "FXMSG_EVENT_RETENTION_DAYS", default_value_t = 7)]
    pub event_retention_days: u64,
    /// Committed events held in memory for live streams; a stream further behind (a slow reader)
    /// catches up from the database.
    #[arg(long, env = "FXMSG_EVENT_BUFFER", default_value_t = 8192)]
    pub event_buffer: usize,
    /// Run on a test clock that starts at the current time and moves only when told to, through
    /// `GET`/`POST /api/v1/clock`: token lifetimes, idempotency windows, event retention and rate
    /// limits all follow it. For integration tests only; without it the endpoint does not exist.
    #[arg(long, env = "FXMSG_TEST_CLOCK")]
    pub test_clock: bool,
    /// Enforce the platform's call limits, as the real gateway does: 100 calls per 20 s per API
    /// path per corp (30004), a daily quota per corp (30002) and 10 token calls a minute per app
    /// (30004). Off by default, so tests and demos are never throttled.
    #[arg(long, env = "FXMSG_RATE_LIMITS")]
    pub rate_limits: bool,
    /// Calls a corp may make per UTC day with --rate-limits.
    #[arg(long, env = "FXMSG_DAILY_QUOTA", default_value_t = 100_000)]
    pub daily_quota: u64,
}

impl Config {
    /// Defaults with the given data directory and listen address; what tests start from.
    pub fn new(data_dir: impl Into<PathBuf>, listen: Listen) -> Self {
        Config {
            listen,
            data_dir: data_dir.into(),
            database: None,
            media: None,
            s3_endpoint: None,
            s3_region: None,
            admin_token: None,
            admin_token_file: None,
            json_body_limit: 2 * 1024 * 1024,
            request_timeout_secs: 60,
            read_timeout_secs: 10,
            max_connections: None,
            shutdown_grace_secs: 10,
            body_buffer_budget: 64 * 1024 * 1024,
            media_quota_bytes: 10 * 1024 * 1024 * 1024,
            retain_messages_days: 0,
            no_demo: false,
            key_prune_secs: 60,
            event_retention_days: 7,
            event_buffer: 8192,
            test_clock: false,
            rate_limits: false,
            daily_quota: 100_000,
        }
    }
}

impl Config {
    /// The database setting, or its default in the data directory.
    pub fn database(&self) -> crate::database::Database {
        self.database
            .clone()
            .unwrap_or_else(|| crate::database::Database::in_data_dir(&self.data_dir))
    }

    /// The media setting, or its default in the data directory.
    pub fn media(&self) -> crate::objects::MediaLocation {
        self.media
            .clone()
            .unwrap_or_else(|| crate::objects::MediaLocation::in_data_dir(&self.data_dir))
    }

    /// How to reach the S3 service of s3:// media.
    pub fn s3(&self) -> crate::objects::S3Settings {
        crate::objects::S3Settings {
            endpoint: self.s3_endpoint.clone(),
            region: self.s3_region.clone(),
        }
    }

    /// The configured admin token: `admin_token`, else the first line of `admin_token_file`.
    pub fn configured_admin_token(&self) -> Result<Option<String>, crate::StartError> {
        if self.admin_token.is_some() {
            return Ok(self.admin_token.clone());
        }
        let Some(path) = &self.admin_token_file else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path).map_err(|source| crate::StartError::Path {
            path: path.clone(),
            source,
        })?;
        let token = text.lines().next().unwrap_or_default().trim();
        if token.is_empty() {
            return Err(crate::StartError::Path {
                path: path.clone(),
                source: std::io::Error::other("the admin token file is empty"),
            });
        }
        Ok(Some(token.to_owned()))
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("database", &self.database().to_string())
            .field("media", &self.media().to_string())
            .field("s3_endpoint", &self.s3_endpoint)
            .field("s3_region", &self.s3_region)
            .field(
                "admin_token",
                &self.admin_token.as_ref().map(|_| "<redacted>"),
            )
            .field("json_body_limit", &self.json_body_limit)
            .field("request_timeout_secs", &self.request_timeout_secs)
            .field("read_timeout_secs", &self.read_timeout_secs)
            .field("max_connections", &self.max_connections)
            .field("shutdown_grace_secs", &self.shutdown_grace_secs)
            .field("body_buffer_budget", &self.body_buffer_budget)
            .field("media_quota_bytes", &self.media_quota_bytes)
            .field("retain_messages_days", &self.retain_messages_days)
            .field("no_demo", &self.no_demo)
            .field("key_prune_secs", &self.key_prune_secs)
            .field("event_retention_days", &self.event_retention_days)
            .field("event_buffer", &self.event_buffer)
            .field("test_clock", &self.test_clock)
            .field("rate_limits", &self.rate_limits)
            .field("daily_quota", &self.daily_quota)
            .finish()
    }
}

/// Where to listen: a host (an IP address or a name to resolve) and a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listen {
    /// IP address or host name; empty means every interface.
    pub host: String,
    /// Port; 0 picks a free one.
    pub port: u16,
}

impl Listen {
    /// The `(host, port)` pair to bind, every interface for an empty host.
    pub fn bind_target(&self) -> (&str, u16) {
        let host = if self.host.is_empty() {
            "0.0.0.0"
        } else {
            &self.host
        };
        (host, self.port)
    }
}

impl FromStr for Listen {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let wrong = |why: &str| {
            format!("{why}; write HOST:PORT (127.0.0.1:8080, localhost:8080), [::1]:8080 or :8080")
        };
        let (host, port) = text.rsplit_once(':').ok_or_else(|| wrong("no port"))?;
        let port = port
            .parse::<u16>()
            .map_err(|_| wrong(&format!("port {port:?} is not a number 0..65535")))?;
        let host = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            Some(v6) => v6
                .parse::<std::net::Ipv6Addr>()
                .map(|_| v6)
                .map_err(|_| wrong(&format!("{v6:?} is not an IPv6 address")))?,
            None if host.contains(':') => {
                return Err(wrong("an IPv6 address needs brackets"));
            }
            None if host.contains(|c: char| c.is_whitespace() || c == '/') => {
                return Err(wrong(&format!("{host:?} is not a host name")));
            }
            None => host,
        };
        Ok(Listen {
            host: host.to_owned(),
            port,
        })
    }
}

impl From<SocketAddr> for Listen {
    fn from(addr: SocketAddr) -> Self {
        Listen {
            host: addr.ip().to_string(),
            port: addr.port(),
        }
    }
}

impl fmt::Display for Listen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses_take_names_ipv6_and_a_bare_port() {
        let parse = |s: &str| s.parse::<Listen>();
        let ok = |host: &str, port| Listen {
            host: host.into(),
            port,
        };
        assert_eq!(parse("127.0.0.1:8080"), Ok(ok("127.0.0.1", 8080)));
        assert_eq!(parse("localhost:8093"), Ok(ok("localhost", 8093)));
        assert_eq!(parse(":0"), Ok(ok("", 0)));
        assert_eq!(parse(":0").unwrap().bind_target(), ("0.0.0.0", 0));
        assert_eq!(parse("[::1]:65535"), Ok(ok("::1", 65535)));
        assert_eq!(parse("[::1]:65535").unwrap().to_string(), "[::1]:65535");
        for (bad, why) in [
            ("8080", "no port"),
            ("localhost:65536", "\"65536\" is not a number"),
            ("localhost:http", "\"http\" is not a number"),
            ("::1:80", "needs brackets"),
            ("[nope]:80", "not an IPv6 address"),
            ("a b:80", "not a host name"),
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains(why) && e.contains("HOST:PORT"), "{bad}: {e}");
        }
    }

    #[test]
    fn debug_output_never_shows_the_admin_token() {
        let mut config = Config::new("/tmp/x", "127.0.0.1:0".parse().unwrap());
        config.admin_token = Some("very-secret".into());
        assert!(!format!("{config:?}").contains("very-secret"));
    }
}
