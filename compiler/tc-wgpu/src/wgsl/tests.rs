//! Every generated shader is parsed and validated by naga: single ops on every dtype
//! they accept, fused programs from tensorc source and the repository's program cases;
//! plus the dispatch geometry, the error cases, and snapshots of representative WGSL.

use super::*;
use tc_check::{ArgValue, ModuleLoader};
use tc_ir::{ArgOp, BinaryOp, Dist, Graph, Op, PoolKind, ReduceOp, Type, UnaryOp};
use tc_syntax::diag::SourceMap;
use tc_tensor::{Data, Tensor};

const F16: Features = Features { shader_f16: true };
const NO_F16: Features = Features { shader_f16: false };

/// Loads modules as `tensorc` does: the program cases' own modules from `tests/cases/`,
/// then the standard library from the repository's `stdlib/` folder.
struct StdlibDir;

impl ModuleLoader for StdlibDir {
    fn load(&self, name: &str, _from: &str) -> Option<(String, String)> {
        let file = format!("{}.tc", name.replace("::", "/"));
        let case_module = format!("{}/../../tests/cases/{file}", env!("CARGO_MANIFEST_DIR"));
        if let Ok(text) = std::fs::read_to_string(&case_module) {
            return Some((case_module, text));
        }
        let path = format!("{}/../../stdlib/{name}.tc", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(path).ok().map(|t| (format!("<stdlib>/{name}.tc"), t))
    }
}

/// The optimised graph of `entry` in `src`; `args[i]` is parameter `i`'s type (`None`:
/// its default).
pub(super) fn graph_of(src: &str, entry: &str, args: &[Option<Type>]) -> Result<Graph, String> {
    let mut sources = SourceMap::new();
    let root = sources.add("test.tc", src);
    let program = tc_check::compile(&mut sources, root, &StdlibDir).map_err(|d| format!("{d:?}"))?;
    let types: Vec<Option<ArgValue>> = args.iter().map(|t| t.clone().map(ArgValue::Tensor)).collect();
    let spec = program.specialize(entry, &types).map_err(|e| format!("{e:?}"))?;
    Ok(tc_opt::simplify(&spec.graph))
}

fn graph(src: &str, args: &[Type]) -> Graph {
    let args: Vec<Option<Type>> = args.iter().cloned().map(Some).collect();
    graph_of(src, "main", &args).unwrap()
}

pub(super) fn t(dtype: DType, shape: &[usize]) -> Type {
    Type::new(dtype, shape.to_vec())
}

/// Lower `graph`, generate every shader and validate it; panics with the offending
/// WGSL.
fn shaders_with(graph: &Graph, features: Features) -> Vec<ShaderKernel> {
    let program = tc_kernel::lower(graph).unwrap();
    let shaders = generate(&program, features).unwrap_or_else(|e| panic!("{e}\n{}", tc_kernel::print(&program)));
    assert_eq!(shaders.len(), program.kernels.len());
    for s in &shaders {
        if let Err(e) = validate(&s.wgsl, features) {
            panic!("{}: invalid WGSL:\n{e}\n{}\n{}", s.label, numbered(&s.wgsl), tc_kernel::print(&program));
        }
        assert!(s.workgroups.iter().all(|&w| w <= 65535), "{}: {:?}", s.label, s.workgroups);
        for &b in &s.bindings {
            assert!(!matches!(program.buffer(b).kind, BufferKind::Shares(_)), "{}: binds the in-place buffer b{}", s.label, b.0);
        }
        let mut unique = s.bindings.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), s.bindings.len(), "{}: a buffer bound twice", s.label);
    }
    shaders
}

fn shaders(graph: &Graph) -> Vec<ShaderKernel> {
    shaders_with(graph, F16)
}

fn numbered(src: &str) -> String {
    src.lines().enumerate().map(|(i, l)| format!("{:4} {l}\n", i + 1)).collect()
}

/// A graph applying `op` to parameters of `types`, with result type `ty`.
pub(super) fn op_graph(op: Op, types: &[Type], ty: Type) -> Graph {
    let mut g = Graph::new("op");
    let params: Vec<_> = types.iter().enumerate().map(|(i, t)| g.param(i, t.clone())).collect();
    let out = g.push(op, params, ty);
    g.outputs.push(out);
    tc_ir::verify::verify(&g).unwrap();
    g
}

