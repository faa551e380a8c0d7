//! The embedded llama.cpp backend with the real tests model, through the library API.

use std::cell::Cell;
use std::path::Path;
use std::time::{Duration, Instant};

use cmdai::backend::{self, Ask, Backend, BackendError, BackendSpec};
use cmdai::engine::review;
use cmdai::prompt;
use cmdai::protocol::GenerateRequest;
use cmdai::validate::{self, Shell};

use crate::harness::test_model;

const MAX_TOKENS: u32 = 48;

fn spec() -> Option<BackendSpec> {
    Some(BackendSpec {
        chain: vec!["embedded".into()],
        model_path: test_model()?,
        threads: backend::default_threads(),
        max_tokens: MAX_TOKENS,
        fixed_turns: prompt::fixed_turns(),
        settings: Default::default(),
    })
}

const CONTEXT: &str = "Directory: notes\nEntries: notes.txt, todo.txt\n";

fn request(sentence: &str) -> GenerateRequest {
    GenerateRequest {
        sentence: sentence.into(),
        shell: "bash".into(),
        cwd: "/home/user".into(),
        context: CONTEXT.into(),
        ..GenerateRequest::default()
    }
}

fn user_text(sentence: &str) -> String {
    prompt::request_text(&request(sentence))
}

/// One greedy answer to `text` from the directory in `CONTEXT`.
fn ask(text: &str) -> Ask<'_> {
    Ask {
        context: CONTEXT,
        request: text,
        candidates: 1,
    }
}

/// The tokens a prepare that is never stopped evaluates.
fn prepared(backend: &mut dyn Backend, ahead: Ask) -> u32 {
    backend.prepare(&ahead, &|| false).unwrap()
}

fn with_backend(run: impl FnOnce(&mut dyn Backend)) {
    let Some(spec) = spec() else { return };
    let mut run = Some(run);
    backend::open(&spec, &mut |b| (run.take().unwrap())(b)).unwrap();
    assert!(run.is_none(), "the backend never served");
}

#[test]
fn answers_one_line_within_the_token_cap_and_reuses_the_cache() {
    with_backend(|backend| {
        assert!(backend.fixed_prompt_tokens() > 100);
        let sentence = user_text("list files sorted by size");
        let first = backend.generate(&ask(&sentence), &|| false).unwrap();
        let command = prompt::extract_command(first.text());
        assert!(!command.is_empty(), "{:?}", first.texts);
        assert!(!command.contains('\n'));
        assert!(first.output_tokens <= MAX_TOKENS);
        assert!(first.prompt_tokens < backend.fixed_prompt_tokens());
        // Another request in between must not leak into the next: the cache is trimmed back
        // to the fixed prefix and the context block, so the same request gives the same
        // greedy answer, and pays only for its own tokens now that the block is kept.
        backend
            .generate(&ask(&user_text("count lines in notes.txt")), &|| false)
            .unwrap();
        let again = backend.generate(&ask(&sentence), &|| false).unwrap();
        assert_eq!(again.texts, first.texts);
        let context_tokens = first.prompt_tokens - again.prompt_tokens;
        assert!(
            context_tokens >= 10,
            "the context block was evaluated again"
        );
    });
}

/// Five other places push the first one's block out of the slots; coming back evaluates it
/// again, and the answer is the same as when it was fresh.
#[test]
fn context_blocks_are_kept_per_place_and_evicted_least_recently_used_first() {
    with_backend(|backend| {
        let sentence = user_text("show the biggest file");
        let fresh = backend.generate(&ask(&sentence), &|| false).unwrap();
        let elsewhere: Vec<String> = (0..5)
            .map(|i| format!("Directory: place{i}\nEntries: file{i}.txt\n"))
            .collect();
        for (i, context) in elsewhere.iter().enumerate() {
            let other = Ask {
                context,
                ..ask(&sentence)
            };
            let answer = backend.generate(&other, &|| false).unwrap();
            if i == 0 {
                let kept = backend.generate(&other, &|| false).unwrap();
                assert!(kept.prompt_tokens < answer.prompt_tokens, "slot not kept");
            }
        }
        let back = backend.generate(&ask(&sentence), &|| false).unwrap();
        assert_eq!(back.prompt_tokens, fresh.prompt_tokens, "it was evicted");
        assert_eq!(back.texts, fresh.texts);
    });
}

