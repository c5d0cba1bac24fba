//! The command line, parsed once into rich types.

use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use clap_complete::Shell;
use fxmsg_server::Config;
use fxmsg_server::LogFormat;

use crate::connection::Connection;

/// fxmsg: a self-hosted Fxiaoke-compatible message platform.
#[derive(Debug, Parser)]
#[command(
    name = "fxmsg",
    version,
    about,
    arg_required_else_help = true,
    after_help = "Examples:
  fxmsg serve                                   start on 127.0.0.1:8080, data in ./fxmsg-data
  fxmsg send text --to 1000 \"Deploy finished\"  send with the credentials in FXMSG_* variables
  fxmsg admin corp list                         list corps (needs FXMSG_ADMIN_TOKEN)
  fxmsg completions bash > ~/.local/share/bash-completion/completions/fxmsg"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses the process's arguments; on a mistake prints clap's full error (which names the
    /// argument, and suggests a close match) and exits with 2, on `--help` prints and exits 0.
    pub fn parse_args() -> Cli {
        let mut matches = command().get_matches();
        Cli::from_arg_matches_mut(&mut matches).unwrap_or_else(|e| e.exit())
    }
}

/// The command tree as parsed and as shown by `--help`: every option that must be given says
/// so in its help line, which clap by itself only shows in the usage line.
pub fn command() -> clap::Command {
    fn mark_required(command: clap::Command) -> clap::Command {
        command
            .mut_args(|arg| {
                if !arg.is_required_set() || arg.get_long().is_none() {
                    return arg;
                }
                let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
                arg.help(format!("{help} [required]"))
            })
            .mut_subcommands(mark_required)
    }
    mark_required(Cli::command())
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (zero configuration: ./fxmsg-data, 127.0.0.1:8080).
    #[command(after_help = "Examples:
  fxmsg serve                                       127.0.0.1:8080, data in ./fxmsg-data
  fxmsg serve --listen :8080 --data-dir /var/lib/fxmsg   every interface
  fxmsg serve --listen 127.0.0.1:0                  a free port (the banner shows it)
  FXMSG_ADMIN_TOKEN=admin-secret fxmsg serve        choose the admin token (kept for later starts)")]
    Serve(ServeArgs),
    /// Manage corps, apps, employees and service accounts of a running server.
    #[command(after_help = "Examples:
  export FXMSG_ADMIN_TOKEN=…                       printed at the server's first start
  fxmsg admin corp create --name Acme --ea acme
  fxmsg admin employee create --corp FSCID_… --name \"Li Lei\"
  fxmsg admin --json corp list")]
    Admin(AdminArgs),
    /// Send a message (text, composite or articles).
    #[command(after_help = "Examples:
  fxmsg send text --to 1000,1001 \"Deploy finished\"
  fxmsg send composite --to 1000 --title Report --row Sales=42 --link-title Details --link-url https://example.com
  fxmsg send articles --to 1000 --article \"title=Release 1.2,cover=@cover.png,url=https://example.com\"
  fxmsg send text --file body.json")]
    Send(SendArgs),
    /// Upload, download or delete media.
    #[command(after_help = "Examples:
  fxmsg media upload cover.png banner.png           prints one mediaId per file
  fxmsg media download MEDIA_ID -o cover.png
  fxmsg media delete MEDIA_ID")]
    Media(MediaArgs),
    /// Revoke a message.
    #[command(after_help = "Examples:
  fxmsg revoke --service FSAID_… MESSAGE_ID")]
    Revoke(RevokeArgs),
    /// Look employees up in the corp's address book, as integrations do before they send.
    #[command(after_help = "Examples:
  fxmsg users                                   everyone (department 0 and all below it)
  fxmsg users --mobile 13800001000              who has this mobile number
  fxmsg users --department 1                    department 1's own employees
  fxmsg users --department 1 --fetch-child      and those of every department below it
  fxmsg users --user FSUID_… --json")]
    Users(UsersArgs),
    /// List the corp's departments.
    #[command(after_help = "Examples:
  fxmsg departments
  fxmsg departments --json")]
    Departments(DepartmentsArgs),
    /// Print a current access token.
    #[command(after_help = "Examples:
  fxmsg token
  curl -H \"authorization: Bearer $(fxmsg token)\" …")]
    Token(TokenArgs),
    /// Print events (sends, revokes, reads) live as they commit; needs the admin token.
    #[command(after_help = "Examples:
  fxmsg events                                   every corp's events, live
  fxmsg events --corp FSCID_… --since 120         one corp's, replaying after event 120
  fxmsg events --json --count 1                  wait for the next event, print it as JSON, exit")]
    Events(EventsArgs),
    /// Wait until a matching message is committed (exit 0), or give up (exit 5).
    #[command(after_help = "Examples:
  fxmsg wait --to 1000 --corp FSCID_… --text \"Build 512\"
  fxmsg wait --type articles --timeout 120 --json")]
    Wait(WaitArgs),
    /// Copy a data directory, consistently, while its server runs (restore: serve the copy).
    #[command(after_help = "Examples:
  fxmsg backup /backups/fxmsg-2026-12-03          copy ./fxmsg-data
  fxmsg backup --data-dir /var/lib/fxmsg /backups/today
  fxmsg serve --data-dir /backups/today          restore: start on the copy")]
    Backup(BackupArgs),
    /// Print a shell completion script.
    #[command(after_help = "Examples:
  fxmsg completions bash > ~/.local/share/bash-completion/completions/fxmsg
  fxmsg completions zsh > \"${fpath[1]}/_fxmsg\"
  fxmsg completions fish > ~/.config/fish/completions/fxmsg.fish")]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: Shell,
    },
}