const DTYPES: [DType; 5] = [DType::F32, DType::F16, DType::I32, DType::U8, DType::Bool];
const NUMBERS: [DType; 4] = [DType::F32, DType::F16, DType::I32, DType::U8];

#[test]
fn unary_ops_on_every_dtype() {
    for op in UnaryOp::ALL {
        for d in DTYPES {
            let ok = match op {
                UnaryOp::Not => d == DType::Bool,
                o if o.float_only() => d.is_float(),
                _ => d != DType::Bool,
            };
            if ok {
                let ty = t(d, &[37]);
                shaders(&op_graph(Op::Unary(op), std::slice::from_ref(&ty), ty.clone()));
            }
        }
    }
}

#[test]
fn binary_ops_on_every_dtype() {
    for op in BinaryOp::ALL {
        for d in DTYPES {
            let ok = match op {
                BinaryOp::And | BinaryOp::Or => d == DType::Bool,
                BinaryOp::Pow => d.is_float(),
                BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => d != DType::Bool,
                _ => true,
            };
            if ok {
                let ty = t(d, &[5, 7]);
                shaders(&op_graph(Op::Binary(op), &[ty.clone(), ty.clone()], t(op.result_dtype(d), &[5, 7])));
            }
        }
    }
}

#[test]
fn casts_between_every_pair_and_select() {
    for from in DTYPES {
        for to in DTYPES {
            shaders(&op_graph(Op::Cast, &[t(from, &[9])], t(to, &[9])));
        }
        shaders(&op_graph(Op::Select, &[t(DType::Bool, &[4]), t(from, &[4]), t(from, &[4])], t(from, &[4])));
    }
}

#[test]
fn iota_constants_and_layout_views() {
    let g = graph(
        "fn main(x: f32[4, 6], n: i32[3]) { let i = arange(6); (x * 2.5 - 1e-40 + i as f32, x.T[1:5, 2:], 7 % n - n * 3, n > 0) }",
        &[t(DType::F32, &[4, 6]), t(DType::I32, &[3])],
    );
    shaders(&g);
}

#[test]
fn reductions_of_every_kind_and_size() {
    for d in DTYPES {
        for op in [ReduceOp::Sum, ReduceOp::Prod, ReduceOp::Max, ReduceOp::Min] {
            // Small rows (one invocation each), large rows (one workgroup each), a full
            // reduction, and an empty one.
            for (shape, axes) in [(vec![300, 7], vec![1]), (vec![3, 1000], vec![1]), (vec![10, 20, 30], vec![0, 2]), (vec![5000], vec![0]), (vec![4, 0], vec![1])] {
                let kept: Vec<usize> = (0..shape.len()).filter(|a| !axes.contains(a)).map(|a| shape[a]).collect();
                let s = shaders(&op_graph(Op::Reduce { op, axes: axes.clone() }, &[t(d, &shape)], t(d, &kept)));
                let inner: usize = axes.iter().map(|&a| shape[a]).product();
                let want = if inner as u64 > loops::THREAD_ROW_MAX { "_row_groups" } else { "_rows" };
                assert!(s[0].label.ends_with(want), "{} for {shape:?} over {axes:?}", s[0].label);
            }
        }
    }
}

#[test]
fn softmax_and_layernorm_are_row_kernels() {
    let src = "use nn;\nfn main(x, g, b) { (nn::softmax(x), nn::layernorm(x, g, b)) }";
    for [rows, cols] in [[64, 10], [8, 512]] {
        let g = graph_of(src, "main", &[Some(t(DType::F32, &[rows, cols])), Some(t(DType::F32, &[cols])), Some(t(DType::F32, &[cols]))]).unwrap();
        let s = shaders(&g);
        let want = if cols as u64 > loops::THREAD_ROW_MAX { "_row_groups" } else { "_rows" };
        assert!(s.iter().all(|k| k.label.ends_with(want)), "{:?}", s.iter().map(|k| &k.label).collect::<Vec<_>>());
    }
}

