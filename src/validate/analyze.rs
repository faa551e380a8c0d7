use super::{Shell, Verdict};

pub(super) fn assess(_command: &str, _shell: Shell) -> Verdict {
    Verdict::default()
}