/// A prepared block is kept: the request that follows pays for its own tokens only and gets
/// the answer it would have got without the prepare. A prepare told to stop gives way after its
/// first small batch and keeps nothing half-done.
#[test]
fn a_prepared_context_is_kept_for_the_next_request() {
    with_backend(|backend| {
        let sentence = user_text("show the biggest file");
        let cold = backend.generate(&ask(&sentence), &|| false).unwrap();
        let place = "Directory: elsewhere\nEntries: a.txt, b.txt, c.txt, d.txt, e.txt\n";
        let block = prepared(backend, Ask::ahead(place, ""));
        assert!(block >= 10, "evaluated {block} tokens");
        assert_eq!(prepared(backend, Ask::ahead(place, "")), 0, "kept");
        let there = Ask {
            context: place,
            ..ask(&sentence)
        };
        let warm = backend.generate(&there, &|| false).unwrap();
        let request_tokens = cold.prompt_tokens - context_tokens(backend, CONTEXT);
        assert_eq!(warm.prompt_tokens, request_tokens);

        // Stopped: a long block is abandoned between batches and not kept.
        let long: String = (0..40).map(|i| format!("Entries: file{i}.txt\n")).collect();
        let calls = Cell::new(0);
        let stop_after_one = || {
            calls.set(calls.get() + 1);
            calls.get() > 1
        };
        let stopped = backend.prepare(&Ask::ahead(&long, ""), &stop_after_one);
        assert!(matches!(stopped, Err(BackendError::Stopped)), "{stopped:?}");
        assert!(
            prepared(backend, Ask::ahead(&long, "")) > 100,
            "a half block was kept"
        );
    });
}

/// A prepare with the line typed so far leaves the key press only what was typed after it, and
/// the answer is the one it would have been without it. A line edited since keeps the start it
/// shares; a repair keeps the request's details.
#[test]
fn the_line_typed_so_far_is_evaluated_before_the_key_press() {
    with_backend(|backend| {
        let sentence = user_text("show the biggest file here");
        prepared(backend, Ask::ahead(CONTEXT, ""));
        let alone = backend.generate(&ask(&sentence), &|| false).unwrap();
        // The same request again from scratch: drop what the first one left.
        prepared(backend, Ask::ahead(CONTEXT, ""));
        let whole = backend.generate(&ask(&sentence), &|| false).unwrap();
        assert_eq!(
            whole.prompt_tokens, alone.prompt_tokens,
            "nothing typed was held"
        );

        prepared(backend, Ask::ahead(CONTEXT, ""));
        let part = prepared(backend, Ask::ahead(CONTEXT, &user_text("show the biggest")));
        assert!(part >= 5, "evaluated {part} tokens of the line");
        let warm = backend.generate(&ask(&sentence), &|| false).unwrap();
        assert_eq!(warm.texts, alone.texts, "the prepare changed the answer");
        // The part's line end, evaluated ahead too, comes again after the rest.
        assert!(
            warm.prompt_tokens + part == alone.prompt_tokens + 1,
            "the key press evaluated {} tokens; alone {}, typed ahead {part}",
            warm.prompt_tokens,
            alone.prompt_tokens
        );
        prepared(backend, Ask::ahead(CONTEXT, ""));
        let typed = prepared(backend, Ask::ahead(CONTEXT, &sentence));

        // Typed in steps with a word changed on the way: each step evaluates only what is new.
        prepared(backend, Ask::ahead(CONTEXT, ""));
        let start = user_text("show the smallest");
        let first = prepared(backend, Ask::ahead(CONTEXT, &start));
        let edited = prepared(backend, Ask::ahead(CONTEXT, &sentence));
        assert!(
            edited < typed,
            "an edit re-evaluated the whole line ({edited} of {typed})"
        );
        assert!(
            first + edited > typed,
            "nothing was re-evaluated after the edit"
        );
        let after_edit = backend.generate(&ask(&sentence), &|| false).unwrap();
        assert_eq!(after_edit.texts, alone.texts);
        assert_eq!(after_edit.prompt_tokens, 0);

        // A repair's turn begins with the request's details, which the request left evaluated.
        let detailed = format!("notes.txt starts with:\n  buy milk\n  call mom\n{sentence}");
        backend.generate(&ask(&detailed), &|| false).unwrap();
        let repair = format!("{detailed}\nThat failed. Reply with a corrected command only.");
        let repaired = backend.generate(&ask(&repair), &|| false).unwrap();
        let repair_alone = {
            prepared(backend, Ask::ahead(CONTEXT, ""));
            backend.generate(&ask(&repair), &|| false).unwrap()
        };
        assert!(
            repaired.prompt_tokens + 5 < repair_alone.prompt_tokens,
            "the repair evaluated {} tokens, {} from scratch",
            repaired.prompt_tokens,
            repair_alone.prompt_tokens
        );
    });
}

/// The sentence opens the answer, so a prepare of a line evaluates all of the request, up to
/// the end of the answer's first line, and keeps the logits it ends in: the key press on that
/// line evaluates nothing before answering, and answers as it would have. The same line
/// prepared again evaluates nothing; a different line keeps what it shares and evaluates the
/// rest.
#[test]
fn a_prepared_line_leaves_the_key_press_nothing_to_evaluate() {
    with_backend(|backend| {
        let sentence = user_text("show the biggest file here");
        prepared(backend, Ask::ahead(CONTEXT, ""));
        let alone = backend.generate(&ask(&sentence), &|| false).unwrap();
        assert!(alone.prompt_tokens > 5, "{alone:?}");

        for _ in 0..2 {
            prepared(backend, Ask::ahead(CONTEXT, ""));
            let typed = prepared(backend, Ask::ahead(CONTEXT, &sentence));
            assert_eq!(typed, alone.prompt_tokens, "the whole request");
            assert_eq!(prepared(backend, Ask::ahead(CONTEXT, &sentence)), 0);
            let ready = backend.generate(&ask(&sentence), &|| false).unwrap();
            assert_eq!(ready.prompt_tokens, 0, "{ready:?}");
            assert_eq!(
                ready.texts, alone.texts,
                "the kept logits changed the answer"
            );
        }

        // Another line after a prepared one: only what differs is evaluated, ahead.
        prepared(backend, Ask::ahead(CONTEXT, &sentence));
        let other = user_text("show the biggest folder here");
        let changed = prepared(backend, Ask::ahead(CONTEXT, &other));
        assert!(
            (1..alone.prompt_tokens).contains(&changed),
            "{changed} of {}",
            alone.prompt_tokens
        );
        let after = backend.generate(&ask(&other), &|| false).unwrap();
        assert_eq!(after.prompt_tokens, 0, "{after:?}");
    });
}

