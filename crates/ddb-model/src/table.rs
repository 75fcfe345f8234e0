//! Table definitions (to be written).
