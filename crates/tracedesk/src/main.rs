//! `tracedesk`: the one binary. See `tracedesk --help`.

mod admin;
mod bench;
mod bench_audit;
mod bench_checkins;
mod bench_dispatch;
mod bench_elr;
mod bench_linkage;
mod bench_outbox;
mod bench_reads;
mod bench_routing;
mod bench_webhooks;
mod cli;
mod config;
mod demo;
mod demo_staff;
mod elr_cmd;
mod linkage_cmd;
mod retention_cmd;
mod runtime;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(cli::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