#[test]
fn matmul_every_dtype_and_layout() {
    for d in NUMBERS {
        for (a, b, out) in [(vec![5, 7], vec![7, 3], vec![5, 3]), (vec![2, 3, 70, 65], vec![2, 3, 65, 130], vec![2, 3, 70, 130]), (vec![1, 0], vec![0, 4], vec![1, 4])] {
            shaders(&op_graph(Op::MatMul, &[t(d, &a), t(d, &b)], t(d, &out)));
        }
    }
    // Transposed operands are read in place.
    let g = graph("fn main(a: f32[8, 5], b: f32[3, 8]) { transpose(a, (1, 0)) @ transpose(b, (1, 0)) }", &[t(DType::F32, &[8, 5]), t(DType::F32, &[3, 8])]);
    let program = tc_kernel::lower(&g).unwrap();
    assert!(program.kernels.iter().any(|k| matches!(k, Kernel::Call(c) if c.transposed == [true, true])));
    let s = shaders(&g);
    let mm = s.iter().find(|k| k.label.ends_with("matmul")).unwrap();
    assert_eq!(mm.workgroups, [1, 1, 1]);
    // A big product: 64 x 64 tiles.
    let s = shaders(&op_graph(Op::MatMul, &[t(DType::F32, &[4, 300, 200]), t(DType::F32, &[4, 200, 129])], t(DType::F32, &[4, 300, 129])));
    assert_eq!(s[0].workgroups, [3, 5, 4]);
}

#[test]
fn conv2d_with_stride_padding_and_dilation() {
    for d in NUMBERS {
        let op = Op::Conv2d { stride: [2, 1], pad: [(1, 2), (0, 1)], dilation: [1, 2] };
        // H: (9 + 3 - 3) / 2 + 1 = 5; W: (8 + 1 - 5) / 1 + 1 = 5.
        shaders(&op_graph(op, &[t(d, &[2, 3, 9, 8]), t(d, &[4, 3, 3, 3])], t(d, &[2, 4, 5, 5])));
    }
    let g = graph("use nn;\nfn main(x: f32[1, 1, 6, 6], w: f32[2, 1, 3, 3]) { conv2d(x, w, stride=1, padding=1) }", &[t(DType::F32, &[1, 1, 6, 6]), t(DType::F32, &[2, 1, 3, 3])]);
    shaders(&g);
}

#[test]
fn pooling_and_its_gradient() {
    // Max pooling is on numbers; average pooling and gradients on floats.
    for d in NUMBERS {
        for kind in [PoolKind::Max, PoolKind::Avg] {
            if kind == PoolKind::Avg && !d.is_float() {
                continue;
            }
            let (size, stride) = ([3, 2], [2, 1]);
            let x = t(d, &[2, 3, 7, 5]);
            let y = t(d, &[2, 3, 3, 4]);
            shaders(&op_graph(Op::Pool { kind, size, stride }, std::slice::from_ref(&x), y.clone()));
            if d.is_float() {
                shaders(&op_graph(Op::PoolGrad { kind, size, stride }, &[x.clone(), y], x));
            }
        }
    }
}

#[test]
fn gather_scatter_pad_concat_argreduce() {
    for d in DTYPES {
        for idx in [DType::I32, DType::U8] {
            shaders(&op_graph(Op::Gather { axis: 1 }, &[t(d, &[3, 5, 2]), t(idx, &[2, 4])], t(d, &[3, 2, 4, 2])));
            if d != DType::Bool {
                shaders(&op_graph(Op::ScatterAdd { axis: 1 }, &[t(idx, &[2, 4]), t(d, &[3, 2, 4, 2])], t(d, &[3, 5, 2])));
            }
        }
        shaders(&op_graph(Op::Pad { lo: vec![1, 0], hi: vec![2, 3] }, &[t(d, &[2, 3]), t(d, &[])], t(d, &[5, 6])));
        shaders(&op_graph(Op::Concat { axis: 1 }, &[t(d, &[2, 3]), t(d, &[2, 0]), t(d, &[2, 1])], t(d, &[2, 4])));
        for op in [ArgOp::ArgMax, ArgOp::ArgMin] {
            shaders(&op_graph(Op::ArgReduce { op, axis: 1 }, &[t(d, &[4, 6, 3])], t(DType::I32, &[4, 3])));
            // A long axis: a workgroup per result.
            let long = shaders(&op_graph(Op::ArgReduce { op, axis: 1 }, &[t(d, &[2, 5000, 3])], t(DType::I32, &[2, 3])));
            assert!(long[0].wgsl.contains("var<workgroup> arg_index"), "{}", long[0].wgsl);
        }
    }
    // The same buffer twice is bound once.
    let g = graph("fn main(x: f32[2, 3]) { concat((x, x), 0) }", &[t(DType::F32, &[2, 3])]);
    shaders(&g);
}