/// `fxmsg backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The data directory to copy (the one `fxmsg serve` uses).
    #[arg(long, env = "FXMSG_DATA_DIR", default_value = "./fxmsg-data")]
    pub data_dir: PathBuf,
    /// A new directory for the copy.
    pub dest: PathBuf,
    /// Output.
    #[command(flatten)]
    pub output: Output,
}

/// `fxmsg events`.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Server and admin token.
    #[command(flatten)]
    pub server: AdminConnection,
    /// Output.
    #[command(flatten)]
    pub output: Output,
    /// Only this corp's events (ids are then the corp's sequence).
    #[arg(long)]
    pub corp: Option<String>,
    /// Replay the events after this id first.
    #[arg(long)]
    pub since: Option<i64>,
    /// Exit after this many events.
    #[arg(long)]
    pub count: Option<u64>,
}

/// `fxmsg wait`.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Server and admin token.
    #[command(flatten)]
    pub server: AdminConnection,
    /// Output.
    #[command(flatten)]
    pub output: Output,
    /// Sending corp (needed to name a recipient by employee number).
    #[arg(long)]
    pub corp: Option<String>,
    /// Sending app.
    #[arg(long)]
    pub app: Option<String>,
    /// A recipient: FSUID_…, or an employee number with --corp.
    #[arg(long)]
    pub to: Option<String>,
    /// Message type.
    #[arg(long = "type", value_parser = ["text", "composite", "articles"])]
    pub msg_type: Option<String>,
    /// Text the content contains.
    #[arg(long)]
    pub text: Option<String>,
    /// Seconds to wait.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
}

/// How client commands print.
#[derive(Debug, Args)]
#[command(next_help_heading = "Output")]
pub struct Output {
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

/// `fxmsg send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// Server and credentials.
    #[command(flatten)]
    pub connection: Connection,
    /// Output.
    #[command(flatten)]
    pub output: Output,
    /// What to send.
    #[command(subcommand)]
    pub kind: SendKind,
}

