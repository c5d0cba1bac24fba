//! The command line, parsed once into rich types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use fxmsg_server::Config;
use fxmsg_server::LogFormat;

use crate::connection::Connection;

/// fxmsg: a self-hosted Fxiaoke-compatible message platform.
#[derive(Debug, Parser)]
#[command(name = "fxmsg", version, about)]
pub struct Cli {
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (zero configuration: ./fxmsg-data, 127.0.0.1:8080).
    Serve(ServeArgs),
    /// Manage corps, apps, employees and service accounts of a running server.
    Admin(AdminArgs),
    /// Send a message (text, composite or articles).
    Send(SendArgs),
    /// Upload, download or delete media.
    Media(MediaArgs),
    /// Revoke a message.
    Revoke(RevokeArgs),
    /// Print a current access token.
    Token(TokenArgs),
}

/// `fxmsg send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// Server and credentials.
    #[command(flatten)]
    pub connection: Connection,
    /// What to send.
    #[command(subcommand)]
    pub kind: SendKind,
}

/// Flags every send takes.
#[derive(Debug, Args)]
pub struct Common {
    /// Recipient: an employee number or FSUID_… (repeat, or separate with commas).
    #[arg(long = "to", value_delimiter = ',')]
    pub to: Vec<String>,
    /// Send as this service account (FSAID_…).
    #[arg(long)]
    pub service: Option<String>,
    /// Read the whole request body from a JSON file (Fxiaoke shape); --to and --service override.
    #[arg(long)]
    pub file: Option<PathBuf>,
}

/// `fxmsg send …` message types.
#[derive(Debug, Subcommand)]
pub enum SendKind {
    /// A text message.
    Text {
        /// Recipients and sender.
        #[command(flatten)]
        common: Common,
        /// The text.
        content: Option<String>,
    },
    /// A composite card.
    Composite {
        /// Recipients and sender.
        #[command(flatten)]
        common: Common,
        /// Header title.
        #[arg(long)]
        title: Option<String>,
        /// Content title.
        #[arg(long)]
        first: Option<String>,
        /// A row, LABEL=VALUE (repeat for more rows).
        #[arg(long = "row")]
        rows: Vec<String>,
        /// Summary.
        #[arg(long)]
        remark: Option<String>,
        /// Click-through title.
        #[arg(long)]
        link_title: Option<String>,
        /// Click-through URL (http, https or fs://).
        #[arg(long)]
        link_url: Option<String>,
    },
    /// 1..7 image-text articles.
    Articles {
        /// Recipients and sender.
        #[command(flatten)]
        common: Common,
        /// Articles to send (see `--help`).
        #[arg(
            long = "article",
            help = "An article: title=…,cover=MEDIA_ID or cover=@image.png,url=… or text=…, optionally ,author=… ,description=… (repeat for more articles; use --file for values containing commas)"
        )]
        articles: Vec<String>,
    },
}

/// `fxmsg media`.
#[derive(Debug, Args)]
pub struct MediaArgs {
    /// Server and credentials.
    #[command(flatten)]
    pub connection: Connection,
    /// What to do.
    #[command(subcommand)]
    pub command: MediaCommand,
}

/// Where an upload goes.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum UploadKind {
    /// /media/upload/message: a message cover image (≤ 5 MB).
    Message,
    /// /media/upload?type=image (≤ 5 MB).
    Image,
    /// /media/upload?type=document (≤ 20 MB).
    Document,
}

/// `fxmsg media …`
#[derive(Debug, Subcommand)]
pub enum MediaCommand {
    /// Upload files; prints one mediaId per file.
    Upload {
        /// Kind of upload.
        #[arg(long, value_enum, default_value_t = UploadKind::Message)]
        kind: UploadKind,
        /// Files to upload.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Download a file.
    Download {
        /// The mediaId.
        media_id: String,
        /// Where to write it (default: ./MEDIA_ID).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Delete a file.
    Delete {
        /// The mediaId.
        media_id: String,
    },
}

/// `fxmsg revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// Server and credentials.
    #[command(flatten)]
    pub connection: Connection,
    /// Service account that revokes (FSAID_…).
    #[arg(long)]
    pub service: String,
    /// The messageId returned by the send.
    pub message_id: String,
}

/// `fxmsg token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Server and credentials.
    #[command(flatten)]
    pub connection: Connection,
}

/// `fxmsg serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Server settings.
    #[command(flatten)]
    pub config: Config,
    /// Log format on stderr.
    #[arg(long, env = "FXMSG_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// `fxmsg admin`.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// Base URL of the fxmsg server.
    #[arg(long, env = "FXMSG_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Admin token (printed by the server's first start, or set with FXMSG_ADMIN_TOKEN).
    #[arg(long, env = "FXMSG_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: String,
    /// What to manage.
    #[command(subcommand)]
    pub command: AdminCommand,
}

/// `fxmsg admin …` resources.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Corps (tenants).
    #[command(subcommand)]
    Corp(CorpCommand),
    /// Apps of a corp.
    #[command(subcommand)]
    App(AppCommand),
    /// Employees of a corp.
    #[command(subcommand)]
    Employee(EmployeeCommand),
    /// Service accounts of a corp.
    #[command(subcommand)]
    Service(ServiceCommand),
}

/// `fxmsg admin corp …`
#[derive(Debug, Subcommand)]
pub enum CorpCommand {
    /// Create a corp.
    Create {
        /// Display name.
        #[arg(long)]
        name: String,
        /// Enterprise account (the x-fs-ea header value).
        #[arg(long)]
        ea: String,
    },
    /// List corps.
    List,
}

/// `fxmsg admin app …`
#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Create an app; its secrets are printed once.
    Create {
        /// Corp id (FSCID_…).
        #[arg(long)]
        corp: String,
        /// Display name.
        #[arg(long)]
        name: String,
    },
    /// List a corp's apps.
    List {
        /// Corp id.
        #[arg(long)]
        corp: String,
    },
    /// Enable an app.
    Enable(AppRef),
    /// Disable an app (its calls get 20021).
    Disable(AppRef),
}

/// One app of a corp.
#[derive(Debug, Args)]
pub struct AppRef {
    /// Corp id.
    #[arg(long)]
    pub corp: String,
    /// App id (FSAID_…).
    pub app: String,
}

/// `fxmsg admin employee …`
#[derive(Debug, Subcommand)]
pub enum EmployeeCommand {
    /// Create an active employee.
    Create {
        /// Corp id.
        #[arg(long)]
        corp: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Employee number; the next free one from 1000 when omitted.
        #[arg(long)]
        user_id: Option<String>,
    },
    /// List a corp's employees.
    List {
        /// Corp id.
        #[arg(long)]
        corp: String,
    },
    /// Stop an employee: no more deliveries.
    Stop(EmployeeRef),
    /// Re-activate an employee.
    Activate(EmployeeRef),
}

/// One employee of a corp.
#[derive(Debug, Args)]
pub struct EmployeeRef {
    /// Corp id.
    #[arg(long)]
    pub corp: String,
    /// Open user id (FSUID_…).
    pub open_user_id: String,
}

/// `fxmsg admin service …`
#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Create a service account.
    Create {
        /// Corp id.
        #[arg(long)]
        corp: String,
        /// Display name.
        #[arg(long)]
        name: String,
    },
    /// List a corp's service accounts.
    List {
        /// Corp id.
        #[arg(long)]
        corp: String,
    },
}
