//! The fallback chain: the backends config names, tried in order, the first available one
//! answering.
//!
//! Whether a backend is available is asked at most every [`RECHECK`]: a server that refused
//! a request, or a tool that is gone, is skipped until then without costing the user a
//! connection attempt per key press. A backend that could not even be opened (no llama-server
//! binary, a missing model) stays in the chain as down, with its reason, so that the others
//! still serve and status can say why.

use std::time::{Duration, Instant};

use super::{Ask, Backend, BackendError, BackendSpec, Generation, StopCheck};

/// How long an availability check is believed.
pub const RECHECK: Duration = Duration::from_secs(30);

/// Opens every backend of `spec.chain` and lends the chain to `serve`.
pub(super) fn open(
    spec: &BackendSpec,
    serve: &mut dyn FnMut(&mut dyn Backend),
) -> Result<(), BackendError> {
    let mut members = Vec::with_capacity(spec.chain.len());
    let mut local = None;
    for kind in &spec.chain {
        let slot = if kind == "embedded" {
            local = Some(members.len());
            Slot::Local
        } else {
            match super::open_owned(kind, spec) {
                Ok(backend) => Slot::Owned(backend),
                Err(err) => Slot::Broken(err),
            }
        };
        members.push(Member::new(kind, slot));
    }
    let Some(at) = local else {
        return serve_chain(Chain::new(members, None), serve);
    };
    // The embedded backend borrows its model, so it is lent for the time of a call: the chain
    // is built inside that call. If it cannot open, the others still serve.
    let mut pending = Some(members);
    let opened = super::open_embedded(spec, &mut |backend| {
        if let Some(members) = pending.take() {
            let _ = serve_chain(Chain::new(members, Some(backend)), serve);
        }
    });
    match (opened, pending) {
        (Err(err), Some(mut members)) => {
            members[at].slot = Slot::Broken(err);
            serve_chain(Chain::new(members, None), serve)
        }
        (result, _) => result,
    }
}

/// Serves the chain unless none of it could be opened: then that is the error.
fn serve_chain(
    mut chain: Chain<'_>,
    serve: &mut dyn FnMut(&mut dyn Backend),
) -> Result<(), BackendError> {
    if chain
        .members
        .iter()
        .all(|m| matches!(m.slot, Slot::Broken(_)))
    {
        return Err(chain.into_open_error());
    }
    serve(&mut chain);
    Ok(())
}

enum Slot {
    Owned(Box<dyn Backend>),
    /// The lent embedded backend, held by the chain beside the list.
    Local,
    Broken(BackendError),
}

struct Member {
    kind: String,
    slot: Slot,
    /// The last availability verdict and when it was reached.
    checked: Option<(Instant, Result<(), String>)>,
}

impl Member {
    fn new(kind: &str, slot: Slot) -> Member {
        Member {
            kind: kind.to_string(),
            slot,
            checked: None,
        }
    }
}

pub(super) struct Chain<'a> {
    members: Vec<Member>,
    local: Option<&'a mut dyn Backend>,
    /// The member that answered last (at first, the first one that opened): what `name` and
    /// `model` describe.
    current: usize,
}