/// Flags every send takes.
#[derive(Debug, Args)]
pub struct Common {
    /// Recipient: an employee number or FSUID_… (repeat, or separate with commas).
    #[arg(
        long = "to",
        value_delimiter = ',',
        required_unless_present = "file",
        help = "Recipient: an employee number or FSUID_… (repeat, or separate with commas) [required unless --file]"
    )]
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
    #[command(after_help = "Examples:
  fxmsg send text --to 1000,1001 \"Deploy finished\"
  fxmsg send text --to FSUID_… --service FSAID_… \"From the service account\"
  fxmsg send text --file body.json              a whole Fxiaoke request body")]
    Text {
        /// Recipients and sender.
        #[command(flatten)]
        common: Common,
        /// The text.
        content: Option<String>,
    },
    /// A composite card.
    #[command(after_help = "Examples:
  fxmsg send composite --to 1000 --title \"Daily report\" --row Sales=42 --row Leads=7 \\
    --link-title Details --link-url https://example.com/report")]
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
    #[command(after_help = "Examples:
  fxmsg send articles --to 1000 --article \"title=Release 1.2,cover=@cover.png,url=https://example.com/1.2\"
  fxmsg send articles --to 1000 --article \"title=Notice,cover=MEDIA_ID,text=Body text\"")]
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
    /// Output.
    #[command(flatten)]
    pub output: Output,
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
    #[command(after_help = "Examples:
  fxmsg media upload cover.png banner.png
  MEDIA_ID=$(fxmsg media upload cover.png | cut -d' ' -f1)
  fxmsg media upload --kind document report.pdf")]
    Upload {
        /// Kind of upload.
        #[arg(long, value_enum, default_value_t = UploadKind::Message)]
        kind: UploadKind,
        /// Files to upload.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Download a file.
    #[command(after_help = "Examples:
  fxmsg media download MEDIA_ID -o cover.png")]
    Download {
        /// The mediaId.
        media_id: String,
        /// Where to write it (default: ./MEDIA_ID).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Delete a file.
    #[command(after_help = "Examples:
  fxmsg media delete MEDIA_ID")]
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
    /// Output.
    #[command(flatten)]
    pub output: Output,
    /// Service account that revokes (FSAID_…).
    #[arg(long)]
    pub service: String,
    /// The messageId returned by the send.
    pub message_id: String,
}

/// `fxmsg users`.
#[derive(Debug, Args)]
pub struct UsersArgs {
    /// Server and credentials.
    #[command(flatten)]
    pub connection: Connection,
    /// Output.
    #[command(flatten)]
    pub output: Output,
    /// The employees with this mobile number (`/cgi/user/getByMobile`).
    #[arg(long, conflicts_with_all = ["user", "department", "fetch_child"])]
    pub mobile: Option<String>,
    /// One employee by FSUID_… (`/cgi/user/get`).
    #[arg(long, conflicts_with_all = ["department", "fetch_child"])]
    pub user: Option<String>,
    /// A department's employees (`/cgi/user/list`); everyone when neither this nor
    /// --mobile or --user is given.
    #[arg(long)]
    pub department: Option<i64>,
    /// With --department: also the employees of every department below it.
    #[arg(long)]
    pub fetch_child: bool,
}

/// `fxmsg departments`.
#[derive(Debug, Args)]
pub struct DepartmentsArgs {
    /// Server and credentials.
    #[command(flatten)]
    pub connection: Connection,
    /// Output.
    #[command(flatten)]
    pub output: Output,
}

/// `fxmsg token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Server and credentials.
    #[command(flatten)]
    pub connection: Connection,
    /// Output.
    #[command(flatten)]
    pub output: Output,
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
    /// Print one JSON line on stdout instead of the banner, once listening: url, listen address,
    /// data directory, the admin token (when generated by this start or given) and the demo's
    /// credentials (on the start that created it). For harnesses that start fxmsg on port 0.
    #[arg(long)]
    pub json: bool,
}

/// `fxmsg admin`.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// Server and admin token.
    #[command(flatten)]
    pub server: AdminConnection,
    /// Output.
    #[command(flatten)]
    pub output: Output,
    /// What to manage.
    #[command(subcommand)]
    pub command: AdminCommand,
}

/// Where `fxmsg admin` finds the server.
#[derive(Debug, Args)]
#[command(next_help_heading = "Connection")]
pub struct AdminConnection {
    /// Base URL of the fxmsg server.
    #[arg(
        long,
        env = "FXMSG_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub url: String,
    /// Admin token, printed at the server's first start or chosen with FXMSG_ADMIN_TOKEN.
    #[arg(
        long,
        env = "FXMSG_ADMIN_TOKEN",
        hide_env_values = true,
        global = true,
        help = "Admin token, printed at the server's first start or chosen with FXMSG_ADMIN_TOKEN [required]"
    )]
    pub admin_token: Option<String>,
}

