//! A program whose tensors each fit in memory but together outgrow the machine is a
//! runtime error with a message before anything is allocated (SPEC §4), never an
//! allocation abort.

use tensorc::{Backend, Error, Session};

fn mem_total() -> u64 {
    let text = std::fs::read_to_string("/proc/meminfo").expect("/proc/meminfo");
    let line = text.lines().find_map(|l| l.strip_prefix("MemTotal:")).expect("MemTotal");
    line.trim().trim_end_matches("kB").trim().parse::<u64>().expect("a number") * 1024
}

#[test]
fn live_memory_beyond_the_machine_is_refused_before_running() {
    // Two f32 operands of 0.6 × physical memory each: either alone passes the
    // single-tensor limit (E0307), but the matrix product needs both at once.
    let k = mem_total() * 6 / 10 / 4 / 2;
    let source = format!("fn main() {{ let a = random_uniform(1, (2, {k})); let b = random_uniform(2, (2, {k})); a @ transpose(b, (1, 0)) }}");
    for backend in [Backend::Interp, Backend::Cpu] {
        let module = Session::new(backend).unwrap().compile_source("big.tc", source.as_str()).unwrap();
        match module.call_bound("main", &[]) {
            Err(Error::Runtime(message)) => assert!(message.contains("needs") && message.contains("memory"), "{backend:?}: {message}"),
            Err(other) => panic!("{backend:?}: expected a runtime error, got {other}"),
            Ok(_) => panic!("{backend:?}: ran a program larger than the machine"),
        }
    }
}
