//! A command sketch's table, read and checked with the rest of its file:
//! every key known, the program found and executable, each placeholder one,
//! each time a number of seconds. What its placeholders name is checked by
//! `file`, which knows the circuit's sketches.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use toml::Spanned;

use crate::app::circuit::check::{did_you_mean, no_sketch};
use crate::app::circuit::command_sketch::placeholder::Word;
use crate::app::circuit::command_sketch::{CommandSketch, Restart};
use crate::app::circuit::toml_file::{at, Diagnostic, Table, Value};
use crate::app::kind::Kind;
use crate::base::features::{require, Feature};
use crate::base::wiring::MessageType;

/// The keys of a command sketch's table.
const KEYS: &[&str] = &[
    "command",
    "restart",
    "takes",
    "ready",
    "ready-timeout",
    "stop-timeout",
    "dir",
    "env",
    "path",
    "host",
];

/// A command sketch as its file writes it: what its table says, where it
/// is placed, where its `command` is, and its kind (a server's or a
/// client's) among those the file is read against.
pub(crate) struct InFile {
    /// What its table says.
    pub(crate) sketch: Arc<CommandSketch>,
    /// Its `host`.
    pub(crate) host: Option<String>,
    /// Where its `command` is written, for the mistakes about its words.
    pub(crate) at: Range<usize>,
    /// Its kind, as an index into the kinds.
    pub(crate) kind: Option<usize>,
}

/// Whether `table` is a command sketch's: it has a `command`.
pub(crate) fn is_command(table: &Table) -> bool {
    table.keys().any(|key| key.get_ref() == "command")
}

/// The command sketch `table` writes, read against the circuit file in
/// `dir`, or `None` when it is none or its `command` cannot be read (said
/// in `errors`, as every other mistake). A build without the `commands`
/// feature refuses it at its `command`.
pub(crate) fn in_file(
    table: &Table,
    dir: &Path,
    kinds: &[Kind],
    errors: &mut Vec<Diagnostic>,
) -> Option<InFile> {
    let (key, value) = table.iter().find(|(key, _)| key.get_ref() == "command")?;
    if let Err(why) = require(Feature::Commands, "a command sketch (`command = [...]`)") {
        errors.push(at(key.span(), why));
        return None;
    }
    let (sketch, host) = read(table, dir, kinds, errors)?;
    let kind = kinds
        .iter()
        .position(|kind| kind.is_command() && kind.serves == sketch.serves());
    Some(InFile {
        sketch: Arc::new(sketch),
        host,
        at: value.span(),
        kind,
    })
}

/// Each sketch that `command`'s placeholders name (`{url:NAME}`,
/// `{port:NAME}`) is one of the circuit's `names` that listens (`kind_of`
/// gives its kind, when known); else a mistake at its `command`.
pub(crate) fn check_named<'k>(
    command: &InFile,
    names: &[&str],
    kind_of: impl Fn(&str) -> Option<&'k Kind>,
    errors: &mut Vec<Diagnostic>,
) {
    for sketch in command.sketch.named() {
        if !names.contains(&sketch) {
            errors.push(at(
                command.at.clone(),
                format!(
                    "`command`: {}; its sketches are {}",
                    no_sketch(sketch, names),
                    names.join(", ")
                ),
            ));
        } else if let Some(kind) = kind_of(sketch).filter(|kind| !kind.serves) {
            let what = if kind.is_command() {
                "a client (its command has no {port})".to_owned()
            } else {
                format!("a timer ({})", kind.name)
            };
            errors.push(at(
                command.at.clone(),
                format!("`command`: \"{sketch}\" is {what}: it listens on no port"),
            ));
        }
    }
}