/// `fxmsg admin …` resources.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Corps (tenants).
    #[command(
        subcommand,
        after_help = "Examples:
  fxmsg admin corp create --name Acme --ea acme
  fxmsg admin corp list"
    )]
    Corp(CorpCommand),
    /// Apps of a corp.
    #[command(
        subcommand,
        after_help = "Examples:
  fxmsg admin app create --corp FSCID_… --name \"CI bot\"
  fxmsg admin app disable --corp FSCID_… FSAID_…"
    )]
    App(AppCommand),
    /// Employees of a corp.
    #[command(
        subcommand,
        after_help = "Examples:
  fxmsg admin employee create --corp FSCID_… --name \"Li Lei\"
  fxmsg admin employee stop --corp FSCID_… 1005"
    )]
    Employee(EmployeeCommand),
    /// Service accounts of a corp.
    #[command(
        subcommand,
        after_help = "Examples:
  fxmsg admin service create --corp FSCID_… --name \"Release notes\"
  fxmsg admin service list --corp FSCID_…"
    )]
    Service(ServiceCommand),
    /// Departments of a corp's address book.
    #[command(
        subcommand,
        after_help = "Examples:
  fxmsg admin department create --corp FSCID_… --name Sales
  fxmsg admin department create --corp FSCID_… --name \"Sales East\" --parent 1
  fxmsg admin department update --corp FSCID_… 2 --stop"
    )]
    Department(DepartmentCommand),
    /// Load a whole address book from a JSON or CSV file (as `export` writes it): departments
    /// by id, employees by number; all or nothing, and a second run changes nothing.
    #[command(after_help = "Examples:
  fxmsg admin import --corp FSCID_… directory.json
  fxmsg admin import --corp FSCID_… people.csv")]
    Import {
        /// Corp id.
        #[arg(long)]
        corp: String,
        /// The file: CSV if its name ends in .csv, else JSON.
        file: std::path::PathBuf,
    },
    /// Write a corp's whole address book as JSON (or CSV), as `import` reads it.
    #[command(after_help = "Examples:
  fxmsg admin export --corp FSCID_… > directory.json
  fxmsg admin export --corp FSCID_… --csv > people.csv")]
    Export {
        /// Corp id.
        #[arg(long)]
        corp: String,
        /// CSV instead of JSON.
        #[arg(long)]
        csv: bool,
    },
    /// Throwaway tenants for tests: a corp with an app, a service account and employees.
    #[command(
        subcommand,
        after_help = "Examples:
  fxmsg admin sandbox create --json --employees 5
  fxmsg admin sandbox delete FSCID_…"
    )]
    Sandbox(SandboxCommand),
    /// Delete the messages of one corp (or of all corps) with their inbox rows and events.
    #[command(after_help = "Examples:
  fxmsg admin reset --corp FSCID_…
  fxmsg admin reset --all")]
    Reset {
        /// Only this corp's messages.
        #[arg(long, required_unless_present = "all", conflicts_with = "all")]
        corp: Option<String>,
        /// Every corp's messages.
        #[arg(long)]
        all: bool,
    },
    /// The server's test clock (`fxmsg serve --test-clock`).
    #[command(
        subcommand,
        after_help = "Examples:
  fxmsg admin clock show
  fxmsg admin clock advance 7200
  fxmsg admin clock set 2027-01-01T00:00:00Z"
    )]
    Clock(ClockCommand),
    /// Planned faults on the Fxiaoke paths.
    #[command(
        subcommand,
        after_help = "Examples:
  fxmsg admin fault add '{\"path\":\"/cgi/message/send\",\"errorCode\":-1,\"times\":2}'
  fxmsg admin fault list
  fxmsg admin fault clear"
    )]
    Fault(FaultCommand),
}

