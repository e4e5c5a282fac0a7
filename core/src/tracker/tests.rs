//! Unit tests of the tracker internals (bit layout, repair paths).