/// How long a program has to become ready, unless `ready-timeout` says.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// A command sketch's table (`command = [...]`) read against the circuit
/// file in `dir`: the sketch and its `host`, or `None` when its `command`
/// cannot be read. Every mistake goes to `errors`.
fn read(
    table: &Table,
    dir: &Path,
    kinds: &[Kind],
    errors: &mut Vec<Diagnostic>,
) -> Option<(CommandSketch, Option<String>)> {
    let mut read = Read {
        errors,
        wrong: false,
    };
    let mut sketch = CommandSketch {
        command: Vec::new(),
        program: PathBuf::new(),
        env: Vec::new(),
        path: Vec::new(),
        dir: dir.to_path_buf(),
        restart: Restart::OnFailure,
        ready: None,
        ready_timeout: READY_TIMEOUT,
        stop_timeout: None,
        takes: None,
    };
    let mut host = None;
    let mut command = None;
    for (key, value) in table {
        match key.get_ref().as_str() {
            "command" => command = Some(value),
            "restart" => sketch.restart = read.restart(value).unwrap_or(Restart::OnFailure),
            "takes" => sketch.takes = read.takes(value, kinds),
            "ready" => sketch.ready = read.text(value, "`ready` is a part of the line the program prints once it listens, such as \"serving on\""),
            "ready-timeout" => {
                sketch.ready_timeout = read.seconds(value, "ready-timeout").unwrap_or(READY_TIMEOUT);
            }
            "stop-timeout" => sketch.stop_timeout = read.seconds(value, "stop-timeout"),
            "host" => host = read.text(value, "`host` is a host's name, such as \"h2\""),
            "env" => sketch.env = read.env(value),
            "kind" => read.wrong(
                key.span(),
                "a command sketch is the program it runs: remove `kind`, or `command` to run a kind of this program",
            ),
            "to" => read.wrong(
                key.span(),
                "a command sketch says where it sends in its own words: `{url:NAME}` (or `{url:NAME/PATH}`) where its command takes a URL",
            ),
            "dir" | "path" => {}
            other => read.wrong(
                key.span(),
                format!(
                    "unknown key `{other}` of a command sketch{}; its keys are {}",
                    did_you_mean(other, KEYS, '`'),
                    KEYS.join(", ")
                ),
            ),
        }
    }
    // `dir` and `path` first: the program is looked for where they say.
    if let Some((_, value)) = table.iter().find(|(key, _)| key.get_ref() == "dir") {
        if let Some(written) = read.text(value, "`dir` is the directory the program runs in") {
            sketch.dir = dir.join(written);
            if !sketch.dir.is_dir() {
                read.wrong(
                    value.span(),
                    format!("`dir`: {} is not a directory", sketch.dir.display()),
                );
            }
        }
    }
    if let Some((_, value)) = table.iter().find(|(key, _)| key.get_ref() == "path") {
        sketch.path = read
            .texts(
                value,
                "`path` is a list of directories put before PATH, such as [\"bin\"]",
            )
            .into_iter()
            .map(|written| dir.join(written))
            .collect();
    }
    let command = command?;
    sketch.command = read.command(command)?;
    let program = sketch.command[0].plain()?;
    match find_program(&program, &sketch.dir, &sketch.path) {
        Ok(found) => sketch.program = found,
        Err(why) => read.wrong(command.span(), why),
    }
    // Kept despite other mistakes (the run never starts then), so that its
    // placeholders are checked too: every mistake is said at once.
    Some((sketch, host))
}

/// The reading of one table, which remembers whether anything was wrong.
struct Read<'a> {
    /// Where mistakes go.
    errors: &'a mut Vec<Diagnostic>,
    /// Whether one went there.
    wrong: bool,
}