impl<'a> Chain<'a> {
    fn new(members: Vec<Member>, local: Option<&'a mut dyn Backend>) -> Chain<'a> {
        let current = members
            .iter()
            .position(|m| !matches!(m.slot, Slot::Broken(_)))
            .unwrap_or(0);
        Chain {
            members,
            local,
            current,
        }
    }

    fn backend(&mut self, i: usize) -> Option<&mut dyn Backend> {
        match &mut self.members[i].slot {
            Slot::Owned(backend) => Some(backend.as_mut()),
            Slot::Local => match &mut self.local {
                Some(backend) => Some(&mut **backend),
                None => None,
            },
            Slot::Broken(_) => None,
        }
    }

    fn backend_ref(&self, i: usize) -> Option<&dyn Backend> {
        match &self.members[i].slot {
            Slot::Owned(backend) => Some(backend.as_ref()),
            Slot::Local => self.local.as_deref().map(|b| b as &dyn Backend),
            Slot::Broken(_) => None,
        }
    }

    /// Whether member `i` may be asked now: its cached verdict, or a fresh check when the
    /// verdict is older than [`RECHECK`].
    fn check(&mut self, i: usize, now: Instant) -> Result<(), String> {
        if let Slot::Broken(err) = &self.members[i].slot {
            return Err(err.to_string());
        }
        if let Some((at, verdict)) = &self.members[i].checked {
            if now.duration_since(*at) < RECHECK {
                return verdict.clone();
            }
        }
        let verdict = match self.backend(i).map(|b| b.available()) {
            Some(Ok(())) => Ok(()),
            Some(Err(err)) => Err(err.to_string()),
            None => Err("not open".into()),
        };
        self.members[i].checked = Some((now, verdict.clone()));
        verdict
    }

    fn into_open_error(mut self) -> BackendError {
        if self.members.len() == 1 {
            if let Slot::Broken(err) = self.members.remove(0).slot {
                return err;
            }
        }
        let reasons = self.members.iter().filter_map(|m| match &m.slot {
            Slot::Broken(err) => Some(format!("{}: {err}", m.kind)),
            _ => None,
        });
        BackendError::Unavailable(format!(
            "no backend could be opened: {}",
            reasons.collect::<Vec<_>>().join("; ")
        ))
    }
}

/// "openai" when it names itself so, else "openai (…)": how a down backend is reported.
fn labelled(kind: &str, why: &str) -> String {
    if why.starts_with(kind) {
        why.to_string()
    } else {
        format!("{kind}: {why}")
    }
}

impl Backend for Chain<'_> {
    fn name(&self) -> &str {
        match self.backend_ref(self.current) {
            Some(backend) => backend.name(),
            None => &self.members[self.current].kind,
        }
    }

    fn model(&self) -> &str {
        self.backend_ref(self.current)
            .map(|b| b.model())
            .unwrap_or_default()
    }

    fn fixed_prompt_tokens(&self) -> u32 {
        self.backend_ref(self.current)
            .map(|b| b.fixed_prompt_tokens())
            .unwrap_or_default()
    }

    fn generate(&mut self, ask: &Ask, stop: &dyn StopCheck) -> Result<Generation, BackendError> {
        let mut down: Vec<String> = Vec::new();
        let mut only_error = None;
        for i in 0..self.members.len() {
            if stop.should_stop() {
                return Err(BackendError::Stopped);
            }
            if let Err(why) = self.check(i, Instant::now()) {
                down.push(labelled(&self.members[i].kind, &why));
                continue;
            }
            let Some(backend) = self.backend(i) else {
                continue;
            };
            match backend.generate(ask, stop) {
                Ok(mut generation) => {
                    self.current = i;
                    if !down.is_empty() {
                        let kind = &self.members[i].kind;
                        generation.fallback = Some(format!("{}; {kind} answered", down.join("; ")));
                    }
                    return Ok(generation);
                }
                Err(BackendError::Stopped) => return Err(BackendError::Stopped),
                Err(err) => {
                    let why = err.to_string();
                    if matches!(err, BackendError::Unavailable(_)) {
                        self.members[i].checked = Some((Instant::now(), Err(why.clone())));
                    }
                    down.push(labelled(&self.members[i].kind, &why));
                    only_error = Some(err);
                }
            }
        }
        match (self.members.len(), only_error) {
            // One backend: its own error, as it said it.
            (1, Some(err)) => Err(err),
            (1, None) => Err(BackendError::Unavailable(down.join("; "))),
            _ => Err(BackendError::Unavailable(format!(
                "no backend could answer: {}",
                down.join("; ")
            ))),
        }
    }

    fn prepare(&mut self, ahead: &Ask, stop: &dyn StopCheck) -> Result<u32, BackendError> {
        // The first backend that would answer now gets the context; checking here, while the
        // user types, also keeps the availability verdicts fresh for the key press.
        for i in 0..self.members.len() {
            if self.check(i, Instant::now()).is_ok() {
                if let Some(backend) = self.backend(i) {
                    return backend.prepare(ahead, stop);
                }
            }
        }
        Ok(0)
    }
}

#[cfg(test)]
mod tests;
