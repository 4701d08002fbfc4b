//! The pending decision at the bottom of the stack: an approval or a credential prompt,
//! derived from `State` (so a replay shows it exactly when the engineer saw it).

use super::approval::Approval;
use super::credential::Credential;
use super::layer::Layer;
use crate::event::{Pending, State};

/// The decision layer for the first pending call.
pub enum Decision {
    Approval(Approval),
    Credential(Credential),
}

impl Decision {
    /// The layer for what `pending` asks, on `call`; `hidden` keeps a set-aside prompt
    /// set aside when the same call moves from its approval to its credential.
    pub(crate) fn for_pending(state: &State, pending: &Pending, hidden: bool) -> Decision {
        let call = pending.call();
        match pending {
            Pending::Approval { .. } => Decision::Approval(Approval::new(
                call,
                state.calls[call].risk.is_destructive(),
                hidden,
            )),
            Pending::Credential { .. } => Decision::Credential(Credential::new(call, hidden)),
        }
    }

    /// Whether this layer is the one for `pending`.
    pub fn shows(&self, pending: &Pending) -> bool {
        self.call() == pending.call()
            && matches!(
                (self, pending),
                (Decision::Approval(_), Pending::Approval { .. })
                    | (Decision::Credential(_), Pending::Credential { .. })
            )
    }

    pub fn call(&self) -> usize {
        match self {
            Decision::Approval(a) => a.call,
            Decision::Credential(c) => c.call,
        }
    }

    /// Set aside (`review`) to read the transcript and the pager.
    pub fn hidden(&self) -> bool {
        match self {
            Decision::Approval(a) => a.hidden,
            Decision::Credential(c) => c.hidden,
        }
    }

    /// Whether the engineer is typing into it (a reason, an edited command).
    pub fn typing(&self) -> bool {
        match self {
            Decision::Approval(a) => a.typing(),
            Decision::Credential(_) => false,
        }
    }

    pub(crate) fn is_credential(&self) -> bool {
        matches!(self, Decision::Credential(_))
    }

    pub fn layer(&self) -> &dyn Layer {
        match self {
            Decision::Approval(a) => a,
            Decision::Credential(c) => c,
        }
    }

    pub(crate) fn layer_mut(&mut self) -> &mut dyn Layer {
        match self {
            Decision::Approval(a) => a,
            Decision::Credential(c) => c,
        }
    }
}
