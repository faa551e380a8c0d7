//! llama.cpp in process (llama-cpp-2): the default backend.
//!
//! The fixed part of the conversation is evaluated once into sequence 0 of the KV cache. A
//! request's shared part (the client's context block) is kept in one of a few slots, each a
//! sequence that shares the fixed prefix's cells and adds its own; a request from the same place
//! finds its slot and evaluates only its own tokens.
//!
//! Each answer begins with its sentence as a comment line (`prompt::lead_answer`), so the
//! template's closing tokens come before the sentence and only the comment's line end after it.
//! While the user types, a prepare evaluates the line so far after the block (its details, the
//! closing, the sentence so far) and the line end, keeping the logits it ends in: a key press on
//! that line decodes nothing before its first answer token. A key press on a line typed further
//! keeps whatever start of the line still matches and pays for the rest. Candidates are decoded side by side, one sequence each, all
//! sharing the request's cells: the first greedily, the others sampled, in one batch per step,
//! until end-of-turn, a finished line, a loop or the token cap.

use std::num::NonZeroU32;
use std::sync::OnceLock;

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::data::LlamaTokenData;
use llama_cpp_2::token::data_array::LlamaTokenDataArray;
use llama_cpp_2::token::LlamaToken;

use super::{Ask, Backend, BackendError, BackendSpec, Generation, StopCheck};
use crate::prompt::{self, Turn};

/// Room for the fixed prompt, the kept context blocks, the request and the answers.
const CONTEXT_TOKENS: u32 = 6144;
const BATCH_TOKENS: usize = 512;
/// A prepare evaluates in small batches so that a key press waits at most one of them.
const PREPARE_CHUNK: usize = 32;
/// Cells a prepared block leaves free for the request that follows it, beside its answer; also
/// the most of a typed line a prepare evaluates.
const PREPARE_ROOM: usize = 256;
/// Context blocks kept evaluated, least recently used evicted first.
const SLOTS: usize = 4;
/// The most candidates one request may ask for.
pub const MAX_CANDIDATES: u32 = 4;
/// Sequence 0 holds the fixed prefix; slots follow; then one scratch sequence per extra candidate.
const FIRST_SCRATCH: i32 = 1 + SLOTS as i32;
/// How far sampled candidates stray from the greedy one.
const TEMPERATURE: f32 = 0.6;
/// Marks where the request goes when the chat template renders the conversation.
const SENTINEL: &str = "\u{1}cmdai-request\u{1}";

/// llama.cpp's global state may be initialised once per process.
fn llama() -> Result<&'static LlamaBackend, BackendError> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            llama_cpp_2::send_logs_to_tracing(
                llama_cpp_2::LogOptions::default().with_logs_enabled(false),
            );
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| BackendError::Generate(format!("llama.cpp failed to initialise: {e}")))
}

pub fn open(
    spec: &BackendSpec,
    serve: &mut dyn FnMut(&mut dyn Backend),
) -> Result<(), BackendError> {
    crate::model::check_file(&spec.model_path)?;
    let load_error = |message: String| BackendError::Load {
        path: spec.model_path.clone(),
        message,
        fix: crate::model::fix_for_path(&spec.model_path),
    };
    let llama = llama()?;
    // On a CPU, llama.cpp repacks the weights into its own layout in anonymous memory; with the
    // file also mapped, the daemon would hold the weights twice (2.0 GB resident for a 1.1 GB
    // model, against 1.4 GB read). GPU builds keep the map, which their buffers use directly.
    let mmap = cfg!(any(feature = "cuda", feature = "metal", feature = "vulkan"));
    let model_params = LlamaModelParams::default().with_use_mmap(mmap);
    let model = LlamaModel::load_from_file(llama, &spec.model_path, &model_params)
        .map_err(|e| load_error(e.to_string()))?;
    let threads = spec.threads as i32;
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(CONTEXT_TOKENS))
        .with_n_batch(BATCH_TOKENS as u32)
        .with_n_seq_max(FIRST_SCRATCH as u32 + MAX_CANDIDATES)
        // One cache for all sequences, so a copied prefix shares its cells instead of its bytes.
        .with_kv_unified(true)
        .with_n_threads(threads)
        .with_n_threads_batch(threads);
    let ctx = model
        .new_context(llama, params)
        .map_err(|e| load_error(e.to_string()))?;
    // The template is ours to complete, so each answer begins with its sentence (see
    // `prompt::lead_answer`): the examples too.
    let turns = prompt::led_turns(&spec.fixed_turns);
    let (prefix, closing) = split_template(&model, &turns).map_err(load_error)?;
    let mut session = Embedded {
        model_name: model_name(spec),
        model: &model,
        ctx,
        prefix_len: 0,
        // Parsed for special tokens: it is the template's own text.
        closing: model.vocab().tokenize(closing.as_bytes(), false, true),
        line_end: model.vocab().tokenize(b"\n", false, false),
        max_tokens: spec.max_tokens,
        slots: Vec::new(),
        clock: 0,
    };
    session.evaluate_prefix(&prefix)?;
    serve(&mut session);
    Ok(())
}

