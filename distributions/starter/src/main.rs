//! `llama-stack`: the starter distribution's server binary.

fn main() -> std::process::ExitCode {
    lls_distribution_starter::link();
    lls_cli::main(lls_distribution_starter::DISTRIBUTION)
}
