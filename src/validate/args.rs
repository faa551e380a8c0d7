//! Words after expansion, the data flowing between commands, and option parsing.

/// What a piece of data carries, as far as the analysis can tell.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Flow {
    /// Fetched from the network (a script, a page).
    pub network: bool,
    /// Read from a raw socket (`nc`, `/dev/tcp`): someone else is typing.
    pub socket: bool,
    /// Key material or credentials (a private key, a token file, the whole environment).
    pub secret: bool,
    /// The value of a token-like environment variable (`$GITHUB_TOKEN`).
    pub token: bool,
    /// Decoded from an encoding the analysis could not read: could be anything.
    pub hidden: bool,
}

impl Flow {
    pub fn union(self, other: Flow) -> Flow {
        Flow {
            network: self.network || other.network,
            socket: self.socket || other.socket,
            secret: self.secret || other.secret,
            token: self.token || other.token,
            hidden: self.hidden || other.hidden,
        }
    }
}

/// One word after expansion, as far as it can be known without running anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Arg {
    /// Quotes removed, `~` kept for the home directory, unknown expansions kept as written
    /// (`$DIR`, `$(…)`).
    pub text: String,
    /// Begins with an expansion whose value is unknown and may be empty (`$DIR/*`).
    pub unknown_prefix: bool,
    /// Holds an unknown expansion anywhere.
    pub unknown: bool,
    /// Holds unquoted glob characters.
    pub glob: bool,
    /// What flows into the word through substitutions and variables.
    pub flow: Flow,
    /// Stands for every path found under `text` (`find … -exec … {}`, `find | xargs`);
    /// `Some(true)` when tests such as `-name` narrowed the search.
    pub each: Option<bool>,
}

impl Arg {
    pub fn literal(text: impl Into<String>) -> Arg {
        Arg {
            text: text.into(),
            ..Arg::default()
        }
    }

    pub fn is(&self, text: &str) -> bool {
        self.text == text
    }
}

/// Data flowing into or out of a command: a pipe, a here-document, a file's known content.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Stream {
    pub flow: Flow,
    /// The exact text, when it is known (`echo`, `printf`, here-documents).
    pub text: Option<String>,
    /// Paths, one per line (`find` output): what `xargs` appends.
    pub paths: Option<Arg>,
    /// `yes` output: the answer every prompt gets.
    pub answer: Option<String>,
}

impl Stream {
    pub fn text(text: impl Into<String>) -> Stream {
        Stream {
            text: Some(text.into()),
            ..Stream::default()
        }
    }

    pub fn flow(flow: Flow) -> Stream {
        Stream {
            flow,
            ..Stream::default()
        }
    }

    /// Both streams one after the other (a list's output). Output of unknown text that
    /// carries nothing of note (`date`) is left out of the text.
    pub fn then(self, next: Stream) -> Stream {
        let plain = |s: &Stream| s.text.is_none() && s.flow == Flow::default() && s.paths.is_none();
        let (self_plain, next_plain) = (plain(&self), plain(&next));
        let text = match (self.text, next.text) {
            (Some(a), Some(b)) if a.is_empty() => Some(b),
            (Some(a), Some(b)) => Some(format!("{a}\n{b}")),
            (None, b) if self_plain => b,
            (a, None) if next_plain => a,
            _ => None,
        };
        Stream {
            flow: self.flow.union(next.flow),
            text,
            paths: next.paths.or(self.paths),
            answer: next.answer.or(self.answer),
        }
    }
}

/// Options and operands of one command line, parsed the getopt way.
pub(super) struct Opts<'a> {
    /// `(name, value)`: one letter for short options, the word for long ones.
    pub flags: Vec<(String, Option<&'a str>)>,
    pub operands: Vec<&'a Arg>,
}

impl<'a> Opts<'a> {
    /// `short_values` lists the short options that take a value, `long_values` the long ones.
    /// Options stop at `--` and, when `stop_at_operand`, at the first operand.
    pub fn parse(
        args: &'a [Arg],
        short_values: &str,
        long_values: &[&str],
        stop_at_operand: bool,
    ) -> Opts<'a> {
        let mut opts = Opts {
            flags: Vec::new(),
            operands: Vec::new(),
        };
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            let text = arg.text.as_str();
            if text == "--" {
                opts.operands.extend(iter.by_ref());
                break;
            }
            if let Some(long) = text.strip_prefix("--") {
                match long.split_once('=') {
                    Some((name, value)) => opts.flags.push((name.to_string(), Some(value))),
                    None if long_values.contains(&long) => {
                        let value = iter.next().map(|a| a.text.as_str());
                        opts.flags.push((long.to_string(), value));
                    }
                    None => opts.flags.push((long.to_string(), None)),
                }
            } else if text.len() > 1 && text.starts_with('-') {
                opts.push_cluster(&text[1..], short_values, &mut iter);
            } else {
                opts.operands.push(arg);
                if stop_at_operand {
                    opts.operands.extend(iter.by_ref());
                    break;
                }
            }
        }
        opts
    }

    fn push_cluster(
        &mut self,
        cluster: &'a str,
        short_values: &str,
        rest: &mut std::slice::Iter<'a, Arg>,
    ) {
        for (at, letter) in cluster.char_indices() {
            if short_values.contains(letter) {
                let attached = &cluster[at + letter.len_utf8()..];
                let value = if attached.is_empty() {
                    rest.next().map(|a| a.text.as_str())
                } else {
                    Some(attached)
                };
                self.flags.push((letter.to_string(), value));
                return;
            }
            self.flags.push((letter.to_string(), None));
        }
    }

    /// Whether any of `names` (letters or long names) was given.
    pub fn has(&self, names: &[&str]) -> bool {
        self.flags.iter().any(|(n, _)| names.contains(&n.as_str()))
    }

    /// The value of the last of `names` given.
    pub fn value(&self, names: &[&str]) -> Option<&'a str> {
        self.flags
            .iter()
            .rev()
            .find(|(n, _)| names.contains(&n.as_str()))
            .and_then(|(_, v)| *v)
    }

    /// Every value given to any of `names`.
    pub fn values(&self, names: &[&str]) -> Vec<&'a str> {
        self.flags
            .iter()
            .filter(|(n, _)| names.contains(&n.as_str()))
            .filter_map(|(_, v)| *v)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<Arg> {
        words.iter().map(|w| Arg::literal(*w)).collect()
    }

    #[test]
    fn clusters_values_and_the_end_of_options() {
        let words = args(&[
            "-rf", "-n5", "--force", "--size=0", "-o", "out", "--", "-x", "y",
        ]);
        let opts = Opts::parse(&words, "no", &[], false);
        assert!(opts.has(&["r"]) && opts.has(&["f"]) && opts.has(&["force"]));
        assert_eq!(opts.value(&["n"]), Some("5"));
        assert_eq!(opts.value(&["size"]), Some("0"));
        assert_eq!(opts.value(&["o"]), Some("out"));
        let operands: Vec<_> = opts.operands.iter().map(|a| a.text.as_str()).collect();
        assert_eq!(operands, ["-x", "y"]);
    }

    #[test]
    fn stop_at_the_first_operand() {
        let words = args(&["-n", "10", "rm", "-rf", "/"]);
        let opts = Opts::parse(&words, "n", &[], true);
        let operands: Vec<_> = opts.operands.iter().map(|a| a.text.as_str()).collect();
        assert_eq!(operands, ["rm", "-rf", "/"]);
    }
}
