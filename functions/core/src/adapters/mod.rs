//! Implementations of the ports.