fn model_name(spec: &BackendSpec) -> String {
    spec.model_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Renders the fixed turns plus a placeholder request with the model's own chat template, and
/// splits at the placeholder: what comes before is cacheable, what follows closes every request.
fn split_template(model: &LlamaModel, turns: &[Turn]) -> Result<(String, String), String> {
    let mut chat = turns
        .iter()
        .map(|t| LlamaChatMessage::new(t.role.into(), t.content.clone()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    chat.push(LlamaChatMessage::new("user".into(), SENTINEL.into()).map_err(|e| e.to_string())?);
    let render = |template: &LlamaChatTemplate| model.apply_chat_template(template, &chat, true);
    // Models without a usable template of their own get ChatML, which most instruct models know.
    let rendered = model
        .chat_template(None)
        .ok()
        .and_then(|t| render(&t).ok())
        .or_else(|| render(&LlamaChatTemplate::new("chatml").ok()?).ok())
        .ok_or("the model's chat template could not be applied")?;
    let (prefix, suffix) = rendered
        .split_once(SENTINEL)
        .ok_or("the chat template dropped the request")?;
    Ok((prefix.to_string(), suffix.to_string()))
}

struct Embedded<'m> {
    model_name: String,
    model: &'m LlamaModel,
    ctx: LlamaContext<'m>,
    /// Tokens of the fixed prefix held in the KV cache.
    prefix_len: usize,
    /// The template's tokens that close the user turn and open the answer, tokenized once.
    closing: Vec<LlamaToken>,
    /// The end of the line that opens an answer with its sentence.
    line_end: Vec<LlamaToken>,
    max_tokens: u32,
    slots: Vec<Slot>,
    /// Ticks once per request, to find the least recently used slot.
    clock: u64,
}

/// A context block evaluated after the fixed prefix in its own sequence.
struct Slot {
    seq: i32,
    text: String,
    /// Position after the block: where a request starts.
    end: usize,
    /// Request tokens held after the block: the line typed so far, up to its line end, or the
    /// last request's own tokens (which a second key press begins with).
    typed: Vec<LlamaToken>,
    /// The logits after the last of `typed`, kept by a prepare that evaluated a whole request:
    /// the first answer token of a request made of exactly those tokens is sampled from them.
    /// Dropped whenever `typed` changes.
    ready: Option<Vec<f32>>,
    used: u64,
}

/// A request's tokens, as the model reads them.
struct RequestTokens {
    tokens: Vec<LlamaToken>,
    /// How many come before the template's own tokens at the end: the request's own, which a
    /// request beginning the same way shares.
    own: usize,
    /// The sentence opens the answer (`prompt::lead_answer`): only its line end follows it.
    led: bool,
}

/// One candidate being decoded.
struct Candidate {
    seq: i32,
    sampler: LlamaSampler,
    text: Vec<u8>,
    tokens: Vec<LlamaToken>,
    /// Its logits' index in the last batch (unused at the first step when the slot's kept
    /// logits start the answer).
    logits: i32,
    done: bool,
    /// Ended cleanly (end of turn or a finished line), not at the cap or in a loop.
    finished: bool,
}

fn generate_error(e: impl std::fmt::Display) -> BackendError {
    BackendError::Generate(format!("generation failed: {e}"))
}

impl Embedded<'_> {
    fn evaluate_prefix(&mut self, prefix: &str) -> Result<(), BackendError> {
        let tokens = self.model.vocab().tokenize(prefix.as_bytes(), true, true);
        self.decode_at(&tokens, 0, 0, BATCH_TOKENS, &|| false)?;
        self.prefix_len = tokens.len();
        Ok(())
    }

    /// Evaluates `tokens` into sequence `seq` from position `start`, in batches of `chunk`,
    /// asking `stop` between batches; logits for the last only.
    fn decode_at(
        &mut self,
        tokens: &[LlamaToken],
        start: usize,
        seq: i32,
        chunk: usize,
        stop: &dyn StopCheck,
    ) -> Result<LlamaBatch<'static>, BackendError> {
        let mut batch = LlamaBatch::new(chunk, 1);
        for (chunk_index, part) in tokens.chunks(chunk).enumerate() {
            if chunk_index > 0 && stop.should_stop() {
                return Err(BackendError::Stopped);
            }
            batch.clear();
            let offset = start + chunk_index * chunk;
            let last_chunk = offset + part.len() == start + tokens.len();
            for (i, token) in part.iter().enumerate() {
                let is_last = last_chunk && i + 1 == part.len();
                batch
                    .add(*token, (offset + i) as i32, &[seq], is_last)
                    .map_err(generate_error)?;
            }
            self.ctx.decode(&mut batch).map_err(generate_error)?;
        }
        Ok(batch)
    }

    fn tokenize_text(&self, text: &str) -> Vec<LlamaToken> {
        // The user's words are never parsed for special tokens: a sentence cannot close the turn.
        self.model.vocab().tokenize(text.as_bytes(), false, false)
    }

    /// The request's tokens, up to where the answer starts. With a request line, the user's
    /// turn and the template's closing, then the answer's first line (the sentence) and its end;
    /// without one, the text and the closing.
    fn request_tokens(&self, request: &str) -> RequestTokens {
        let Some((user, lead)) = prompt::lead_answer(request) else {
            let mut tokens = self.tokenize_text(request);
            let own = tokens.len();
            tokens.extend_from_slice(&self.closing);
            return RequestTokens {
                tokens,
                own,
                led: false,
            };
        };
        let mut tokens = self.tokenize_text(&user);
        tokens.extend_from_slice(&self.closing);
        tokens.extend(self.tokenize_text(&lead));
        let own = tokens.len();
        tokens.extend_from_slice(&self.line_end);
        RequestTokens {
            tokens,
            own,
            led: true,
        }
    }

    /// The slot holding `context`, evaluating it into the least recently used slot first when
    /// none does, in batches of `chunk` with `stop` asked between them. Returns the slot's
    /// index and the tokens evaluated.
    fn slot_for(
        &mut self,
        context: &str,
        room: usize,
        chunk: usize,
        stop: &dyn StopCheck,
    ) -> Result<(usize, usize), BackendError> {
        self.clock += 1;
        if let Some(index) = self.slots.iter().position(|s| s.text == context) {
            self.slots[index].used = self.clock;
            return Ok((index, 0));
        }
        let tokens = self.tokenize_text(context);
        // Evict until the new block, the request and its answers fit beside the others.
        let needed = self.prefix_len + tokens.len() + room;
        while !self.slots.is_empty()
            && (self.slots.len() >= SLOTS
                || self.cells_in_slots() + needed > CONTEXT_TOKENS as usize)
        {
            let lru = (0..self.slots.len())
                .min_by_key(|&i| self.slots[i].used)
                .unwrap_or(0);
            let evicted = self.slots.swap_remove(lru);
            self.ctx
                .clear_kv_cache_seq(Some(evicted.seq as u32), None, None)
                .map_err(generate_error)?;
        }
        if needed > CONTEXT_TOKENS as usize {
            return Err(BackendError::Generate(format!(
                "generation failed: request too long: {} tokens, at most {}",
                tokens.len() + room,
                CONTEXT_TOKENS as usize - self.prefix_len
            )));
        }
        let seq = (1..=SLOTS as i32)
            .find(|seq| self.slots.iter().all(|s| s.seq != *seq))
            .unwrap_or(1);
        let prefix = self.prefix_len as u32;
        self.ctx
            .copy_kv_cache_seq(0, seq, None, Some(prefix))
            .map_err(generate_error)?;
        let slot = Slot {
            seq,
            text: context.to_string(),
            end: self.prefix_len + tokens.len(),
            typed: Vec::new(),
            ready: None,
            used: self.clock,
        };
        // Push first: if decoding fails, the next eviction clears whatever it left.
        self.slots.push(slot);
        if !tokens.is_empty() {
            if let Err(err) = self.decode_at(&tokens, self.prefix_len, seq, chunk, stop) {
                let slot = self.slots.pop().expect("just pushed");
                let _ = self
                    .ctx
                    .clear_kv_cache_seq(Some(slot.seq as u32), None, None);
                return Err(err);
            }
        }
        Ok((self.slots.len() - 1, tokens.len()))
    }

    /// Cells the kept context blocks and their typed lines hold beyond the shared prefix.
    fn cells_in_slots(&self) -> usize {
        let held = |s: &Slot| s.end - self.prefix_len + s.typed.len();
        self.slots.iter().map(held).sum()
    }

    /// Brings the slot's typed tokens to `tokens`: keeps the start they share, drops the rest
    /// and evaluates what is new, `chunk` tokens at a time, asking `stop` before each batch.
    /// What was evaluated before a stop stays. With `keep_logits`, the logits after the last
    /// token are kept (its last token is evaluated again if they are not at hand). Returns the
    /// tokens evaluated.
    fn extend_typed(
        &mut self,
        slot: usize,
        tokens: &[LlamaToken],
        chunk: usize,
        keep_logits: bool,
        stop: &dyn StopCheck,
    ) -> Result<usize, BackendError> {
        let mut shared = common_start(&self.slots[slot].typed, tokens);
        if keep_logits && shared == tokens.len() && self.slots[slot].ready.is_none() {
            shared = shared.saturating_sub(1);
        }
        self.keep_typed(slot, shared)?;
        let held = self.slots[slot].typed.len();
        for part in tokens[held..].chunks(chunk) {
            if stop.should_stop() {
                return Err(BackendError::Stopped);
            }
            let Slot { seq, end, .. } = self.slots[slot];
            let at = end + self.slots[slot].typed.len();
            self.slots[slot].ready = None;
            if let Err(err) = self.decode_at(part, at, seq, chunk, &|| false) {
                let _ = self
                    .ctx
                    .clear_kv_cache_seq(Some(seq as u32), Some(at as u32), None);
                return Err(err);
            }
            self.slots[slot].typed.extend_from_slice(part);
            if keep_logits && self.slots[slot].typed.len() == tokens.len() {
                let logits = self.ctx.get_logits_ith(part.len() as i32 - 1);
                self.slots[slot].ready = Some(logits.to_vec());
            }
        }
        Ok(tokens.len() - held)
    }

    /// Keeps the first `count` typed tokens of the slot and forgets the rest.
    fn keep_typed(&mut self, slot: usize, count: usize) -> Result<(), BackendError> {
        let Slot { seq, end, .. } = self.slots[slot];
        if count < self.slots[slot].typed.len() {
            self.slots[slot].ready = None;
            self.ctx
                .clear_kv_cache_seq(Some(seq as u32), Some((end + count) as u32), None)
                .map_err(generate_error)?;
            self.slots[slot].typed.truncate(count);
        }
        Ok(())
    }

    /// Drops everything past the slot's block and the first `keep` tokens of `request`, in its
    /// sequence and in the scratch ones; those tokens become the slot's typed ones.
    fn trim(
        &mut self,
        slot: usize,
        candidates: u32,
        request: &[LlamaToken],
        keep: usize,
    ) -> Result<(), BackendError> {
        let Slot { seq, end, .. } = self.slots[slot];
        self.slots[slot].typed = request[..keep].to_vec();
        self.slots[slot].ready = None;
        self.ctx
            .clear_kv_cache_seq(Some(seq as u32), Some((end + keep) as u32), None)
            .map_err(generate_error)?;
        for extra in 0..candidates.saturating_sub(1) as i32 {
            let scratch = (FIRST_SCRATCH + extra) as u32;
            self.ctx
                .clear_kv_cache_seq(Some(scratch), None, None)
                .map_err(generate_error)?;
        }
        Ok(())
    }

    /// Decodes `request` after the slot's block, its first `held` tokens being in the cache
    /// already, then the candidates. When all of it is held, `ready` holds the logits that
    /// start the answer.
    fn decode_candidates(
        &mut self,
        slot: usize,
        request: &[LlamaToken],
        held: usize,
        ready: Option<Vec<f32>>,
        count: u32,
        stop: &dyn StopCheck,
    ) -> Result<Vec<Candidate>, BackendError> {
        let Slot { seq, end, .. } = self.slots[slot];
        let last = match ready {
            Some(_) => 0,
            None => {
                let batch =
                    self.decode_at(&request[held..], end + held, seq, BATCH_TOKENS, stop)?;
                batch.n_tokens() - 1
            }
        };
        let start = end + request.len();
        let seed = request
            .iter()
            .fold(0x9e37_79b9_u32, |h, t| h.rotate_left(5) ^ (t.0 as u32));
        let mut candidates = vec![Candidate::new(seq, LlamaSampler::greedy(), last)];
        for extra in 0..count.saturating_sub(1) {
            let scratch = FIRST_SCRATCH + extra as i32;
            // The request's cells gain one more owner; nothing is copied.
            self.ctx
                .copy_kv_cache_seq(seq, scratch, None, Some(start as u32))
                .map_err(generate_error)?;
            let sampler = LlamaSampler::chain_simple([
                LlamaSampler::top_k(40),
                LlamaSampler::top_p(0.95, 1),
                LlamaSampler::temp(TEMPERATURE),
                LlamaSampler::dist(seed.wrapping_add(extra)),
            ]);
            candidates.push(Candidate::new(scratch, sampler, last));
        }
        let vocab = self.model.vocab();
        let mut batch = LlamaBatch::new(candidates.len(), 1);
        for step in 0..self.max_tokens as usize {
            if stop.should_stop() {
                return Err(BackendError::Stopped);
            }
            batch.clear();
            for candidate in candidates.iter_mut().filter(|c| !c.done) {
                let token = match (&ready, step) {
                    (Some(logits), 0) => sample_from(logits, &mut candidate.sampler),
                    _ => candidate.sampler.sample(&self.ctx, candidate.logits),
                };
                if vocab.is_eog(token) {
                    candidate.finish(true);
                    continue;
                }
                candidate.tokens.push(token);
                candidate
                    .text
                    .extend(vocab.token_to_piece(token, false, None));
                if prompt::line_complete(&String::from_utf8_lossy(&candidate.text)) {
                    candidate.finish(true);
                } else if looping(&candidate.tokens) {
                    candidate.finish(false);
                } else if step + 1 < self.max_tokens as usize {
                    candidate.logits = batch.n_tokens();
                    batch
                        .add(token, (start + step) as i32, &[candidate.seq], true)
                        .map_err(generate_error)?;
                }
            }
            if batch.n_tokens() == 0 {
                break;
            }
            self.ctx.decode(&mut batch).map_err(generate_error)?;
        }
        Ok(candidates)
    }
}

