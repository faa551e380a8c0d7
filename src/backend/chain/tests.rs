use std::cell::Cell;
use std::rc::Rc;

use super::*;

/// A backend whose availability and answer the test sets, counting how often it is asked.
struct Fake {
    name: &'static str,
    up: Rc<Cell<bool>>,
    checks: Rc<Cell<u32>>,
    asked: Rc<Cell<u32>>,
}

impl Backend for Fake {
    fn name(&self) -> &str {
        self.name
    }
    fn model(&self) -> &str {
        "m"
    }
    fn generate(&mut self, _: &Ask, _: &dyn StopCheck) -> Result<Generation, BackendError> {
        self.asked.set(self.asked.get() + 1);
        if !self.up.get() {
            return Err(BackendError::Unavailable(format!(
                "{}: connection refused",
                self.name
            )));
        }
        Ok(Generation {
            texts: vec![format!("echo {}", self.name)],
            prompt_tokens: 1,
            output_tokens: 1,
            fallback: None,
        })
    }
    fn available(&mut self) -> Result<(), BackendError> {
        self.checks.set(self.checks.get() + 1);
        if self.up.get() {
            Ok(())
        } else {
            Err(BackendError::Unavailable(format!(
                "{}: not answering",
                self.name
            )))
        }
    }
}

/// Handles on a fake's state after it went into the chain.
#[derive(Clone)]
struct Knobs {
    up: Rc<Cell<bool>>,
    checks: Rc<Cell<u32>>,
    asked: Rc<Cell<u32>>,
}

fn fake(name: &'static str, up: bool) -> (Member, Knobs) {
    let knobs = Knobs {
        up: Rc::new(Cell::new(up)),
        checks: Rc::default(),
        asked: Rc::default(),
    };
    let backend = Fake {
        name,
        up: Rc::clone(&knobs.up),
        checks: Rc::clone(&knobs.checks),
        asked: Rc::clone(&knobs.asked),
    };
    (Member::new(name, Slot::Owned(Box::new(backend))), knobs)
}

fn ask(chain: &mut Chain) -> Result<Generation, BackendError> {
    chain.generate(&Ask::plain("list files"), &|| false)
}

#[test]
fn the_first_available_backend_answers_and_no_note_is_made() {
    let (a, _) = fake("openai", true);
    let (b, b_knobs) = fake("embedded", true);
    let mut chain = Chain::new(vec![a, b], None);
    let generation = ask(&mut chain).unwrap();
    assert_eq!(generation.texts, ["echo openai"]);
    assert_eq!(generation.fallback, None);
    assert_eq!(chain.name(), "openai");
    assert_eq!(b_knobs.asked.get(), 0);
}

#[test]
fn a_down_backend_falls_through_to_the_next_with_one_line_saying_so() {
    let (a, a_knobs) = fake("openai", false);
    let (b, _) = fake("embedded", true);
    let mut chain = Chain::new(vec![a, b], None);
    let generation = ask(&mut chain).unwrap();
    assert_eq!(generation.texts, ["echo embedded"]);
    let note = generation.fallback.unwrap();
    assert_eq!(note, "openai: not answering; embedded answered");
    assert!(!note.contains('\n'));
    assert_eq!(chain.name(), "embedded");
    assert_eq!(a_knobs.asked.get(), 0, "a backend found down is not asked");
}

#[test]
fn a_backend_that_fails_mid_request_is_skipped_until_the_recheck() {
    let (a, a_knobs) = fake("openai", true);
    let (b, _) = fake("embedded", true);
    let mut chain = Chain::new(vec![a, b], None);
    assert_eq!(ask(&mut chain).unwrap().texts, ["echo openai"]);
    // The server dies between two requests, after its availability was checked.
    a_knobs.up.set(false);
    let generation = ask(&mut chain).unwrap();
    assert_eq!(generation.texts, ["echo embedded"]);
    assert_eq!(
        generation.fallback.as_deref(),
        Some("openai: connection refused; embedded answered")
    );
    assert_eq!(a_knobs.asked.get(), 2);
    // Down now, and believed so: the next request does not try it again.
    ask(&mut chain).unwrap();
    assert_eq!(a_knobs.asked.get(), 2);
    assert_eq!(a_knobs.checks.get(), 1);
}

