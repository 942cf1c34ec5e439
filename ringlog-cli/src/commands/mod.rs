//! One module a subcommand (serve has its own, `crate::serve`).

pub mod dump;
pub mod run;
pub mod stat;
pub mod tail;
pub mod write;
