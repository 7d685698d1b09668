//! Generated artifacts (metadata, runtime version, genesis, conformance vectors).