/// `fxmsg admin department …`
#[derive(Debug, Subcommand)]
pub enum DepartmentCommand {
    /// Create a department.
    #[command(after_help = "Examples:
  fxmsg admin department create --corp FSCID_… --name Sales                 next free id
  fxmsg admin department create --corp FSCID_… --name Platform --id 40 --parent 3")]
    Create {
        /// Corp id.
        #[arg(long)]
        corp: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Id, 1..=2147483647; the next free one when omitted.
        #[arg(long)]
        id: Option<i64>,
        /// Parent department; 0, the corp itself, when omitted.
        #[arg(long, default_value_t = 0)]
        parent: i64,
        /// Position among its siblings; after the last when omitted.
        #[arg(long)]
        order: Option<i64>,
    },
    /// List a corp's departments.
    #[command(after_help = "Examples:
  fxmsg admin department list --corp FSCID_…")]
    List {
        /// Corp id.
        #[arg(long)]
        corp: String,
    },
    /// Rename, move, reorder, stop or restart a department.
    #[command(after_help = "Examples:
  fxmsg admin department update --corp FSCID_… 2 --name \"Sales North\" --parent 1
  fxmsg admin department update --corp FSCID_… 2 --stop")]
    Update {
        /// Corp id.
        #[arg(long)]
        corp: String,
        /// The department's id.
        id: i64,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// New parent.
        #[arg(long)]
        parent: Option<i64>,
        /// New position among its siblings.
        #[arg(long)]
        order: Option<i64>,
        /// Stop it (stays listed with isStop).
        #[arg(long, conflicts_with = "restart")]
        stop: bool,
        /// Restart a stopped one.
        #[arg(long)]
        restart: bool,
    },
}

/// `fxmsg admin sandbox …`
#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Create a sandbox and print every credential (once).
    #[command(after_help = "Examples:
  fxmsg admin sandbox create --json
  fxmsg admin sandbox create --json --employees 500 --ea ci-run-42")]
    Create {
        /// Generated employees, numbered from 1000 (0..=500).
        #[arg(long, default_value_t = 3)]
        employees: u32,
        /// Enterprise account (default: sandbox- and random hex).
        #[arg(long)]
        ea: Option<String>,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
    },
    /// Delete a sandbox with its messages, events, tokens and media files.
    #[command(after_help = "Examples:
  fxmsg admin sandbox delete FSCID_…")]
    Delete {
        /// The sandbox's corp id.
        corp: String,
    },
}

/// `fxmsg admin clock …`
#[derive(Debug, Subcommand)]
pub enum ClockCommand {
    /// Print the server's time.
    #[command(after_help = "Examples:
  fxmsg admin clock show")]
    Show,
    /// Move the clock forward.
    #[command(after_help = "Examples:
  fxmsg admin clock advance 7200          past a token's lifetime
  fxmsg admin clock advance 86400         past the thirdTraceId window")]
    Advance {
        /// Seconds.
        secs: i64,
    },
    /// Set the clock.
    #[command(after_help = "Examples:
  fxmsg admin clock set 2027-01-01T00:00:00+08:00
  fxmsg admin clock set 1798761600000")]
    Set {
        /// Unix milliseconds, an RFC 3339 time or a date.
        time: String,
    },
}

/// `fxmsg admin fault …`
#[derive(Debug, Subcommand)]
pub enum FaultCommand {
    /// Plan a fault, given as the JSON body of POST /api/v1/faults.
    #[command(after_help = "Examples:
  fxmsg admin fault add '{\"path\":\"/cgi/message/send\",\"httpStatus\":502,\"times\":2}'
  fxmsg admin fault add '{\"path\":\"/cgi/message/send\",\"cut\":\"afterCommit\"}'
  fxmsg admin fault add '{\"path\":\"/cgi/message/send\",\"delayMs\":[100,900],\"probability\":0.2,\"seed\":7,\"untilDeleted\":true}'")]
    Add {
        /// The fault, e.g. {"path":"/cgi/message/send","httpStatus":502,"probability":0.2,"seed":1,"untilDeleted":true}
        fault: String,
    },
    /// List the planned faults with how often each fired.
    #[command(after_help = "Examples:
  fxmsg admin fault list --json")]
    List,
    /// Remove one fault.
    #[command(after_help = "Examples:
  fxmsg admin fault delete 3")]
    Delete {
        /// Its id.
        id: u64,
    },
    /// Remove every fault.
    #[command(after_help = "Examples:
  fxmsg admin fault clear")]
    Clear,
}

