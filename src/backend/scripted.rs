//! A backend with canned answers, for testing the daemon's plumbing without a model.
//!
//! Never the proof of a feature: tests of generation use the real model. The "model" file holds
//! lines `TEXT => COMMAND`; a request whose sentence contains TEXT gets COMMAND, any other gets
//! `echo <sentence>`. Several rules with the same TEXT give that many candidates, in order, when
//! the request asks for more than one. A repair request (`prompt::repair_text`) is matched on its repair line
//! first, which names the failed command and its problem, so a rule `failed => COMMAND` answers
//! every repair; then on the sentence as before. `CMDAI_SCRIPTED_TOKEN_MS` makes each word take that long, so tests can
//! exercise deadlines, cancellation and a full queue deterministically. Like the embedded backend,
//! it keeps a few context blocks (from requests or `prepare`) and counts only the words of a
//! block it did not keep as prompt tokens, so tests can see what a prepare saved. The line typed
//! so far is kept the same way: a request that begins with it counts only its remaining words.

use std::time::Duration;

use super::{Ask, Backend, BackendError, BackendSpec, Generation, StopCheck};
use crate::prompt;

pub struct Scripted {
    rules: Vec<(String, String)>,
    token_delay: Duration,
    model: String,
    /// Context blocks kept, most recent last.
    kept: Vec<String>,
    /// The context and request text a prepare saw typed so far, for the next request.
    typed: (String, String),
}

/// Context blocks kept, as many as the embedded backend keeps.
const KEPT: usize = 4;

impl Scripted {
    pub fn open(spec: &BackendSpec) -> Result<Scripted, BackendError> {
        let text = std::fs::read_to_string(&spec.model_path).unwrap_or_default();
        let rules = text
            .lines()
            .filter_map(|line| line.split_once("=>"))
            .map(|(from, to)| (from.trim().to_string(), to.trim().to_string()))
            .collect();
        let token_ms = std::env::var("CMDAI_SCRIPTED_TOKEN_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Ok(Scripted {
            rules,
            token_delay: Duration::from_millis(token_ms),
            model: "scripted".into(),
            kept: Vec::new(),
            typed: Default::default(),
        })
    }

    fn answers(&self, user_text: &str) -> Vec<String> {
        let sentence = sentence_of(user_text);
        prompt::repair_line(user_text)
            .and_then(|line| self.rules_for(line))
            .or_else(|| self.rules_for(sentence))
            .unwrap_or_else(|| vec![format!("echo {sentence}")])
    }

    /// Keeps `context`; returns its words when it was not kept already.
    fn keep(&mut self, context: &str) -> u32 {
        if let Some(i) = self.kept.iter().position(|c| c == context) {
            let again = self.kept.remove(i);
            self.kept.push(again);
            return 0;
        }
        if self.kept.len() >= KEPT {
            self.kept.remove(0);
        }
        self.kept.push(context.to_string());
        context.split_whitespace().count() as u32
    }

    /// Every answer of the first rule whose TEXT occurs in `text`.
    fn rules_for(&self, text: &str) -> Option<Vec<String>> {
        let (key, _) = self
            .rules
            .iter()
            .find(|(from, _)| text.contains(from.as_str()))?;
        let answers = self.rules.iter().filter(|(from, _)| from == key);
        Some(answers.map(|(_, to)| to.clone()).collect())
    }
}

/// The sentence is the last line of the user turn (`Request: …`).
fn sentence_of(user_text: &str) -> &str {
    user_text
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix("Request: "))
        .unwrap_or(user_text)
}

impl Backend for Scripted {
    fn name(&self) -> &str {
        "scripted"
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn generate(&mut self, ask: &Ask, stop: &dyn StopCheck) -> Result<Generation, BackendError> {
        let mut texts = self.answers(ask.request);
        texts.truncate(ask.candidates.max(1) as usize);
        // Candidates are decoded side by side: the time is the longest one's.
        let steps = texts.iter().map(|t| t.split_whitespace().count());
        let output_tokens = steps.max().unwrap_or(0);
        for _ in 0..output_tokens {
            if stop.should_stop() {
                return Err(BackendError::Stopped);
            }
            std::thread::sleep(self.token_delay);
        }
        let context_tokens = self.keep(ask.context);
        let (place, typed) = std::mem::take(&mut self.typed);
        let unseen = match ask.request.strip_prefix(typed.as_str()) {
            Some(rest) if place == ask.context && !typed.is_empty() => rest,
            _ => ask.request,
        };
        Ok(Generation {
            fallback: None,
            texts,
            prompt_tokens: context_tokens + unseen.split_whitespace().count() as u32,
            output_tokens: output_tokens as u32,
        })
    }

    fn prepare(&mut self, ahead: &Ask, stop: &dyn StopCheck) -> Result<u32, BackendError> {
        if stop.should_stop() {
            return Err(BackendError::Stopped);
        }
        let context_tokens = self.keep(ahead.context);
        let (place, typed) = &self.typed;
        let new = match ahead.request.strip_prefix(typed.as_str()) {
            Some(rest) if place == ahead.context => rest,
            _ => ahead.request,
        };
        let typed_tokens = new.split_whitespace().count() as u32;
        self.typed = (ahead.context.to_string(), ahead.request.to_string());
        Ok(context_tokens + typed_tokens)
    }
}