#[test]
fn random_with_constant_and_runtime_seeds() {
    // A literal seed is an i64 constant (which tc-opt folds, so build the graph by
    // hand): baked into the shader, never bound. A negative seed sets the high key word.
    for (seed, key) in [(42i64, "vec2<u32>(42u, 0u)".to_string()), (-3, format!("vec2<u32>({}u, 4294967295u)", -3i64 as u32))] {
        for dist in [Dist::Uniform, Dist::Normal] {
            let mut g = Graph::new("r");
            let s = g.constant(Tensor::new(vec![], Data::I64(vec![seed])).unwrap());
            let r = g.random(dist, s, t(DType::F32, &[3, 4]));
            g.outputs.push(r);
            let k = shaders(&g);
            assert_eq!(k[0].bindings.len(), 1);
            assert!(k[0].wgsl.contains(&key), "{}", k[0].wgsl);
        }
    }
    for d in [DType::F32, DType::F16] {
        for dist in [Dist::Uniform, Dist::Normal] {
            for seed in [DType::I32, DType::U8] {
                shaders(&op_graph(Op::Random(dist), &[t(seed, &[])], t(d, &[100])));
            }
        }
    }
}

/// The graphs of the repository's program cases (`tests/cases/*.tc`) that compile
/// and whose arguments are tensors (their types from the `// arg:` lines), on values
/// this backend holds (no i64 or f64), by file name.
pub(super) fn case_graphs() -> Vec<(String, Graph)> {
    let dir = format!("{}/../../tests/cases", env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "tc")).collect();
    paths.sort();
    for path in paths {
        let src = std::fs::read_to_string(&path).unwrap();
        if src.lines().any(|l| l.starts_with("// error:")) {
            continue;
        }
        let entry = src.lines().find_map(|l| l.strip_prefix("// entry:")).map_or("main", str::trim).to_string();
        let mut args = std::collections::HashMap::new();
        for line in src.lines().filter_map(|l| l.strip_prefix("// arg:")) {
            let (name, value) = line.split_once('=').unwrap();
            args.insert(name.trim().to_string(), case_type(value.trim()));
        }
        let mut sources = SourceMap::new();
        let root = sources.add("case.tc", &src);
        let program = tc_check::compile(&mut sources, root, &StdlibDir).unwrap();
        let params = program.functions().into_iter().find(|f| f.name == entry).unwrap().params;
        let types: Option<Vec<Option<Type>>> = params.iter().map(|p| args.get(&p.name).cloned().unwrap_or(Some(None))).collect();
        let Some(types) = types else { continue }; // a tuple argument
        let g = graph_of(&src, &entry, &types).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        match generate(&tc_kernel::lower(&g).unwrap(), F16) {
            Ok(_) => out.push((path.display().to_string(), g)),
            // Programs on i64, f64 or bf16 values are out of this backend's reach.
            Err(CodegenError::UnsupportedDType(DType::I64 | DType::F64 | DType::BF16)) => continue,
            Err(e) => panic!("{}: {e}", path.display()),
        }
    }
    out
}

#[test]
fn program_cases() {
    let cases = case_graphs();
    for (_, g) in &cases {
        shaders(g);
    }
    assert!(cases.len() >= 12, "only {} cases generated", cases.len());
}

/// The type of a case's `TYPE VALUE` argument: `Some(Some(ty))`, or `None` for a tuple.
fn case_type(text: &str) -> Option<Option<Type>> {
    if text.starts_with('(') {
        return None;
    }
    let end = text.find([' ', '[']).unwrap_or(text.len());
    let dtype = DType::from_name(&text[..end]).unwrap();
    let rest = &text[end..];
    let shape = match rest.strip_prefix('[') {
        Some(r) => r[..r.find(']').unwrap()].split(',').map(|d| d.trim().parse().unwrap()).collect(),
        None => vec![],
    };
    Some(Some(Type::new(dtype, shape)))
}