/// `fxmsg admin corp …`
#[derive(Debug, Subcommand)]
pub enum CorpCommand {
    /// Create a corp.
    #[command(after_help = "Examples:
  fxmsg admin corp create --name Acme --ea acme")]
    Create {
        /// Display name.
        #[arg(long)]
        name: String,
        /// Enterprise account (the x-fs-ea header value).
        #[arg(long)]
        ea: String,
    },
    /// List corps.
    #[command(after_help = "Examples:
  fxmsg admin corp list
  fxmsg admin --json corp list")]
    List,
}

/// `fxmsg admin app …`
#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Create an app; its secrets are printed once.
    #[command(after_help = "Examples:
  fxmsg admin app create --corp FSCID_… --name \"CI bot\"")]
    Create {
        /// Corp id (FSCID_…).
        #[arg(long)]
        corp: String,
        /// Display name.
        #[arg(long)]
        name: String,
    },
    /// List a corp's apps.
    #[command(after_help = "Examples:
  fxmsg admin app list --corp FSCID_…")]
    List {
        /// Corp id.
        #[arg(long)]
        corp: String,
    },
    /// Enable an app.
    #[command(after_help = "Examples:
  fxmsg admin app enable --corp FSCID_… FSAID_…")]
    Enable(AppRef),
    /// Disable an app (its calls get 20021).
    #[command(after_help = "Examples:
  fxmsg admin app disable --corp FSCID_… FSAID_…")]
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
    #[command(after_help = "Examples:
  fxmsg admin employee create --corp FSCID_… --name \"Li Lei\"            next free number from 1000
  fxmsg admin employee create --corp FSCID_… --name \"Han Meimei\" --user-id 2001")]
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
        /// Mobile number.
        #[arg(long)]
        mobile: Option<String>,
        /// Department id (repeat for more; the first is the main one).
        #[arg(long = "department")]
        departments: Vec<i64>,
        /// Job title.
        #[arg(long)]
        position: Option<String>,
    },
    /// List a corp's employees.
    #[command(after_help = "Examples:
  fxmsg admin employee list --corp FSCID_…")]
    List {
        /// Corp id.
        #[arg(long)]
        corp: String,
    },
    /// Change an employee's address-book fields; an empty value clears one.
    #[command(after_help = "Examples:
  fxmsg admin employee update --corp FSCID_… 1005 --position \"Team lead\" --leader 1000
  fxmsg admin employee update --corp FSCID_… 1005 --department 2 --department 4
  fxmsg admin employee update --corp FSCID_… 1005 --mobile \"\"            clears the mobile")]
    Update {
        /// The employee.
        #[command(flatten)]
        employee: EmployeeRef,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        /// Mobile number.
        #[arg(long)]
        mobile: Option<String>,
        /// E-mail address.
        #[arg(long)]
        email: Option<String>,
        /// Job title.
        #[arg(long)]
        position: Option<String>,
        /// Nickname.
        #[arg(long)]
        nick_name: Option<String>,
        /// Login account.
        #[arg(long)]
        account: Option<String>,
        /// M or F.
        #[arg(long)]
        gender: Option<String>,
        /// The leader: an employee number or FSUID_….
        #[arg(long)]
        leader: Option<String>,
        /// Departments (repeat; the first is the main one): replaces the employee's departments.
        #[arg(long = "department")]
        departments: Vec<i64>,
    },
    /// Stop an employee: no more deliveries.
    #[command(after_help = "Examples:
  fxmsg admin employee stop --corp FSCID_… 1005
  fxmsg admin employee stop --corp FSCID_… FSUID_…")]
    Stop(EmployeeRef),
    /// Re-activate an employee.
    #[command(after_help = "Examples:
  fxmsg admin employee activate --corp FSCID_… 1005")]
    Activate(EmployeeRef),
    /// Issue an API token for the employee's own inbox, read receipts and stream (shown once).
    #[command(after_help = "Examples:
  fxmsg admin employee token --corp FSCID_… 1000
  curl -H \"authorization: Bearer fxe_…\" http://127.0.0.1:8080/api/v1/inbox")]
    Token(EmployeeRef),
    /// List the employee's tokens, login links and sessions (never their secrets).
    #[command(after_help = "Examples:
  fxmsg admin employee tokens --corp FSCID_… 1000")]
    Tokens(EmployeeRef),
    /// Revoke one of the employee's tokens, login links or sessions at once.
    #[command(after_help = "Examples:
  fxmsg admin employee revoke-token --corp FSCID_… 1000 fxc_…")]
    RevokeToken {
        /// The employee.
        #[command(flatten)]
        employee: EmployeeRef,
        /// The credential id (fxc_…), from `fxmsg admin employee tokens`.
        credential_id: String,
    },
    /// A one-time link, valid for 15 minutes, that signs the employee in to the web inbox.
    #[command(after_help = "Examples:
  fxmsg admin employee login-link --corp FSCID_… 1000")]
    LoginLink(EmployeeRef),
}

