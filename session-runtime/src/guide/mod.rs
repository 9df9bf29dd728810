//! The guide: how a derived store behaves, chapter by chapter.
//!
//! Each chapter is a Markdown file beside this one, included as the
//! chapter module's documentation, so every example in it is a doctest.
