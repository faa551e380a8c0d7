//! llama.cpp in process (llama-cpp-2): the default backend.
//!
//! The fixed part of the conversation is evaluated once into sequence 0 of the KV cache. Each
//! request trims the cache back to that prefix, evaluates only its own tokens, and decodes
//! greedily until end-of-turn, a finished line, or the token cap.

use std::num::NonZeroU32;
use std::sync::OnceLock;

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;

use super::{Backend, BackendError, BackendSpec, Generation, StopCheck};
use crate::prompt::{self, Turn};

/// Room for the fixed prompt, the request and the answer.
const CONTEXT_TOKENS: u32 = 4096;
const BATCH_TOKENS: usize = 512;
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
    let model = LlamaModel::load_from_file(llama, &spec.model_path, &LlamaModelParams::default())
        .map_err(|e| load_error(e.to_string()))?;
    let threads = spec.threads as i32;
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(CONTEXT_TOKENS))
        .with_n_batch(BATCH_TOKENS as u32)
        .with_n_threads(threads)
        .with_n_threads_batch(threads);
    let ctx = model
        .new_context(llama, params)
        .map_err(|e| load_error(e.to_string()))?;
    let (prefix, suffix) = split_template(&model, &spec.fixed_turns).map_err(load_error)?;
    let mut session = Embedded {
        model_name: model_name(spec),
        model: &model,
        ctx,
        prefix_len: 0,
        suffix,
        max_tokens: spec.max_tokens,
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
    /// Template text that closes the user turn and opens the answer.
    suffix: String,
    max_tokens: u32,
}

impl Embedded<'_> {
    fn evaluate_prefix(&mut self, prefix: &str) -> Result<(), BackendError> {
        let tokens = self.model.vocab().tokenize(prefix.as_bytes(), true, true);
        self.decode_at(&tokens, 0)?;
        self.prefix_len = tokens.len();
        Ok(())
    }

    /// Evaluates `tokens` starting at position `start`, in batches; logits for the last only.
    fn decode_at(
        &mut self,
        tokens: &[LlamaToken],
        start: usize,
    ) -> Result<LlamaBatch<'static>, BackendError> {
        let mut batch = LlamaBatch::new(BATCH_TOKENS, 1);
        for (chunk_index, chunk) in tokens.chunks(BATCH_TOKENS).enumerate() {
            batch.clear();
            let offset = start + chunk_index * BATCH_TOKENS;
            let last_chunk = offset + chunk.len() == start + tokens.len();
            for (i, token) in chunk.iter().enumerate() {
                let is_last = last_chunk && i + 1 == chunk.len();
                batch
                    .add(*token, (offset + i) as i32, &[0], is_last)
                    .map_err(|e| BackendError::Generate(e.to_string()))?;
            }
            self.ctx
                .decode(&mut batch)
                .map_err(|e| BackendError::Generate(e.to_string()))?;
        }
        Ok(batch)
    }

    fn request_tokens(&self, user_text: &str) -> Vec<LlamaToken> {
        let vocab = self.model.vocab();
        // The user's words are never parsed for special tokens: a sentence cannot close the turn.
        let mut tokens = vocab.tokenize(user_text.as_bytes(), false, false);
        tokens.extend(vocab.tokenize(self.suffix.as_bytes(), false, true));
        tokens
    }
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

    fn generate(
        &mut self,
        user_text: &str,
        stop: &dyn StopCheck,
    ) -> Result<Generation, BackendError> {
        let tokens = self.request_tokens(user_text);
        let budget = CONTEXT_TOKENS as usize - self.prefix_len - self.max_tokens as usize;
        if tokens.len() > budget {
            return Err(BackendError::Generate(format!(
                "request too long: {} tokens, at most {budget}",
                tokens.len()
            )));
        }
        self.ctx
            .clear_kv_cache_seq(Some(0), Some(self.prefix_len as u32), None)
            .map_err(|e| BackendError::Generate(e.to_string()))?;
        let mut batch = self.decode_at(&tokens, self.prefix_len)?;
        let mut position = self.prefix_len + tokens.len();
        let vocab = self.model.vocab();
        let mut sampler = LlamaSampler::greedy();
        let mut text = Vec::new();
        let mut output_tokens = 0;
        while output_tokens < self.max_tokens {
            if stop.should_stop() {
                return Err(BackendError::Stopped);
            }
            let token = sampler.sample(&self.ctx, batch.n_tokens() - 1);
            if vocab.is_eog(token) {
                break;
            }
            output_tokens += 1;
            text.extend(vocab.token_to_piece(token, false, None));
            if prompt::line_complete(&String::from_utf8_lossy(&text)) {
                break;
            }
            batch.clear();
            batch
                .add(token, position as i32, &[0], true)
                .map_err(|e| BackendError::Generate(e.to_string()))?;
            self.ctx
                .decode(&mut batch)
                .map_err(|e| BackendError::Generate(e.to_string()))?;
            position += 1;
        }
        Ok(Generation {
            text: String::from_utf8_lossy(&text).into_owned(),
            prompt_tokens: tokens.len() as u32,
            output_tokens,
        })
    }
}
