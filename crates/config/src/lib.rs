//! run.yaml: env expansion, typed parsing with error paths, validation without I/O.
