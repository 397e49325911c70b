//! Mappers: pure functions from parsed records and mapping tables to FHIR resources
//! and diagnostics. No I/O, no clock, no randomness: the same input gives the same
//! output, and every emitted coding traces back to the table row that produced it.

#![deny(missing_docs)]
