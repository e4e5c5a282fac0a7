//! Fault detection and recovery orchestration (in progress).
