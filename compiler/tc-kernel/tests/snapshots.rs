//! Kernel programs of typical graphs, compiled from tensorc source through the front end
//! and `tc_opt::simplify`, as insta snapshots of their text form; plus the structural
//! facts the snapshots show (how many kernels a softmax or layernorm takes).

use tc_check::{ArgValue, ModuleLoader};
use tc_ir::{Graph, Type};
use tc_kernel::{Kernel, KernelProgram};
use tc_syntax::diag::SourceMap;
use tc_tensor::DType;

/// Loads standard-library modules from the repository's `stdlib/` folder.
struct StdlibDir;

impl ModuleLoader for StdlibDir {
    fn load(&self, name: &str, _from: &str) -> Option<(String, String)> {
        let path = format!("{}/../../stdlib/{name}.tc", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(path).ok().map(|t| (format!("<stdlib>/{name}.tc"), t))
    }
}

/// The optimised graph of `main` in `src` for arguments of these types.
fn graph(src: &str, args: &[(DType, &[usize])]) -> Graph {
    let mut sources = SourceMap::new();
    let root = sources.add("test.tc", src);
    let program = tc_check::compile(&mut sources, root, &StdlibDir).unwrap_or_else(|d| panic!("{d:#?}"));
    let types: Vec<Option<ArgValue>> = args.iter().map(|(d, s)| Some(ArgValue::Tensor(Type::new(*d, s.to_vec())))).collect();
    let spec = program.specialize("main", &types).unwrap_or_else(|e| panic!("{e:#?}"));
    tc_opt::simplify(&spec.graph)
}

fn lower(src: &str, args: &[(DType, &[usize])]) -> KernelProgram {
    tc_kernel::lower(&graph(src, args)).unwrap()
}

fn loops(p: &KernelProgram) -> Vec<usize> {
    p.kernels
        .iter()
        .map(|k| match k {
            Kernel::Loop(l) => l.stages.len(),
            Kernel::Call(_) => 0,
        })
        .collect()
}

const F32: DType = DType::F32;

#[test]
fn softmax_is_one_kernel_storing_its_exponentials_in_place() {
    // max; exponentials stored (into the output); their sum; the division in place.
    let p = lower("use nn;\nfn main(x) { nn::softmax(x) }", &[(F32, &[4, 8])]);
    assert_eq!(loops(&p), vec![4]);
    assert_eq!(p.arena_bytes, 0);
    insta::assert_snapshot!(tc_kernel::print(&p));
}

#[test]
fn layernorm_is_one_kernel_of_three_stages() {
    let p = lower("use nn;\nfn main(x, g, b) { nn::layernorm(x, g, b) }", &[(F32, &[4, 8]), (F32, &[8]), (F32, &[8])]);
    assert_eq!(loops(&p), vec![3]);
    insta::assert_snapshot!(tc_kernel::print(&p));
}

#[test]
fn mlp_layer_is_a_matmul_and_one_epilogue_loop() {
    let p = lower("use nn;\nfn main(x, w, b) { nn::relu(x @ w + b) }", &[(F32, &[2, 3]), (F32, &[3, 4]), (F32, &[4])]);
    assert_eq!(loops(&p), vec![0, 1]);
    insta::assert_snapshot!(tc_kernel::print(&p));
}

#[test]
fn gelu_is_one_flat_loop() {
    let p = lower("use nn;\nfn main(x) { nn::gelu(x) }", &[(F32, &[16, 4])]);
    assert_eq!(loops(&p), vec![1]);
    let Kernel::Loop(l) = &p.kernels[0] else { unreachable!() };
    assert_eq!(l.domain, vec![64]);
    insta::assert_snapshot!(tc_kernel::print(&p));
}

#[test]
fn cross_entropy_and_transposes() {
    let p = lower("use nn;\nfn main(x, y) { nn::cross_entropy(x, y) }", &[(F32, &[4, 10]), (DType::I32, &[4])]);
    insta::assert_snapshot!(tc_kernel::print(&p));
    let p = lower("fn main(x, y) { x.T @ y + 1.0 }", &[(F32, &[3, 2]), (F32, &[3, 5])]);
    insta::assert_snapshot!(p.kernels.len().to_string() + "\n" + &tc_kernel::print(&p));
}

#[test]
fn temps_share_the_arena() {
    // Three chained matmuls: the first product is dead once the second is computed.
    let p = lower("fn main(a, b, c, d) { ((a @ b) @ c) @ d }", &[(F32, &[16, 16]), (F32, &[16, 16]), (F32, &[16, 16]), (F32, &[16, 16])]);
    assert_eq!(p.arena_bytes, 2 * 1024);
    assert_eq!(p.peak_bytes(), 3 * 1024);
    insta::assert_snapshot!(tc_kernel::print(&p));
}
