//! The launchd agent: `~/Library/LaunchAgents/org.cmdai.daemon.plist`, loaded with
//! `launchctl`. Started at login (`RunAtLoad`) and kept alive only after a crash
//! (`KeepAlive` / `SuccessfulExit` false), so `cmdai daemon stop` stays stopped.

use std::path::PathBuf;

use super::{run, ServiceError, ServiceSpec};
use crate::paths;

pub const LABEL: &str = "org.cmdai.daemon";

pub fn plist_path() -> PathBuf {
    dirs::home_dir()
        .unwrap_or_default()
        .join("Library/LaunchAgents")
        .join(format!("{LABEL}.plist"))
}

pub fn render(spec: &ServiceSpec) -> String {
    let log = xml_escape(&spec.log.display().to_string());
    let mut env = String::new();
    for (key, value) in &spec.env {
        env += &format!(
            "\t\t<key>{}</key>\n\t\t<string>{}</string>\n",
            xml_escape(key),
            xml_escape(value)
        );
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \
         \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
         <!-- Written by `cmdai daemon install`; `cmdai daemon uninstall` removes it. -->\n\
         <plist version=\"1.0\">\n\
         <dict>\n\
         \t<key>Label</key>\n\t<string>{LABEL}</string>\n\
         \t<key>ProgramArguments</key>\n\t<array>\n\t\t<string>{}</string>\n\t</array>\n\
         \t<key>RunAtLoad</key>\n\t<true/>\n\
         \t<key>KeepAlive</key>\n\t<dict>\n\t\t<key>SuccessfulExit</key>\n\t\t<false/>\n\t</dict>\n\
         \t<key>ProcessType</key>\n\t<string>Interactive</string>\n\
         \t<key>Umask</key>\n\t<integer>63</integer>\n\
         \t<key>StandardOutPath</key>\n\t<string>{log}</string>\n\
         \t<key>StandardErrorPath</key>\n\t<string>{log}</string>\n\
         \t<key>EnvironmentVariables</key>\n\t<dict>\n{env}\t</dict>\n\
         </dict>\n\
         </plist>\n",
        xml_escape(&spec.daemon.display().to_string()),
    )
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn xml_unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// A property-list value: what `render` writes, read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plist {
    Dict(Vec<(String, Plist)>),
    Array(Vec<Plist>),
    String(String),
    Integer(i64),
    Bool(bool),
}

impl Plist {
    pub fn get(&self, key: &str) -> Option<&Plist> {
        match self {
            Plist::Dict(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Parses the XML property lists `render` writes (elements, text, `<x/>`; no attributes on
/// values, no CDATA). `None` on anything else.
pub fn parse(text: &str) -> Option<Plist> {
    let body = text.split_once("<plist")?.1.split_once('>')?.1;
    let mut tokens = Tokens { rest: body };
    let first = tokens.next()?;
    let value = parse_value(&mut tokens, first)?;
    (tokens.next()? == Token::Close("plist".into())).then_some(value)
}

#[derive(Debug, PartialEq, Eq)]
enum Token {
    Open(String),
    Close(String),
    Empty(String),
    Text(String),
}

struct Tokens<'a> {
    rest: &'a str,
}

impl Tokens<'_> {
    fn next(&mut self) -> Option<Token> {
        loop {
            let trimmed = self.rest.trim_start();
            if let Some(comment) = trimmed.strip_prefix("<!--") {
                self.rest = comment.split_once("-->")?.1;
                continue;
            }
            if let Some(tag) = trimmed.strip_prefix('<') {
                let (tag, rest) = tag.split_once('>')?;
                self.rest = rest;
                return Some(if let Some(name) = tag.strip_prefix('/') {
                    Token::Close(name.trim().into())
                } else if let Some(name) = tag.strip_suffix('/') {
                    Token::Empty(name.trim().into())
                } else {
                    Token::Open(tag.trim().into())
                });
            }
            let end = self.rest.find('<')?;
            let (text, rest) = self.rest.split_at(end);
            self.rest = rest;
            return Some(Token::Text(xml_unescape(text)));
        }
    }

    /// Text up to the closing tag `name` (empty when it closes at once).
    fn text_until(&mut self, name: &str) -> Option<String> {
        let end = self.rest.find('<')?;
        let (text, rest) = self.rest.split_at(end);
        self.rest = rest;
        (self.next()? == Token::Close(name.into())).then(|| xml_unescape(text))
    }
}

fn parse_value(tokens: &mut Tokens, first: Token) -> Option<Plist> {
    match first {
        Token::Empty(name) if name == "true" => Some(Plist::Bool(true)),
        Token::Empty(name) if name == "false" => Some(Plist::Bool(false)),
        Token::Empty(name) if name == "string" => Some(Plist::String(String::new())),
        Token::Open(name) if name == "string" => tokens.text_until("string").map(Plist::String),
        Token::Open(name) if name == "integer" => tokens
            .text_until("integer")?
            .trim()
            .parse()
            .ok()
            .map(Plist::Integer),
        Token::Open(name) if name == "array" => {
            let mut items = Vec::new();
            loop {
                match tokens.next()? {
                    Token::Close(end) if end == "array" => return Some(Plist::Array(items)),
                    token => items.push(parse_value(tokens, token)?),
                }
            }
        }
        Token::Open(name) if name == "dict" => {
            let mut entries = Vec::new();
            loop {
                match tokens.next()? {
                    Token::Close(end) if end == "dict" => return Some(Plist::Dict(entries)),
                    Token::Open(key) if key == "key" => {
                        let key = tokens.text_until("key")?;
                        let first = tokens.next()?;
                        let value = parse_value(tokens, first)?;
                        entries.push((key, value));
                    }
                    _ => return None,
                }
            }
        }
        _ => None,
    }
}

/// The program the agent runs.
pub fn program(text: &str) -> Option<PathBuf> {
    match parse(text)?.get("ProgramArguments")? {
        Plist::Array(args) => match args.first()? {
            Plist::String(program) => Some(program.into()),
            _ => None,
        },
        _ => None,
    }
}

fn domain() -> String {
    format!("gui/{}", paths::current_uid())
}

fn service_target() -> String {
    format!("{}/{LABEL}", domain())
}

/// launchd answers for this user's GUI domain (a login session on macOS).
pub fn available() -> Result<(), ServiceError> {
    run("launchctl", &["print", &domain()])
        .map(drop)
        .map_err(|e| match e {
            ServiceError::Command { message, .. } => ServiceError::NoManager(message),
            other => other,
        })
}

pub fn is_loaded() -> bool {
    run("launchctl", &["print", &service_target()]).is_ok()
}

/// Loads (or reloads) the agent, which starts it now and at every login.
pub fn load(plist: &std::path::Path) -> Result<(), ServiceError> {
    let _ = unload(); // not loaded yet is fine
    let path = plist.display().to_string();
    run("launchctl", &["bootstrap", &domain(), &path]).map(drop)
}

pub fn unload() -> Result<(), ServiceError> {
    run("launchctl", &["bootout", &service_target()]).map(drop)
}

pub fn restart() -> Result<(), ServiceError> {
    run("launchctl", &["kickstart", "-k", &service_target()]).map(drop)
}
