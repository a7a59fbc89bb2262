//! The embedding API (SPEC §9): sessions, modules, calls, the specialisation cache and
//! the error values a host sees.

use tensorc::{Backend, Error, Session, Tensor, Value};

fn f32s(shape: &[usize], values: &[f32]) -> Tensor {
    Tensor::from_f32(shape.to_vec(), values.to_vec()).expect("shape fits")
}

fn session() -> Session {
    Session::new(Backend::Interp).expect("interp is available")
}

const MODEL: &str = "\
fn affine(x, w, b) { x @ w + b }
fn swap(p) { let (a, b) = p; (b, a) }
fn scale(x: f32[N], k = 3.0) -> f32[N] { x * k }
";

#[test]
fn backends_available_and_not() {
    assert_eq!(Backend::available(), [Backend::Cpu, Backend::Interp, Backend::Wgpu]);
    assert_eq!(Backend::parse("interp").expect("known"), Backend::Interp);
    assert_eq!(Backend::parse("wgpu").expect("known"), Backend::Wgpu);
    assert!(matches!(Backend::parse("tpu"), Err(Error::Usage(_))));
    for backend in [Backend::Mlir] {
        match Session::new(backend) {
            Err(Error::Usage(message)) => assert!(message.contains("available: cpu, interp, wgpu"), "{message}"),
            Err(other) => panic!("expected a usage error, got {other}"),
            Ok(_) => panic!("{backend} is not built yet"),
        }
    }
}

#[test]
fn the_second_call_with_the_same_types_does_not_compile() {
    let module = session().compile_source("model.tc", MODEL).expect("compiles");
    let x = f32s(&[1, 2], &[1.0, 2.0]);
    let w = f32s(&[2, 2], &[1.0, 0.0, 0.0, 1.0]);
    let b = f32s(&[2], &[0.5, 0.5]);
    let first = module.call("affine", &[x.clone(), w.clone(), b.clone()]).expect("runs");
    assert_eq!(first, vec![f32s(&[1, 2], &[1.5, 2.5])]);
    assert_eq!(module.compile_count(), 1);

    let x2 = f32s(&[1, 2], &[3.0, 4.0]);
    let second = module.call("affine", &[x2, w.clone(), b.clone()]).expect("runs");
    assert_eq!(second, vec![f32s(&[1, 2], &[3.5, 4.5])]);
    assert_eq!(module.compile_count(), 1, "same types: served from the cache");

    let x3 = f32s(&[3, 2], &[0.0; 6]);
    module.call("affine", &[x3, w, b]).expect("runs");
    assert_eq!(module.compile_count(), 2, "new shape: compiled again");
}

#[test]
fn tuple_parameters_and_results() {
    let module = session().compile_source("model.tc", MODEL).expect("compiles");
    let p = Value::Tuple(vec![Value::Tensor(Tensor::scalar_f32(1.0)), Value::Tensor(f32s(&[2], &[2.0, 3.0]))]);
    let flat = module.call_values("swap", std::slice::from_ref(&p)).expect("runs");
    assert_eq!(flat, vec![f32s(&[2], &[2.0, 3.0]), Tensor::scalar_f32(1.0)]);
    let tree = module.call_bound("swap", &[Some(p)]).expect("runs");
    assert_eq!(tree.type_string(), "(f32[2], f32)");
}

#[test]
fn defaults_and_named_binding() {
    let module = session().compile_source("model.tc", MODEL).expect("compiles");
    let x = f32s(&[2], &[1.0, 2.0]);
    assert_eq!(module.call("scale", std::slice::from_ref(&x)).expect("runs"), vec![f32s(&[2], &[3.0, 6.0])]);

    let bound = module.bind("scale", vec![("x".to_string(), Value::Tensor(x))]).expect("binds");
    assert!(bound[0].is_some() && bound[1].is_none());
    assert!(matches!(module.bind("scale", vec![("y".to_string(), 1)]), Err(Error::Usage(m)) if m.contains("`y`")));
    assert!(matches!(module.bind::<u8>("scale", vec![]), Err(Error::Usage(m)) if m.contains("`x`")));
    assert!(matches!(module.call("scale", &[]), Err(Error::Argument { .. }) | Err(Error::Usage(_))));
}

#[test]
fn argument_mismatch_names_the_parameter() {
    let module = session().compile_source("model.tc", MODEL).expect("compiles");
    match module.call("scale", &[f32s(&[2, 2], &[0.0; 4])]) {
        Err(Error::Argument { param, message }) => {
            assert_eq!(param, "x");
            assert!(message.contains("f32[2, 2]"), "{message}");
        }
        other => panic!("expected an argument error, got {other:?}"),
    }
}

#[test]
fn compile_errors_carry_rendered_diagnostics() {
    let error = session().compile_source("bad.tc", "fn main(x) {\n  x + y\n}\n").err().expect("does not compile");
    let Error::Compile(diagnostics) = error else { panic!("expected compile errors, got {error}") };
    let rendered = diagnostics.render(false);
    assert!(rendered.contains("error[E"), "{rendered}");
    assert!(rendered.contains("--> bad.tc:2:7"), "{rendered}");
    assert!(rendered.ends_with("error: could not compile bad.tc (1 error)\n"), "{rendered}");
}

#[test]
fn unknown_function_is_a_compile_error() {
    let module = session().compile_source("model.tc", MODEL).expect("compiles");
    match module.call("nope", &[]) {
        Err(Error::Compile(d)) => assert!(d.render(false).contains("nope")),
        other => panic!("expected a compile error, got {other:?}"),
    }
}

#[test]
fn modules_next_to_the_file_then_the_stdlib() {
    let dir = std::env::temp_dir().join(format!("tensorc-embed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create dir");
    std::fs::write(dir.join("helpers.tc"), "pub fn twice(x) { x * 2.0 }\n").expect("write module");
    std::fs::write(dir.join("main.tc"), "use helpers;\nuse nn;\nfn main(x) { nn::relu(helpers::twice(x)) }\n").expect("write main");
    let module = session().compile_file(dir.join("main.tc")).expect("compiles");
    let out = module.call("main", &[f32s(&[2], &[-1.0, 1.5])]).expect("runs");
    assert_eq!(out, vec![f32s(&[2], &[0.0, 3.0])]);
    assert!(matches!(session().compile_file(dir.join("absent.tc")), Err(Error::Io { .. })));
}

#[test]
fn npy_round_trip() {
    let dir = std::env::temp_dir().join(format!("tensorc-embed-npy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create dir");
    let t = f32s(&[2, 2], &[1.0, -2.0, 3.5, 0.0]);
    tensorc::save_npy(dir.join("t.npy"), &t).expect("write");
    assert_eq!(tensorc::load_npy(dir.join("t.npy")).expect("read"), t);
    std::fs::write(dir.join("bad.npy"), b"not npy").expect("write");
    assert!(tensorc::load_npy(dir.join("bad.npy")).is_err());
}
