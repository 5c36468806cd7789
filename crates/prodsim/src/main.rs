//! The `prodsim` command: parses arguments and hands over to `cli`.
#![forbid(unsafe_code)]

mod cli;
mod workshop;

fn main() -> std::process::ExitCode {
    quiet_broken_pipe();
    cli::main()
}

/// Exit status of a command whose reader went away, as a shell reports a process killed
/// by SIGPIPE (128 + 13).
const BROKEN_PIPE: i32 = 141;

/// A reader that stops early (`prodsim run FILE --narrate | head`) closes stdout, and
/// `println!` then panics on the broken pipe. That is not the command failing: exit at
/// once with the status a Unix tool killed by SIGPIPE has, instead of printing a panic.
/// Any other panic goes to the default hook unchanged.
fn quiet_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(BROKEN_PIPE);
        }
        default(info);
    }));
}
