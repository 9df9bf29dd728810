//! Parsing and validation of the input, in the manner of serde_derive:
//! `attr` reads `#[session(...)]`, `ast` builds the model the expansion
//! reads, `check` finds what is wrong with it, and `Ctxt` gathers every
//! error on the way.

pub mod ast;
pub mod attr;
pub mod check;
pub mod ctxt;
pub mod field_type;
pub mod symbol;

pub use ctxt::Ctxt;
