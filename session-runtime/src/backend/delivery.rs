//! Whether a statement lost with its connection may run again.

/// What a lost connection says about the statement sent on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The statement never ran: it can run again whatever it is.
    NotRun,
    /// It may have run, its answer lost: only a statement that does the
    /// same when run twice can run again.
    Unknown,
}