impl Candidate {
    fn new(seq: i32, sampler: LlamaSampler, logits: i32) -> Candidate {
        Candidate {
            seq,
            sampler,
            text: Vec::new(),
            tokens: Vec::new(),
            logits,
            done: false,
            finished: false,
        }
    }

    fn finish(&mut self, cleanly: bool) {
        self.done = true;
        self.finished = cleanly;
    }
}

/// Samples a token from logits kept from an earlier batch, as `LlamaSampler::sample` does from
/// the context's.
fn sample_from(logits: &[f32], sampler: &mut LlamaSampler) -> LlamaToken {
    let data = logits
        .iter()
        .enumerate()
        .map(|(id, &logit)| LlamaTokenData::new(LlamaToken(id as i32), logit, 0.0));
    let mut array = LlamaTokenDataArray::from_iter(data, false);
    array.apply_sampler(sampler);
    // Every sampler chain used here ends in one that selects (greedy or dist).
    let token = array.selected_token().unwrap_or(LlamaToken(0));
    sampler.accept(token);
    token
}

/// How many tokens `a` and `b` share from the start.
fn common_start(a: &[LlamaToken], b: &[LlamaToken]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// True when the answer ends in the same few tokens over and over: a small model stuck
/// repeating (`000000…`, `| | | |…`) never finishes the line on its own.
fn looping(tokens: &[LlamaToken]) -> bool {
    (1..=8).any(|period: usize| {
        let span = (period * 3).max(12);
        tokens.len() >= span && {
            let tail = &tokens[tokens.len() - span..];
            tail.iter().zip(&tail[period..]).all(|(a, b)| a == b)
        }
    })
}

impl Backend for Embedded<'_> {
    fn name(&self) -> &str {
        "embedded"
    }

    fn model(&self) -> &str {
        &self.model_name
    }

    fn fixed_prompt_tokens(&self) -> u32 {
        self.prefix_len as u32
    }

    fn generate(&mut self, ask: &Ask, stop: &dyn StopCheck) -> Result<Generation, BackendError> {
        let count = ask.candidates.clamp(1, MAX_CANDIDATES);
        let RequestTokens {
            tokens: request,
            own,
            ..
        } = self.request_tokens(ask.request);
        let room = request.len() + (count * self.max_tokens) as usize;
        let (slot, context_tokens) = self.slot_for(ask.context, room, BATCH_TOKENS, stop)?;
        // The line as typed may be evaluated already, to its line end, with the logits it ends
        // in. Without those logits the last token is decoded again: its logits start the answer.
        let shared = common_start(&self.slots[slot].typed, &request);
        let ready = match shared == request.len() {
            true => self.slots[slot].ready.take(),
            false => None,
        };
        let held = match ready {
            Some(_) => shared,
            None => shared.min(request.len() - 1),
        };
        self.keep_typed(slot, held)?;
        let decoded = self.decode_candidates(slot, &request, held, ready, count, stop);
        // Whatever happened, the next request must find only the fixed prefix, the blocks and
        // request text known to be evaluated, which a repair or a second key press begins with.
        let keep = if decoded.is_ok() { own } else { held.min(own) };
        self.trim(slot, count, &request, keep)?;
        let candidates = decoded?;
        let output_tokens = candidates.iter().map(|c| c.tokens.len()).max().unwrap_or(0);
        let mut texts = Vec::new();
        for (i, candidate) in candidates.into_iter().enumerate() {
            // The greedy answer is always kept, finished or not: it may still be a command.
            if i == 0 || candidate.finished {
                texts.push(String::from_utf8_lossy(&candidate.text).into_owned());
            }
        }
        Ok(Generation {
            fallback: None,
            texts,
            prompt_tokens: (context_tokens + request.len() - held) as u32,
            output_tokens: output_tokens as u32,
        })
    }

    fn prepare(&mut self, ahead: &Ask, stop: &dyn StopCheck) -> Result<u32, BackendError> {
        // Room for a typical request beside it: a few lines of details and one answer.
        let room = PREPARE_ROOM + self.max_tokens as usize;
        let (slot, block) = self.slot_for(ahead.context, room, PREPARE_CHUNK, stop)?;
        let request = self.request_tokens(ahead.request);
        // With the sentence last, only the line end follows it: one more token in the batch
        // the key stroke costs anyway, and then the key press on this line decodes nothing
        // before its first answer token. Anything else (the empty line of a fresh prompt, which
        // drops what the last request left) is evaluated without the template's own tokens.
        let whole = request.led && request.tokens.len() <= PREPARE_ROOM;
        let mut typed = request.tokens;
        if !whole {
            typed.truncate(request.own.min(PREPARE_ROOM));
        }
        let line = self.extend_typed(slot, &typed, PREPARE_CHUNK, whole, stop)?;
        Ok((block + line) as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(ids: &[i32]) -> Vec<LlamaToken> {
        ids.iter().map(|&id| LlamaToken(id)).collect()
    }

    #[test]
    fn a_repeated_tail_is_a_loop() {
        assert!(looping(&tokens(&[5; 12])));
        assert!(looping(&tokens(&[9, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3])));
        assert!(!looping(&tokens(&[5; 11])));
        assert!(!looping(&tokens(&[
            1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13
        ])));
    }
}
