//! MNIST from the standard IDX files.
