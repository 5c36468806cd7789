//! The `prodsim` command: parses arguments and hands over to `cli`.
#![forbid(unsafe_code)]

mod cli;
mod workshop;

fn main() -> std::process::ExitCode {
    cli::main()
}