impl Read<'_> {
    /// Says `message` at `span`.
    fn wrong(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.errors.push(at(span, message));
        self.wrong = true;
    }

    /// A string, else `why` said.
    fn text(&mut self, value: &Spanned<Value>, why: &str) -> Option<String> {
        match value.get_ref() {
            Value::String(text) => Some(text.clone()),
            _ => {
                self.wrong(value.span(), why);
                None
            }
        }
    }

    /// A list of strings, else `why` said.
    fn texts(&mut self, value: &Spanned<Value>, why: &str) -> Vec<String> {
        let texts: Option<Vec<String>> = match value.get_ref() {
            Value::Array(items) => items
                .iter()
                .map(|item| match item {
                    Value::String(text) => Some(text.clone()),
                    _ => None,
                })
                .collect(),
            _ => None,
        };
        texts.unwrap_or_else(|| {
            self.wrong(value.span(), why);
            Vec::new()
        })
    }

    /// `command = ["program", "arg", …]`: a program without placeholders,
    /// then its arguments.
    fn command(&mut self, value: &Spanned<Value>) -> Option<Vec<Word>> {
        let texts = self.texts(
            value,
            "`command` is the program and its arguments, as a list of strings: [\"python3\", \"pin.py\", \"--port\", \"{port}\"]",
        );
        if texts.is_empty() {
            if !self.wrong {
                self.wrong(value.span(), "`command` is empty: name a program to run");
            }
            return None;
        }
        let mut words = Vec::new();
        for (index, text) in texts.iter().enumerate() {
            match Word::parse(text) {
                Ok(word) => words.push(word),
                // Without its program the command is not kept.
                Err(why) if index == 0 => {
                    self.wrong(value.span(), format!("`command`: {why}"));
                    return None;
                }
                // The words that are right are kept (the run never starts
                // then), so that what their placeholders name is checked too.
                Err(why) => self.wrong(value.span(), format!("`command`: {why}")),
            }
        }
        if words[0].plain().is_none() {
            self.wrong(
                value.span(),
                "`command`: the program itself cannot be a placeholder; put placeholders in its arguments",
            );
            return None;
        }
        Some(words)
    }

    /// `env = { NAME = "value", … }`, values with placeholders.
    fn env(&mut self, value: &Spanned<Value>) -> Vec<(String, Word)> {
        let Value::Table(table) = value.get_ref() else {
            self.wrong(
                value.span(),
                "`env` is a table of variables, such as { PYTHONUNBUFFERED = \"1\" }",
            );
            return Vec::new();
        };
        let mut env = Vec::new();
        for (name, written) in table {
            let text = match written {
                Value::String(text) | Value::Number(text) => text.clone(),
                Value::Boolean(on) => on.to_string(),
                _ => {
                    self.wrong(
                        value.span(),
                        format!("`env`: {name} is a string (or a number)"),
                    );
                    continue;
                }
            };
            match Word::parse(&text) {
                Ok(word) => env.push((name.clone(), word)),
                Err(why) => self.wrong(value.span(), format!("`env`: {name}: {why}")),
            }
        }
        env
    }

    /// `restart = "never" | "on-failure" | "always"`.
    fn restart(&mut self, value: &Spanned<Value>) -> Option<Restart> {
        let all = [Restart::Never, Restart::OnFailure, Restart::Always];
        let found = match value.get_ref() {
            Value::String(text) => all.into_iter().find(|restart| restart.name() == text),
            _ => None,
        };
        if found.is_none() {
            self.wrong(
                value.span(),
                "`restart` is \"never\", \"on-failure\" or \"always\"",
            );
        }
        found
    }

    /// A number of seconds, more than none.
    fn seconds(&mut self, value: &Spanned<Value>, key: &str) -> Option<Duration> {
        let seconds = match value.get_ref() {
            Value::Number(text) => text.parse::<f64>().ok(),
            _ => None,
        };
        match seconds.and_then(|seconds| Duration::try_from_secs_f64(seconds).ok()) {
            Some(duration) if !duration.is_zero() => Some(duration),
            _ => {
                self.wrong(
                    value.span(),
                    format!("`{key}` is a number of seconds, more than 0, such as 10 or 2.5"),
                );
                None
            }
        }
    }

    /// `takes = "u8"`: a type this program's kinds take or send, a number,
    /// `bool`, `char`, `String` (any text), or `any` (the default).
    fn takes(&mut self, value: &Spanned<Value>, kinds: &[Kind]) -> Option<MessageType> {
        let name = self.text(value, "`takes` names a message type, such as \"u8\"")?;
        if name == "any" {
            return None;
        }
        let known = known_types(kinds);
        if let Some((_, found)) = known.iter().find(|(known, _)| *known == name) {
            return Some(*found);
        }
        let names: Vec<&str> = known.iter().map(|(name, _)| name.as_str()).collect();
        self.wrong(
            value.span(),
            format!(
                "`takes`: no message type {name:?}{}; it is one of any, {}",
                did_you_mean(&name, &names, '"'),
                names.join(", ")
            ),
        );
        None
    }
}

