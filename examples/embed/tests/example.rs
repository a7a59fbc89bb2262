//! The embedding example runs, hits the cache on its second call and writes its result.

use std::process::Command;

#[test]
fn runs_and_writes_the_result() {
    let out = std::env::temp_dir().join(format!("tensorc-embed-example-{}.npy", std::process::id()));
    let run = Command::new(env!("CARGO_BIN_EXE_tensorc-embed-example")).arg(&out).output().expect("run the example");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&run.stderr));
    assert!(stdout.contains("compiled specialisations after the second call: 1"), "{stdout}");
    let probabilities = tensorc::load_npy(&out).expect("the result file");
    assert_eq!(probabilities.shape(), [2, 3]);
    let rows = probabilities.as_slice::<f32>().expect("f32 probabilities");
    for row in rows.chunks(3) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5, "{row:?}");
    }
}
