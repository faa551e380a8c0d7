//! A backend with canned answers, for testing the daemon's plumbing without a model.
//!
//! Never the proof of a feature: tests of generation use the real model. The "model" file holds
//! lines `TEXT => COMMAND`; a request whose sentence contains TEXT gets COMMAND, any other gets
//! `echo <sentence>`. A repair request (`prompt::repair_text`) is matched on its repair line
//! first, which names the failed command and its problem, so a rule `failed => COMMAND` answers
//! every repair; then on the sentence as before. `CMDAI_SCRIPTED_TOKEN_MS` makes each word take that long, so tests can
//! exercise deadlines, cancellation and a full queue deterministically.

use std::time::Duration;

use super::{Backend, BackendError, BackendSpec, Generation, StopCheck};
use crate::prompt;

pub struct Scripted {
    rules: Vec<(String, String)>,
    token_delay: Duration,
    model: String,
}

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
        })
    }

    fn answer(&self, user_text: &str) -> String {
        let sentence = sentence_of(user_text);
        prompt::repair_line(user_text)
            .and_then(|line| self.rule_for(line))
            .or_else(|| self.rule_for(sentence))
            .unwrap_or_else(|| format!("echo {sentence}"))
    }

    fn rule_for(&self, text: &str) -> Option<String> {
        self.rules
            .iter()
            .find(|(from, _)| text.contains(from.as_str()))
            .map(|(_, to)| to.clone())
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

    fn fixed_prompt_tokens(&self) -> u32 {
        0
    }

    fn generate(
        &mut self,
        user_text: &str,
        stop: &dyn StopCheck,
    ) -> Result<Generation, BackendError> {
        let answer = self.answer(user_text);
        let mut output_tokens = 0;
        for _ in answer.split_whitespace() {
            if stop.should_stop() {
                return Err(BackendError::Stopped);
            }
            std::thread::sleep(self.token_delay);
            output_tokens += 1;
        }
        Ok(Generation {
            text: answer,
            prompt_tokens: user_text.split_whitespace().count() as u32,
            output_tokens,
        })
    }
}
