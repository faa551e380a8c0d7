//! Identical requests in an identical context get the backend's earlier answer at once.
//!
//! The key is everything the backend sees: the context block, the rest of the turn and the
//! number of candidates. Only the raw answers are kept; [`review`](super::review) checks them
//! again for every request, against that request's PATH and shell, so a tool removed since
//! is still reported. The cache lives as long as the backend it wraps: a new model starts empty.

use std::collections::VecDeque;

use crate::backend::{Ask, Backend, BackendError, Generation, StopCheck};

/// Answers kept, oldest dropped first.
const ENTRIES: usize = 64;

#[derive(Default)]
pub struct AnswerCache {
    entries: VecDeque<(Key, Vec<String>)>,
    pub hits: u64,
}

#[derive(PartialEq, Eq)]
struct Key {
    context: String,
    request: String,
    candidates: u32,
}

impl Key {
    fn of(ask: &Ask) -> Key {
        Key {
            context: ask.context.to_string(),
            request: ask.request.to_string(),
            candidates: ask.candidates,
        }
    }

    fn matches(&self, ask: &Ask) -> bool {
        self.candidates == ask.candidates
            && self.request == ask.request
            && self.context == ask.context
    }
}

impl AnswerCache {
    fn get(&mut self, ask: &Ask) -> Option<Vec<String>> {
        let at = self.entries.iter().position(|(key, _)| key.matches(ask))?;
        // Most recently used last, so that eviction drops the coldest.
        let entry = self.entries.remove(at)?;
        let texts = entry.1.clone();
        self.entries.push_back(entry);
        self.hits += 1;
        Some(texts)
    }

    fn put(&mut self, ask: &Ask, texts: &[String]) {
        if self.entries.len() >= ENTRIES {
            self.entries.pop_front();
        }
        self.entries.push_back((Key::of(ask), texts.to_vec()));
    }
}

/// A backend that answers from `cache` when it can and fills it when it cannot.
pub struct Remembering<'a> {
    pub backend: &'a mut dyn Backend,
    pub cache: &'a mut AnswerCache,
}

impl Backend for Remembering<'_> {
    fn name(&self) -> &str {
        self.backend.name()
    }

    fn model(&self) -> &str {
        self.backend.model()
    }

    fn fixed_prompt_tokens(&self) -> u32 {
        self.backend.fixed_prompt_tokens()
    }

    fn generate(&mut self, ask: &Ask, stop: &dyn StopCheck) -> Result<Generation, BackendError> {
        if let Some(texts) = self.cache.get(ask) {
            return Ok(Generation {
                fallback: None,
                texts,
                prompt_tokens: 0,
                output_tokens: 0,
            });
        }
        let generation = self.backend.generate(ask, stop)?;
        self.cache.put(ask, &generation.texts);
        Ok(generation)
    }

    fn prepare(&mut self, ahead: &Ask, stop: &dyn StopCheck) -> Result<u32, BackendError> {
        self.backend.prepare(ahead, stop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts its calls and answers with the request and the count.
    struct Counting(u32);

    impl Backend for Counting {
        fn name(&self) -> &str {
            "counting"
        }
        fn model(&self) -> &str {
            "m"
        }
        fn generate(&mut self, ask: &Ask, _: &dyn StopCheck) -> Result<Generation, BackendError> {
            self.0 += 1;
            Ok(Generation {
                fallback: None,
                texts: vec![format!("{} #{}", ask.request, self.0)],
                prompt_tokens: 5,
                output_tokens: 2,
            })
        }
    }

    fn ask<'a>(context: &'a str, request: &'a str, candidates: u32) -> Ask<'a> {
        Ask {
            context,
            request,
            candidates,
        }
    }

    #[test]
    fn the_same_ask_is_answered_once_and_any_difference_misses() {
        let mut inner = Counting(0);
        let mut cache = AnswerCache::default();
        let mut backend = Remembering {
            backend: &mut inner,
            cache: &mut cache,
        };
        let never = || false;
        let first = backend.generate(&ask("C", "ls", 1), &never).unwrap();
        let again = backend.generate(&ask("C", "ls", 1), &never).unwrap();
        assert_eq!(again.texts, first.texts);
        assert_eq!((again.prompt_tokens, again.output_tokens), (0, 0));
        for other in [ask("D", "ls", 1), ask("C", "ls -l", 1), ask("C", "ls", 3)] {
            let answer = backend.generate(&other, &never).unwrap();
            assert_ne!(answer.texts, first.texts, "{other:?}");
        }
        assert_eq!(cache.hits, 1);
        assert_eq!(inner.0, 4);
    }

    #[test]
    fn the_coldest_entry_is_dropped_when_full() {
        let mut inner = Counting(0);
        let mut cache = AnswerCache::default();
        let mut backend = Remembering {
            backend: &mut inner,
            cache: &mut cache,
        };
        let never = || false;
        let requests: Vec<String> = (0..=ENTRIES).map(|i| format!("r{i}")).collect();
        backend.generate(&ask("", &requests[0], 1), &never).unwrap();
        for request in &requests[1..ENTRIES] {
            backend.generate(&ask("", request, 1), &never).unwrap();
        }
        // Touch the oldest so that r1 becomes the coldest, then overflow by one.
        backend.generate(&ask("", &requests[0], 1), &never).unwrap();
        backend
            .generate(&ask("", &requests[ENTRIES], 1), &never)
            .unwrap();
        let calls = inner.0;
        let mut backend = Remembering {
            backend: &mut inner,
            cache: &mut cache,
        };
        backend.generate(&ask("", &requests[0], 1), &never).unwrap();
        assert_eq!(inner.0, calls, "r0 was used recently and must be kept");
        let mut backend = Remembering {
            backend: &mut inner,
            cache: &mut cache,
        };
        backend.generate(&ask("", &requests[1], 1), &never).unwrap();
        assert_eq!(inner.0, calls + 1, "r1 was the coldest and must be gone");
    }
}