/// One employee of a corp.
#[derive(Debug, Args)]
pub struct EmployeeRef {
    /// Corp id.
    #[arg(long)]
    pub corp: String,
    /// The employee: an employee number or FSUID_….
    pub employee: String,
}

/// `fxmsg admin service …`
#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Create a service account.
    #[command(after_help = "Examples:
  fxmsg admin service create --corp FSCID_… --name \"Release notes\"")]
    Create {
        /// Corp id.
        #[arg(long)]
        corp: String,
        /// Display name.
        #[arg(long)]
        name: String,
    },
    /// List a corp's service accounts.
    #[command(after_help = "Examples:
  fxmsg admin service list --corp FSCID_…")]
    List {
        /// Corp id.
        #[arg(long)]
        corp: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command and subcommand, with its path from the root.
    fn all(command: &clap::Command, path: String, out: &mut Vec<(String, clap::Command)>) {
        out.push((path.clone(), command.clone()));
        for sub in command.get_subcommands() {
            all(sub, format!("{path} {}", sub.get_name()), out);
        }
    }

    #[test]
    fn the_command_tree_is_consistent() {
        command().debug_assert();
    }

    /// `--help` of every command ends with examples, and each example starts with `fxmsg`
    /// followed by the command's own path (or sets a variable first).
    #[test]
    fn every_command_has_examples_in_its_help() {
        let mut commands = Vec::new();
        all(&command(), "fxmsg".into(), &mut commands);
        assert!(commands.len() > 25, "{}", commands.len());
        for (path, command) in commands {
            if path.ends_with(" help") {
                continue;
            }
            let after = command
                .get_after_help()
                .map(ToString::to_string)
                .unwrap_or_default();
            assert!(after.starts_with("Examples:\n"), "{path} has no examples");
            let own = path.trim_start_matches("fxmsg").trim();
            let shown = after
                .lines()
                .skip(1)
                .any(|line| line.trim_start().starts_with(&format!("fxmsg {own}")));
            assert!(shown, "{path}: no example runs it:\n{after}");
        }
    }

    #[test]
    fn required_options_say_so_in_their_help() {
        let help = |args: &[&str]| {
            let mut command = command();
            let e = command
                .try_get_matches_from_mut(args.iter().copied())
                .unwrap_err();
            e.render().to_string()
        };
        let corp = help(&["fxmsg", "admin", "corp", "create", "--help"]);
        assert!(corp.contains("Display name [required]"), "{corp}");
        let revoke = help(&["fxmsg", "revoke", "--help"]);
        assert!(
            revoke.contains("[required]") && revoke.contains("Connection:"),
            "{revoke}"
        );
        let serve = help(&["fxmsg", "serve", "--help"]);
        let flag = |help: &str, flag: &str| {
            help.lines()
                .any(|l| l.trim_start().split([' ', '\t']).next() == Some(flag))
        };
        assert!(flag(&serve, "--listen"), "{serve}");
        // Client options stay off `serve`; its --json is its own start line.
        assert!(!flag(&serve, "--app-id"), "{serve}");
        assert!(serve.contains("one JSON line"), "{serve}");
    }
}