#[test]
fn availability_is_checked_once_per_period() {
    let (a, a_knobs) = fake("openai", true);
    let mut chain = Chain::new(vec![a], None);
    for _ in 0..5 {
        ask(&mut chain).unwrap();
    }
    assert_eq!(a_knobs.checks.get(), 1);
    assert_eq!(a_knobs.asked.get(), 5);
    let now = Instant::now();
    assert_eq!(chain.check(0, now + RECHECK / 2), Ok(()));
    assert_eq!(
        a_knobs.checks.get(),
        1,
        "within the period, the verdict is reused"
    );
    assert_eq!(
        chain.check(0, now + RECHECK + Duration::from_secs(1)),
        Ok(())
    );
    assert_eq!(
        a_knobs.checks.get(),
        2,
        "after it, the backend is asked again"
    );
}

#[test]
fn a_backend_back_up_is_used_again_after_the_recheck() {
    let (a, a_knobs) = fake("openai", false);
    let (b, _) = fake("embedded", true);
    let mut chain = Chain::new(vec![a, b], None);
    assert_eq!(ask(&mut chain).unwrap().texts, ["echo embedded"]);
    a_knobs.up.set(true);
    assert!(
        chain.check(0, Instant::now()).is_err(),
        "still believed down"
    );
    let later = Instant::now() + RECHECK + Duration::from_secs(1);
    assert_eq!(chain.check(0, later), Ok(()));
    // The fresh verdict stands for the next request.
    let generation = ask(&mut chain).unwrap();
    assert_eq!(generation.texts, ["echo openai"]);
    assert_eq!(generation.fallback, None);
    assert_eq!(chain.name(), "openai");
}

#[test]
fn all_down_is_one_error_naming_each() {
    let (a, _) = fake("openai", false);
    let (b, _) = fake("ollama", false);
    let mut chain = Chain::new(vec![a, b], None);
    let err = ask(&mut chain).unwrap_err().to_string();
    assert_eq!(
        err,
        "no backend could answer: openai: not answering; ollama: not answering"
    );
}

#[test]
fn a_single_backend_keeps_its_own_error() {
    let (a, a_knobs) = fake("openai", true);
    let mut chain = Chain::new(vec![a], None);
    ask(&mut chain).unwrap();
    a_knobs.up.set(false);
    let err = ask(&mut chain).unwrap_err().to_string();
    assert_eq!(err, "openai: connection refused");
    let err = ask(&mut chain).unwrap_err().to_string();
    assert_eq!(
        err, "openai: connection refused",
        "the cached verdict reads the same"
    );
}

#[test]
fn a_backend_that_could_not_open_is_reported_and_the_others_serve() {
    let broken = Member::new(
        "llama-server",
        Slot::Broken(BackendError::Unavailable(
            "llama-server: not found on PATH".into(),
        )),
    );
    let (b, _) = fake("embedded", true);
    let mut chain = Chain::new(vec![broken, b], None);
    assert_eq!(
        chain.name(),
        "embedded",
        "status names the one that can answer"
    );
    let generation = ask(&mut chain).unwrap();
    assert_eq!(
        generation.fallback.as_deref(),
        Some("llama-server: not found on PATH; embedded answered")
    );
}

#[test]
fn a_chain_that_cannot_open_at_all_fails_with_every_reason() {
    let spec = BackendSpec {
        chain: vec!["nonsense".into(), "other".into()],
        model_path: "/nonexistent".into(),
        threads: 1,
        max_tokens: 8,
        fixed_turns: Vec::new(),
        settings: Default::default(),
    };
    let mut served = false;
    let err = open(&spec, &mut |_| served = true).unwrap_err().to_string();
    assert!(!served);
    assert!(
        err.starts_with("no backend could be opened: nonsense: unknown backend \"nonsense\""),
        "{err}"
    );
    assert!(err.contains("; other: unknown backend \"other\""), "{err}");
}

#[test]
fn a_stop_ends_the_walk_down_the_chain() {
    let (a, _) = fake("openai", false);
    let (b, b_knobs) = fake("embedded", true);
    let mut chain = Chain::new(vec![a, b], None);
    let result = chain.generate(&Ask::plain("x"), &|| true);
    assert!(matches!(result, Err(BackendError::Stopped)));
    assert_eq!(b_knobs.asked.get(), 0);
}

#[test]
fn prepare_goes_to_the_backend_that_would_answer() {
    let (a, a_knobs) = fake("openai", false);
    let (b, _) = fake("embedded", true);
    let mut chain = Chain::new(vec![a, b], None);
    assert_eq!(chain.prepare(&Ask::ahead("ctx", ""), &|| false).unwrap(), 0);
    assert_eq!(a_knobs.checks.get(), 1, "the prepare refreshed the verdict");
    ask(&mut chain).unwrap();
    assert_eq!(a_knobs.checks.get(), 1, "and the key press reused it");
}