#[test]
fn unsupported_dtypes_are_named() {
    let f16 = op_graph(Op::Unary(UnaryOp::Exp), &[t(DType::F16, &[3])], t(DType::F16, &[3]));
    let program = tc_kernel::lower(&f16).unwrap();
    assert_eq!(generate(&program, NO_F16), Err(CodegenError::NoShaderF16));
    // validate() checks f16 against the device's features, and reports parse errors.
    let shader = &shaders_with(&f16, F16)[0];
    assert!(shader.wgsl.starts_with("enable f16;"));
    assert!(validate(&shader.wgsl, NO_F16).is_err());
    assert!(validate("fn main( {", F16).unwrap_err().contains("error"));
    for d in [DType::F64, DType::BF16, DType::I64] {
        let g = op_graph(Op::Unary(UnaryOp::Neg), &[t(d, &[3])], t(d, &[3]));
        let err = generate(&tc_kernel::lower(&g).unwrap(), F16).unwrap_err();
        assert_eq!(err, CodegenError::UnsupportedDType(d));
        assert!(err.to_string().contains(&d.to_string()), "{err}");
    }
    // An i64 value inside a fused kernel (not in any buffer) is refused too.
    let g = graph("fn main(x: i32[4]) { (x as i64 * 3) as i32 }", &[t(DType::I32, &[4])]);
    assert_eq!(generate(&tc_kernel::lower(&g).unwrap(), F16), Err(CodegenError::UnsupportedDType(DType::I64)));
}

#[test]
fn big_domains_use_a_2d_grid_and_huge_ones_are_refused() {
    let n = 65535 * 256 * 3 + 5;
    let s = shaders(&op_graph(Op::Unary(UnaryOp::Exp), &[t(DType::F32, &[n])], t(DType::F32, &[n])));
    assert_eq!(s[0].workgroups, [65535, 4, 1]);
    assert!(s[0].wgsl.contains("wid.y * 65535u + wid.x"));
    let huge = op_graph(Op::Unary(UnaryOp::Neg), &[t(DType::F32, &[1 << 16, 1 << 16])], t(DType::F32, &[1 << 16, 1 << 16]));
    assert!(matches!(generate(&tc_kernel::lower(&huge).unwrap(), F16), Err(CodegenError::Unsupported(_))));
}

#[test]
fn in_place_updates_bind_the_shared_buffer_once() {
    let g = graph("use nn;\nfn main(x: f32[16, 100]) { nn::softmax(x) }", &[t(DType::F32, &[16, 100])]);
    let program = tc_kernel::lower(&g).unwrap();
    assert!(program.buffers.iter().any(|b| matches!(b.kind, BufferKind::Shares(_))), "{}", tc_kernel::print(&program));
    shaders(&g);
}

/// Whether the first pointwise kernel of `shaders` is vectorised.
fn vectorised(shaders: &[ShaderKernel]) -> bool {
    let k = shaders.iter().find(|k| k.label.contains("_loop")).unwrap();
    let vec = k.label.ends_with("_loop_vec4");
    assert_eq!(vec, k.wgsl.contains("array<vec4<"), "{}", k.wgsl);
    vec
}