/// The message types a command sketch may say it takes, by name: the plain
/// ones, then those the program's kinds take or send.
fn known_types(kinds: &[Kind]) -> Vec<(String, MessageType)> {
    let mut known: Vec<(String, MessageType)> = [
        MessageType::of::<String>(),
        MessageType::of::<bool>(),
        MessageType::of::<char>(),
        MessageType::of::<u8>(),
        MessageType::of::<u16>(),
        MessageType::of::<u32>(),
        MessageType::of::<u64>(),
        MessageType::of::<i8>(),
        MessageType::of::<i16>(),
        MessageType::of::<i32>(),
        MessageType::of::<i64>(),
        MessageType::of::<f32>(),
        MessageType::of::<f64>(),
    ]
    .into_iter()
    .map(|known| (known.name(), known))
    .collect();
    let of_kinds = kinds
        .iter()
        .flat_map(|kind| kind.takes.into_iter().chain(kind.sends));
    for found in of_kinds.filter(|found| !found.is_any_text()) {
        if !known.iter().any(|(_, had)| *had == found) {
            known.push((found.name(), found));
        }
    }
    known
}

/// The program `name` runs: a path (relative to `dir`) when it has a `/`,
/// else the first executable file of that name on `path`, then on `PATH`.
///
/// # Errors
/// Why there is none: not found, or not executable.
fn find_program(name: &str, dir: &Path, path: &[PathBuf]) -> Result<PathBuf, String> {
    if name.contains('/') {
        let program = dir.join(name);
        return match executable(&program) {
            Ok(()) => Ok(program),
            Err(why) => Err(format!(
                "`command`: the program {}: {why}",
                program.display()
            )),
        };
    }
    let searched: Vec<PathBuf> = path
        .iter()
        .cloned()
        .chain(
            std::env::var_os("PATH")
                .iter()
                .flat_map(std::env::split_paths),
        )
        .collect();
    let mut refused = None;
    for directory in &searched {
        let program = directory.join(name);
        match executable(&program) {
            Ok(()) => return Ok(program),
            Err(why) if program.exists() => {
                refused.get_or_insert(format!("`command`: {}: {why}", program.display()));
            }
            Err(_) => {}
        }
    }
    Err(refused.unwrap_or_else(|| {
        let extra = if path.is_empty() {
            String::new()
        } else {
            " (after the directories of `path`)".to_owned()
        };
        format!("`command`: no program {name:?} on PATH{extra}; install it, or give its path")
    }))
}

/// Whether `program` is a file this process may run.
fn executable(program: &Path) -> Result<(), &'static str> {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::metadata(program) {
        Ok(meta) if !meta.is_file() => Err("not a file"),
        Ok(meta) if meta.permissions().mode() & 0o111 == 0 => {
            Err("not executable (chmod +x, or run it with its interpreter)")
        }
        Ok(_) => Ok(()),
        Err(_) => Err("no such file"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_is_found_on_path_or_by_its_path_and_must_be_executable() {
        let dir = Path::new("/");
        assert!(find_program("sh", dir, &[]).is_ok());
        let missing = find_program("no-such-program-here", dir, &[]).unwrap_err();
        assert!(
            missing.contains("no program \"no-such-program-here\" on PATH"),
            "{missing}"
        );
        let not_executable = find_program("etc/passwd", dir, &[]).unwrap_err();
        assert!(
            not_executable.contains("not executable"),
            "{not_executable}"
        );
        assert!(find_program("./bin/sh", dir, &[]).is_ok());
    }
}
