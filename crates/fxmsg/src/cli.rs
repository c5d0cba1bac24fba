//! The command line, parsed once into rich types.

use clap::{Args, Parser, Subcommand, ValueEnum};
use fxmsg_server::Config;

/// fxmsg: a self-hosted Fxiaoke-compatible message platform.
#[derive(Debug, Parser)]
#[command(name = "fxmsg", version, about)]
pub struct Cli {
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

/// Log output format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
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
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
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
    Enable {
        /// Corp id.
        #[arg(long)]
        corp: String,
        /// App id (FSAID_…).
        app: String,
    },
    /// Disable an app (its calls get 20021).
    Disable {
        /// Corp id.
        #[arg(long)]
        corp: String,
        /// App id.
        app: String,
    },
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
    Stop {
        /// Corp id.
        #[arg(long)]
        corp: String,
        /// Open user id (FSUID_…).
        open_user_id: String,
    },
    /// Re-activate an employee.
    Activate {
        /// Corp id.
        #[arg(long)]
        corp: String,
        /// Open user id (FSUID_…).
        open_user_id: String,
    },
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