#[test]
fn pointwise_kernels_vectorise_when_aligned() {
    let f = |shape: &[usize]| t(DType::F32, shape);
    // Contiguous, every 4-byte dtype, inner extents that are multiples of 4.
    for d in [DType::F32, DType::I32, DType::U8, DType::Bool] {
        for shape in [vec![4], vec![8], vec![1024], vec![3, 8], vec![2, 3, 4]] {
            let op = if d == DType::Bool { Op::Binary(BinaryOp::And) } else { Op::Binary(BinaryOp::Max) };
            assert!(vectorised(&shaders(&op_graph(op, &[t(d, &shape), t(d, &shape)], t(d, &shape)))), "{d} {shape:?}");
        }
    }
    // Broadcasts: a row (inner stride 1, a vec4) and a column (inner stride 0, a scalar).
    let g = graph("fn main(x: f32[6, 8], r: f32[8], c: f32[6, 1]) { x * r + c }", &[f(&[6, 8]), f(&[8]), f(&[6, 1])]);
    let s = shaders(&g);
    assert!(vectorised(&s));
    assert!(s[0].wgsl.contains(": array<f32>;"), "{}", s[0].wgsl);
    // A scalar-broadcast operand stays scalar.
    assert!(vectorised(&shaders(&graph("fn main(x: f32[16], y: f32[]) { x - y }", &[f(&[16]), f(&[])]))));
    // Ineligible: an inner extent not a multiple of 4, a misaligned slice, a transpose,
    // an outer stride not a multiple of 4, a buffer read both contiguously and
    // broadcast, f16.
    let scalar = [
        graph("fn main(x: f32[1023]) { x * 2.0 }", &[f(&[1023])]),
        graph("fn main(x: f32[3, 6]) { x + 1.0 }", &[f(&[3, 6])]),
        graph("fn main(x: f32[9]) { x[1:] * 2.0 }", &[f(&[9])]),
        graph("fn main(x: f32[8, 8]) { x.T * 2.0 }", &[f(&[8, 8])]),
        graph("fn main(x: f32[3, 6]) { x[:, 1:5] * 2.0 }", &[f(&[3, 6])]),
        graph("fn main(x: f32[4, 4]) { x + x[:, 0:1] }", &[f(&[4, 4])]),
        op_graph(Op::Unary(UnaryOp::Neg), &[t(DType::F16, &[16])], t(DType::F16, &[16])),
    ];
    for g in &scalar {
        assert!(!vectorised(&shaders(g)), "{}", tc_kernel::print(&tc_kernel::lower(g).unwrap()));
    }
    // A quarter of the invocations.
    let s = shaders(&op_graph(Op::Unary(UnaryOp::Exp), &[f(&[4096])], f(&[4096])));
    assert_eq!(s[0].workgroups, [4, 1, 1]);
    // iota inside a vectorised kernel: each lane computes its own index.
    assert!(vectorised(&shaders(&graph("fn main(x: f32[2, 8]) { x + arange(8) as f32 }", &[f(&[2, 8])]))));
}

#[test]
fn vectorised_in_place_updates() {
    // The product is biased and activated in place: the shared buffer is bound as vec4.
    let g = graph("use nn;\nfn main(a: f32[8, 16], b: f32[16, 32], c: f32[32]) { nn::relu(a @ b + c) }", &[t(DType::F32, &[8, 16]), t(DType::F32, &[16, 32]), t(DType::F32, &[32])]);
    let program = tc_kernel::lower(&g).unwrap();
    assert!(program.buffers.iter().any(|b| matches!(b.kind, BufferKind::Shares(_))), "{}", tc_kernel::print(&program));
    assert!(vectorised(&shaders(&g)));
}

#[test]
fn snapshot_fused_vec4_broadcast() {
    let g = graph("fn main(x: f32[6, 8], r: f32[8], c: f32[6, 1]) { where(x > c, x * r, 0.0 - x) }", &[t(DType::F32, &[6, 8]), t(DType::F32, &[8]), t(DType::F32, &[6, 1])]);
    insta::assert_snapshot!(print(&shaders(&g)));
}

#[test]
fn snapshot_fused_elementwise() {
    let g = graph("fn main(x: f32[1000], y: f32[1000]) { maximum(x * y + 1.0, 0.0) }", &[t(DType::F32, &[1000]), t(DType::F32, &[1000])]);
    insta::assert_snapshot!(print(&shaders(&g)));
}

#[test]
fn snapshot_softmax_rows() {
    let g = graph("use nn;\nfn main(x: f32[4, 1000]) { nn::softmax(x) }", &[t(DType::F32, &[4, 1000])]);
    insta::assert_snapshot!(print(&shaders(&g)));
}

#[test]
fn snapshot_matmul() {
    let g = graph("fn main(a: f32[128, 64], b: f32[64, 256]) { a @ b }", &[t(DType::F32, &[128, 64]), t(DType::F32, &[64, 256])]);
    insta::assert_snapshot!(print(&shaders(&g)));
}
