//! How client commands find the server and the app's credentials: flags, then `FXMSG_*` env vars
//! (clap merges those two), then a profile file, then defaults. Also the shared exit-code mapping
//! and output helper.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use fxmsg_client::{AuthStyle, Client, Credentials, Error};
use serde::Deserialize;
use serde_json::Value;

use crate::exit;

/// Base URL when neither a flag, the environment nor a profile names one.
const DEFAULT_URL: &str = "http://127.0.0.1:8080";

/// Connection flags of every client command.
#[derive(Debug, Args)]
#[command(next_help_heading = "Connection")]
pub struct Connection {
    /// Base URL: an fxmsg address or `https://open.fxiaoke.com`.
    #[arg(
        long,
        env = "FXMSG_URL",
        global = true,
        help = "Base URL: an fxmsg address or https://open.fxiaoke.com"
    )]
    pub url: Option<String>,
    /// App id (FSAID_…).
    #[arg(long, env = "FXMSG_APP_ID", global = true)]
    pub app_id: Option<String>,
    /// App secret.
    #[arg(long, env = "FXMSG_APP_SECRET", hide_env_values = true, global = true)]
    pub app_secret: Option<String>,
    /// Permanent code.
    #[arg(
        long,
        env = "FXMSG_PERMANENT_CODE",
        hide_env_values = true,
        global = true
    )]
    pub permanent_code: Option<String>,
    /// Auth style.
    #[arg(long, env = "FXMSG_AUTH_STYLE", value_enum, global = true)]
    pub auth_style: Option<Style>,
    /// Profile to read from the profile file.
    #[arg(long, env = "FXMSG_PROFILE", default_value = "default", global = true)]
    pub profile: String,
    /// Profile file (default: $XDG_CONFIG_HOME/fxmsg/profiles.toml or ~/.config/fxmsg/profiles.toml).
    #[arg(long, env = "FXMSG_PROFILE_FILE", global = true)]
    pub profile_file: Option<PathBuf>,
}

/// `--auth-style`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Style {
    /// `authorization: Bearer` + `x-fs-ea` headers.
    Bearer,
    /// `corpAccessToken` + `corpId` in the body.
    Legacy,
}

/// One `[name]` table of the profile file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Profile {
    url: Option<String>,
    app_id: Option<String>,
    app_secret: Option<String>,
    permanent_code: Option<String>,
    auth_style: Option<Style>,
}

/// A command failure and the exit code it maps to.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    /// A mistake in flags or local input: nothing was sent.
    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            code: exit::USAGE,
            message: message.into(),
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let code = match &e {
            Error::Invalid(_) | Error::Io(_) | Error::Config(_) => exit::USAGE,
            Error::Api { .. } | Error::Native { .. } => exit::API,
            Error::Transport(_) | Error::Decode(_) => exit::TRANSPORT,
        };
        Failure {
            code,
            message: e.to_string(),
        }
    }
}

/// Prints the result or the one-line error and returns the exit code.
pub fn finish(result: Result<(Value, String), Failure>, json: bool) -> ExitCode {
    match result {
        Ok((value, text)) => {
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&value).unwrap_or_default()
                );
            } else {
                println!("{text}");
            }
            ExitCode::SUCCESS
        }
        Err(failure) => {
            eprintln!("fxmsg: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

impl Connection {
    /// Builds the SDK client, or says which setting is missing.
    pub fn client(&self) -> Result<Client, Failure> {
        let profile = self.load_profile()?;
        let pick = |flag: &Option<String>, from_profile: &Option<String>, name: &str, env: &str| {
            flag.clone()
                .or_else(|| from_profile.clone())
                .ok_or_else(|| {
                    Failure::usage(format!(
                        "missing --{name}: pass it, set {env}, or put {} in profile '{}'",
                        name.replace('-', "_"),
                        self.profile
                    ))
                })
        };
        let credentials = Credentials::new(
            pick(&self.app_id, &profile.app_id, "app-id", "FXMSG_APP_ID")?,
            pick(
                &self.app_secret,
                &profile.app_secret,
                "app-secret",
                "FXMSG_APP_SECRET",
            )?,
            pick(
                &self.permanent_code,
                &profile.permanent_code,
                "permanent-code",
                "FXMSG_PERMANENT_CODE",
            )?,
        );
        let url = self
            .url
            .clone()
            .or(profile.url)
            .unwrap_or_else(|| DEFAULT_URL.into());
        let style = match self
            .auth_style
            .or(profile.auth_style)
            .unwrap_or(Style::Bearer)
        {
            Style::Bearer => AuthStyle::Bearer,
            Style::Legacy => AuthStyle::Legacy,
        };
        Ok(Client::builder(url)
            .credentials(credentials)
            .auth_style(style)
            .build()?)
    }

    fn load_profile(&self) -> Result<Profile, Failure> {
        let (path, explicit) = match &self.profile_file {
            Some(path) => (path.clone(), true),
            None => match default_profile_file() {
                Some(path) => (path, self.profile != "default"),
                None => return Ok(Profile::default()),
            },
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
                return Ok(Profile::default())
            }
            Err(e) => {
                return Err(Failure::usage(format!(
                    "cannot read profile file {}: {e}",
                    path.display()
                )))
            }
        };
        parse_profile(&text, &self.profile, &path, explicit)
    }
}

fn parse_profile(text: &str, name: &str, path: &Path, required: bool) -> Result<Profile, Failure> {
    let mut profiles: std::collections::BTreeMap<String, Profile> = toml::from_str(text)
        .map_err(|e| Failure::usage(format!("profile file {}: {e}", path.display())))?;
    match profiles.remove(name) {
        Some(profile) => Ok(profile),
        None if required => Err(Failure::usage(format!(
            "no profile '{name}' in {}",
            path.display()
        ))),
        None => Ok(Profile::default()),
    }
}

fn default_profile_file() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))?;
    Some(base.join("fxmsg").join("profiles.toml"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_are_read_by_name_and_unknown_keys_are_refused() {
        let text = "[default]\nurl = \"http://a\"\napp_id = \"FSAID_1\"\n\n[ci]\nauth_style = \"legacy\"\n";
        let path = Path::new("p.toml");
        assert_eq!(
            parse_profile(text, "default", path, false)
                .unwrap()
                .url
                .as_deref(),
            Some("http://a")
        );
        assert_eq!(
            parse_profile(text, "ci", path, true).unwrap().auth_style,
            Some(Style::Legacy)
        );
        assert!(parse_profile(text, "missing", path, true).is_err());
        assert!(parse_profile(text, "missing", path, false).is_ok());
        assert!(parse_profile("[default]\nappid = \"x\"\n", "default", path, false).is_err());
    }
}
