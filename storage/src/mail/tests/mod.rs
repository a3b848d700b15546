//! Tests of the mail store against a real RocksDB in temporary directories.
mod corpus;
mod meta_corpus;
