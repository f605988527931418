//! (helper writing this)
