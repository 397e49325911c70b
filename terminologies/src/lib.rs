//! Terminologies: the standard code systems kakehashi emits, tracked mapping tables
//! (status, equivalence, author, reviewer, provenance, version) and the lookup API
//! mappers use. No file I/O: tables are parsed from bytes the caller read.

#![deny(missing_docs)]