/// Tokens the backend evaluates for `context` when it does not hold it: prepared into a slot.
fn context_tokens(backend: &mut dyn Backend, context: &str) -> u32 {
    // Already held (from the first request): evict it by preparing other places, then measure.
    for i in 0..5 {
        prepared(backend, Ask::ahead(&format!("Directory: filler{i}\n"), ""));
    }
    prepared(backend, Ask::ahead(context, ""))
}

/// Several candidates come from one request: the greedy one first, then the sampled ones that
/// finished, all of them real lines.
#[test]
fn several_candidates_are_decoded_side_by_side() {
    with_backend(|backend| {
        let sentence = user_text("find the text files here");
        let many = Ask {
            candidates: 4,
            ..ask(&sentence)
        };
        // A request leaves its own tokens evaluated: the runs compared below both start from
        // there, since a batch of another size may round the logits differently.
        backend.generate(&many, &|| false).unwrap();
        let generation = backend.generate(&many, &|| false).unwrap();
        assert!(
            (1..=4).contains(&generation.texts.len()),
            "{:?}",
            generation.texts
        );
        assert!(generation.output_tokens <= MAX_TOKENS);
        // Sampling is seeded by the request: the same request, the same candidates.
        let again = backend.generate(&many, &|| false).unwrap();
        assert_eq!(again.texts, generation.texts);
        // And the scratch sequences are gone: a single greedy answer is unaffected.
        let one = backend.generate(&ask(&sentence), &|| false).unwrap();
        let alone = backend.generate(&ask(&sentence), &|| false).unwrap();
        assert_eq!(one.texts, alone.texts);
    });
}

#[test]
fn generation_stops_between_tokens_when_asked() {
    with_backend(|backend| {
        let checks = Cell::new(0);
        let stop = || {
            checks.set(checks.get() + 1);
            checks.get() >= 3
        };
        let text = user_text("print a very long pipeline");
        let result = backend.generate(&ask(&text), &stop);
        assert!(matches!(result, Err(BackendError::Stopped)), "{result:?}");
        assert_eq!(
            checks.get(),
            3,
            "it must stop at the first check that says so"
        );
    });
}

/// The model's answers are checked like any other, and a repair request continues the cached
/// prefix: with an empty PATH every tool an answer runs is missing, so a repair round runs.
#[test]
fn answers_are_checked_and_repaired_with_the_real_model() {
    with_backend(|backend| {
        let request = request("list files sorted by size");
        let text = user_text(&request.sentence);
        // As in `several_candidates_are_decoded_side_by_side`: the first round of the review
        // finds the request's own tokens evaluated, and so does this answer.
        backend.generate(&ask(&text), &|| false).unwrap();
        let alone = backend.generate(&ask(&text), &|| false).unwrap();
        let first = prompt::extract_command(alone.text());
        let first_report = validate::check(&first, Shell::Bash, "", Path::new(&request.cwd));
        assert!(
            prompt::repair_text(&request, &first, &first_report).is_some(),
            "{first:?} needs no tool from PATH: pick another sentence"
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        let policy = review::Policy {
            candidates: 1,
            safety: validate::Safety::Normal,
        };
        let reviewed = review::generate(backend, &request, policy, deadline, &|| false).unwrap();
        assert!(
            reviewed.prompt_tokens > alone.prompt_tokens,
            "no repair round: {reviewed:?}"
        );
        let report = validate::check(&reviewed.command, Shell::Bash, "", Path::new(&request.cwd));
        assert_eq!(reviewed.report, report, "{reviewed:?}");
        if !reviewed.repaired {
            assert_eq!(
                reviewed.command, first,
                "no better repair keeps the first answer"
            );
        }
        eprintln!("first {first:?}, kept {:?}", reviewed.command);
    });
}

#[test]
fn a_missing_model_is_one_clear_line() {
    let spec = BackendSpec {
        chain: vec!["embedded".into()],
        model_path: "/nonexistent/model.gguf".into(),
        threads: 1,
        max_tokens: 8,
        fixed_turns: prompt::fixed_turns(),
        settings: Default::default(),
    };
    let err = backend::open(&spec, &mut |_| {}).unwrap_err().to_string();
    assert!(err.contains("/nonexistent/model.gguf"), "{err}");
    assert!(err.contains("cmdai model pull"), "{err}");
    assert_eq!(err.lines().count(), 1);
}
