//! Loom models of ftforest's concurrent primitives live in `tests/`.
//!
//! Run them with
//! `RUSTFLAGS="--cfg ftforest_loom" LOOM_MAX_PREEMPTIONS=3 cargo test --release -p ftforest-loom-tests`.
//! Without `--cfg ftforest_loom` every model compiles to nothing.
