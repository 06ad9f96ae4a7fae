//! An admission plugin for tests that records every call, in order (`testing` feature): what the
//! registry's admission tests and navigator-apiserver's assert on.

use std::sync::Mutex;

use crate::registry::admission::{AdmissionPlugin, AdmissionRequest, Refusal};

/// Which phase a plugin call was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The mutating phase (`admit`).
    Admit,
    /// The validating phase (`validate`).
    Validate,
}

/// Records every call, in order; admits everything unchanged.
#[derive(Debug, Default)]
pub struct Recorder {
    seen: Mutex<Vec<(Phase, AdmissionRequest)>>,
}

impl Recorder {
    /// The calls since the last `take`, in order.
    ///
    /// # Panics
    /// When a recording thread panicked while holding the lock.
    #[allow(clippy::expect_used)]
    pub fn take(&self) -> Vec<(Phase, AdmissionRequest)> {
        std::mem::take(&mut *self.seen.lock().expect("lock"))
    }

    fn record(&self, phase: Phase, req: &AdmissionRequest) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.push((phase, req.clone()));
        }
    }
}

#[async_trait::async_trait]
impl AdmissionPlugin for Recorder {
    fn name(&self) -> &str {
        "Recorder"
    }
    async fn admit(&self, req: &mut AdmissionRequest) -> Result<(), Refusal> {
        self.record(Phase::Admit, req);
        Ok(())
    }
    async fn validate(&self, req: &AdmissionRequest) -> Result<(), Refusal> {
        self.record(Phase::Validate, req);
        Ok(())
    }
}
