//! `tensorc train` (SPEC §11): the IDX loader on small files written here, training end
//! to end on `synthetic:N`, a file's own `step`, `--save` read back by `tensorc run`,
//! and the errors of the model convention and of the data.

use std::io::Write;
mod common;

use std::path::Path;

use common::{expect_status, scratch, tensorc, write, Outcome, LINEAR};

use tc_train::data::{self, DataSpec};
use tc_train::idx::{self, IdxError, Images};
use tc_train::train::{self, Model, TrainOptions};
use tensorc::{Backend, Error, Session, Tensor};

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip in memory");
    encoder.finish().expect("gzip in memory")
}

/// The number after `"key": ` in a JSON text (the first occurrence).
fn json_number(json: &str, key: &str) -> f64 {
    let pattern = format!("\"{key}\": ");
    let start = json.find(&pattern).unwrap_or_else(|| panic!("no {key} in {json}")) + pattern.len();
    let text: String = json[start..].chars().take_while(|c| c.is_ascii_digit() || "+-.eE".contains(*c)).collect();
    text.parse().unwrap_or_else(|_| panic!("{key} is not a number in {json}"))
}

/// Every `"loss"` of the history (not `final_loss`), in epoch order.
fn epoch_losses(json: &str) -> Vec<f64> {
    json.match_indices("\"loss\": ").map(|(i, _)| json_number(&json[i..], "loss")).collect()
}


/// The same classifier on 4-D images, trained by its own momentum step; the
/// parameters nest the weights and the velocities.
const WITH_STEP: &str = "use nn;
use optim;

fn init(seed) {
    ((random_normal(seed, (784, 10)) * 0.01, zeros((10,))), (zeros((784, 10)), zeros((10,))))
}

fn predict(p, x: f32[B, 1, 28, 28]) {
    let (w, b) = p.0;
    reshape(x, (B, 784)) @ w + b
}

fn loss(p, x, y) -> f32 {
    nn::cross_entropy(predict(p, x), y)
}

fn step(p, x, y, lr) {
    let ((w, b), (vw, vb)) = p;
    let l = loss(((w, b), (vw, vb)), x, y);
    let (gw, gb) = grad(l, (w, b));
    let (w, vw) = optim::momentum(w, gw, vw, lr);
    let (b, vb) = optim::momentum(b, gb, vb, lr);
    (((w, b), (vw, vb)), l)
}
";

// ---- the IDX loader -------------------------------------------------------------------

fn images(count: usize) -> Images {
    Images { count, rows: 28, cols: 28, pixels: (0..count * 784).map(|i| (i % 251) as u8).collect() }
}

fn labels(count: usize) -> Vec<u8> {
    (0..count).map(|i| (i % 10) as u8).collect()
}

/// Write the four Fashion-MNIST files into `dir` (gzipped or plain).
fn write_fashion(dir: &Path, train: (&[u8], &[u8]), test: (&[u8], &[u8]), gz: bool) {
    let files = [
        ("train-images-idx3-ubyte", train.0),
        ("train-labels-idx1-ubyte", train.1),
        ("t10k-images-idx3-ubyte", test.0),
        ("t10k-labels-idx1-ubyte", test.1),
    ];
    for (name, bytes) in files {
        if gz {
            write(dir, &format!("{name}.gz"), gzip(bytes));
        } else {
            write(dir, name, bytes);
        }
    }
}

fn valid_fashion(dir: &Path, gz: bool) {
    let (ti, tl) = (idx::encode_images(&images(40)), idx::encode_labels(&labels(40)));
    let (ei, el) = (idx::encode_images(&images(20)), idx::encode_labels(&labels(20)));
    write_fashion(dir, (&ti, &tl), (&ei, &el), gz);
}

#[test]
fn idx_valid_gz_and_plain() {
    for gz in [true, false] {
        let dir = scratch(&format!("idx-valid-{gz}"));
        valid_fashion(&dir, gz);
        let data = data::fashion_mnist(&dir).expect("valid files load");
        assert_eq!(data.train.images, images(40));
        assert_eq!(data.train.labels, labels(40));
        assert_eq!(data.test.len(), 20);
    }
}

#[test]
fn idx_bad_magic_truncated_mismatch_and_range() {
    let good_images = idx::encode_images(&images(4));
    let good_labels = idx::encode_labels(&labels(4));

    // Labels where images belong: the magic says so.
    assert!(matches!(idx::parse_images(&good_labels), Err(IdxError::BadMagic { expected: idx::IMAGES_MAGIC, .. })));
    assert!(matches!(idx::parse_labels(&good_images), Err(IdxError::BadMagic { expected: idx::LABELS_MAGIC, .. })));
    // Truncated data and a truncated header.
    assert!(matches!(idx::parse_images(&good_images[..good_images.len() - 5]), Err(IdxError::Length { .. })));
    assert!(matches!(idx::parse_labels(&good_labels[..6]), Err(IdxError::Length { .. })));
    // A truncated gzip stream is an I/O error, not a panic.
    let gz = gzip(&good_images);
    assert!(idx::decompress(gz[..gz.len() / 2].to_vec()).is_err());
    assert_eq!(idx::decompress(gz).unwrap(), good_images);
    // Counts and label range.
    let imgs = idx::parse_images(&good_images).unwrap();
    assert!(matches!(idx::labelled(&imgs, &[0, 1, 2], 10), Err(IdxError::CountMismatch { images: 4, labels: 3 })));
    assert!(matches!(idx::labelled(&imgs, &[0, 1, 2, 10], 10), Err(IdxError::LabelOutOfRange { index: 3, label: 10, .. })));

    // Through the data set loader and the command line: exit 3 naming the file.
    let model = scratch("idx-bad-model");
    let model = write(&model, "tiny.tc", LINEAR.as_bytes());
    let cases: [(&str, Vec<u8>, Vec<u8>, &str); 4] = [
        ("magic", good_labels.clone(), good_labels.clone(), "magic number"),
        ("truncated", good_images[..good_images.len() - 1].to_vec(), good_labels.clone(), "truncated"),
        ("count", good_images.clone(), idx::encode_labels(&labels(3)), "4 images but 3 labels"),
        ("range", good_images.clone(), idx::encode_labels(&[0, 1, 2, 200]), "label 200"),
    ];
    for (name, train_images, train_labels, message) in cases {
        let dir = scratch(&format!("idx-bad-{name}"));
        write_fashion(&dir, (&train_images, &train_labels), (&good_images, &good_labels), true);
        match data::fashion_mnist(&dir) {
            Err(Error::Runtime(m)) => assert!(m.contains(message) && m.contains("train-"), "{name}: {m}"),
            other => panic!("{name}: expected a runtime error, got {other:?}"),
        }
        let out = tensorc(&["train", &model, "--data", &format!("fashion-mnist:{}", dir.display())]);
        expect_status(&out, 3);
        assert!(out.stderr.contains(message), "{name}: {}", out.stderr);
    }
}

#[test]
fn missing_data_names_the_debian_package() {
    let dir = scratch("missing-data");
    let model = write(&dir, "tiny.tc", LINEAR.as_bytes());
    let out = tensorc(&["train", &model, "--data", &format!("fashion-mnist:{}", dir.join("nowhere").display())]);
    expect_status(&out, 3);
    assert!(out.stderr.contains("dataset-fashion-mnist"), "{}", out.stderr);
    assert!(out.stderr.contains("apt-get install"), "{}", out.stderr);

    // A directory without the files says which one is missing.
    let empty = scratch("missing-data-files");
    let out = tensorc(&["train", &model, "--data", &format!("fashion-mnist:{}", empty.display())]);
    expect_status(&out, 3);
    assert!(out.stderr.contains("train-images-idx3-ubyte"), "{}", out.stderr);
    assert!(out.stderr.contains("dataset-fashion-mnist"), "{}", out.stderr);

    let out = tensorc(&["train", &model, "--data", "mnist"]);
    expect_status(&out, 2);
    assert!(out.stderr.contains("synthetic:N"), "{}", out.stderr);
}

// ---- training end to end --------------------------------------------------------------

#[test]
fn train_synthetic_learns() {
    let dir = scratch("learns");
    let model = write(&dir, "tiny.tc", LINEAR.as_bytes());
    let out = tensorc(&["train", &model, "--data", "synthetic:512", "--epochs", "2", "--batch", "32", "--json"]);
    expect_status(&out, 0);
    let json = out.stdout.trim();
    assert!(json.starts_with('{') && json.ends_with('}') && !json.contains('\n'), "{json}");
    assert_eq!(json_number(json, "epochs"), 2.0);
    let losses = epoch_losses(json);
    assert_eq!(losses.len(), 2, "one loss per epoch: {json}");
    assert!(losses[1] < losses[0], "the loss decreases: {json}");
    assert_eq!(json_number(json, "final_loss"), losses[1]);
    assert!(json_number(json, "test_accuracy") > 0.5, "far better than chance (0.1): {json}");
    assert!(json_number(json, "examples_per_s") > 0.0, "{json}");
    // The human-readable lines go to stderr with --json.
    assert!(out.stderr.contains("epoch 2/2  loss "), "{}", out.stderr);
    assert!(out.stderr.contains("test acc "), "{}", out.stderr);
}

#[test]
fn train_prints_one_line_per_epoch_and_notes_dropped_examples() {
    let dir = scratch("lines");
    let model = write(&dir, "tiny.tc", LINEAR.as_bytes());
    let out = tensorc(&["train", &model, "--data", "synthetic:100", "--epochs", "2", "--batch", "32"]);
    expect_status(&out, 0);
    let epochs: Vec<&str> = out.stdout.lines().filter(|l| l.starts_with("epoch ")).collect();
    assert_eq!(epochs.len(), 2, "{}", out.stdout);
    assert!(epochs[0].contains("examples/s"), "{}", out.stdout);
    assert!(out.stdout.contains("the last 4 training examples"), "{}", out.stdout);
}

#[test]
fn train_with_the_files_own_step() {
    let dir = scratch("own-step");
    let model = write(&dir, "step.tc", WITH_STEP.as_bytes());
    let out = tensorc(&["train", &model, "--data", "synthetic:512", "--epochs", "2", "--batch", "32", "--lr", "0.02", "--json"]);
    expect_status(&out, 0);
    assert!(out.stderr.contains("step: `step` of the file"), "{}", out.stderr);
    let losses = epoch_losses(&out.stdout);
    assert!(losses[1] < losses[0], "{}", out.stdout);
    assert!(json_number(&out.stdout, "test_accuracy") > 0.5, "{}", out.stdout);
}

#[test]
fn the_step_compiles_once() {
    let session = Session::new(Backend::Interp).unwrap();
    let model = Model::compile_source(&session, "step.tc", WITH_STEP).unwrap();
    assert_eq!(model.layout, data::Layout::Image);
    let data = data::load(&DataSpec::Synthetic(200)).unwrap();
    let options = TrainOptions { epochs: 1, batch: 50, lr: 0.01, seed: 1 };
    let mut steps = 0;
    let first = train::train(&model, &data, &options, &mut |e| {
        if let train::Event::Step { .. } = e {
            steps += 1;
        }
    })
    .unwrap();
    assert_eq!(steps, 4);
    let compiles = model.module().compile_count();
    // Two more epochs: every specialisation comes from the cache.
    let options = TrainOptions { epochs: 2, ..options };
    let second = train::train(&model, &data, &options, &mut |_| {}).unwrap();
    assert_eq!(model.module().compile_count(), compiles);
    assert_eq!(second.epochs.len(), 2);
    // Same seed, same first epoch.
    assert_eq!(first.epochs[0].loss, second.epochs[0].loss);
}

#[test]
fn save_is_read_back_by_run_as_a_tuple_parameter() {
    let dir = scratch("save");
    let model = write(&dir, "tiny.tc", LINEAR.as_bytes());
    let saved = dir.join("params.safetensors").display().to_string();
    let out = tensorc(&["train", &model, "--data", "synthetic:200", "--epochs", "1", "--batch", "20", "--save", &saved]);
    expect_status(&out, 0);
    let tensors = tensorc::load_safetensors(&saved).unwrap();
    let mut names: Vec<&str> = tensors.iter().map(|(n, _)| n.as_str()).collect();
    names.sort();
    assert_eq!(names, ["p.0", "p.1"]);

    let x = Tensor::from_f32(vec![3, 784], vec![0.5; 3 * 784]).unwrap();
    let x_path = dir.join("x.npy");
    tensorc::save_npy(&x_path, &x).unwrap();
    let out = tensorc(&["run", &model, "-e", "predict", &format!("p={saved}"), &format!("x={}", x_path.display())]);
    expect_status(&out, 0);
    assert!(out.stdout.starts_with("f32[3, 10]"), "{}", out.stdout);
}

#[test]
fn save_names_the_keys_it_writes() {
    let dir = scratch("save-nested");
    let model = write(&dir, "step.tc", WITH_STEP.as_bytes());
    let saved = dir.join("params.safetensors").display().to_string();
    let out = tensorc(&["train", &model, "--data", "synthetic:64", "--epochs", "1", "--batch", "32", "--lr", "0.01", "--save", &saved]);
    expect_status(&out, 0);
    let mut names: Vec<String> = tensorc::load_safetensors(&saved).unwrap().into_iter().map(|(n, _)| n).collect();
    names.sort();
    assert_eq!(names, ["p.0.0", "p.0.1", "p.1.0", "p.1.1"]);
    assert!(out.stdout.contains("saved 4 parameter tensors to ") && out.stdout.contains(" as p.0.0 .. p.1.1,"), "{}", out.stdout);
}

// ---- the model convention -------------------------------------------------------------

fn train_source(name: &str, text: &str) -> Outcome {
    let dir = scratch(name);
    let model = write(&dir, "model.tc", text.as_bytes());
    tensorc(&["train", &model, "--data", "synthetic:64", "--epochs", "1", "--batch", "16"])
}

#[test]
fn missing_init_or_loss_is_a_compile_error() {
    let no_init = LINEAR.replace("fn init(seed)", "fn start(seed)");
    let out = train_source("no-init", &no_init);
    expect_status(&out, 1);
    assert!(out.stderr.contains("error[E0102]: the model has no function `init`"), "{}", out.stderr);
    assert!(out.stderr.contains("SPEC §11"), "{}", out.stderr);

    let no_loss = LINEAR.replace("fn loss(p, x, y: i32[B]) -> f32 {\n    nn::cross_entropy(predict(p, x), y)\n}\n", "");
    let no_both = no_loss.replace("fn init(seed)", "fn start(seed)");
    let out = train_source("no-loss", &no_both);
    expect_status(&out, 1);
    assert!(out.stderr.contains("no function `init`"), "{}", out.stderr);
    assert!(out.stderr.contains("no function `loss`"), "{}", out.stderr);
    assert!(out.stderr.contains("(2 errors)"), "{}", out.stderr);
}

#[test]
fn wrong_shapes_of_the_convention_are_compile_errors() {
    let arity = LINEAR.replace("fn predict(p, x: f32[B, 784])", "fn predict(p, q, x: f32[B, 784])").replace("predict(p, x)", "predict(p, p, x)");
    let out = train_source("arity", &arity);
    expect_status(&out, 1);
    assert!(out.stderr.contains("`predict` must take 2 arguments"), "{}", out.stderr);

    let not_a_tuple = LINEAR.replace("(random_normal(seed, (784, 10)) * 0.01, zeros((10,)))", "random_normal(seed, (784, 10))");
    let out = train_source("not-a-tuple", &not_a_tuple);
    expect_status(&out, 1);
    assert!(out.stderr.contains("`init` must return the parameters as a tuple"), "{}", out.stderr);
    assert!(out.stderr.contains("f32[784, 10]"), "{}", out.stderr);

    let not_scalar = LINEAR.replace("fn loss(p, x, y: i32[B]) -> f32 {\n    nn::cross_entropy(predict(p, x), y)", "fn loss(p, x, y: i32[B]) {\n    predict(p, x)");
    let out = train_source("not-scalar", &not_scalar);
    expect_status(&out, 1);
    assert!(out.stderr.contains("`loss` must return the mean loss of the batch as a scalar f32"), "{}", out.stderr);
    assert!(out.stderr.contains("f32[16, 10]"), "{}", out.stderr);

    let bad_step = format!("{LINEAR}\nfn step(p, x, y, lr) {{ (p, 1.0, 2.0) }}\n");
    let out = train_source("bad-step", &bad_step);
    expect_status(&out, 1);
    assert!(out.stderr.contains("`step` must return (P, loss)"), "{}", out.stderr);
}

#[test]
fn usage_errors() {
    let dir = scratch("usage");
    let model = write(&dir, "tiny.tc", LINEAR.as_bytes());
    let out = tensorc(&["train", &model, "--data", "synthetic:10", "--batch", "64"]);
    expect_status(&out, 2);
    assert!(out.stderr.contains("--batch 64"), "{}", out.stderr);
    let out = tensorc(&["train", &model]);
    expect_status(&out, 2);
    let out = tensorc(&["train", &model, "--data", "synthetic:10", "--backend", "tpu"]);
    expect_status(&out, 2);
    for lr in ["-1", "0", "NaN", "inf"] {
        let out = tensorc(&["train", &model, "--data", "synthetic:64", "--batch", "16", &format!("--lr={lr}")]);
        expect_status(&out, 2);
        assert!(out.stderr.contains(&format!("--lr {lr}: must be positive")), "{}", out.stderr);
        assert!(!out.stdout.contains("epoch 1/"), "no training: {}", out.stdout);
    }
}

/// Parameters that nest, with an f64 leaf and an integer leaf, which SGD leaves as it is.
const NESTED: &str = "use nn;

fn init(seed) {
    (random_normal(seed, (784, 10)) * 0.01, (zeros((10,)), full((), 1.0, f64)), full((2,), 3, i32))
}

fn predict(p, x: f32[B, 784]) {
    let (b, s) = p.1;
    (x @ p.0 + b) * (s as f32)
}

fn loss(p, x, y: i32[B]) -> f32 {
    nn::cross_entropy(predict(p, x), y)
}
";

#[test]
fn the_generated_sgd_step_handles_nested_parameters() {
    let dir = scratch("nested-sgd");
    let model = write(&dir, "nested.tc", NESTED.as_bytes());
    let out = tensorc(&["train", &model, "--data", "synthetic:256", "--epochs", "2", "--batch", "32", "--lr", "0.05", "--json"]);
    expect_status(&out, 0);
    assert!(out.stderr.contains("step: SGD on grad(loss, p)"), "{}", out.stderr);
    let losses = epoch_losses(&out.stdout);
    assert!(losses[1] < losses[0], "{}", out.stdout);
    let session = Session::new(Backend::Interp).unwrap();
    let model = Model::compile_source(&session, "nested.tc", NESTED).unwrap();
    let data = data::load(&DataSpec::Synthetic(64)).unwrap();
    let options = TrainOptions { epochs: 1, batch: 16, lr: 0.05, seed: 0 };
    let outcome = train::train(&model, &data, &options, &mut |_| {}).unwrap();
    let leaves = outcome.params.leaves();
    assert_eq!(leaves[3].data().to_f64_vec(), vec![3.0, 3.0], "the integer leaf is kept");
    assert_ne!(leaves[2].data().to_f64_vec(), vec![1.0], "the f64 leaf is trained");
}

/// The shipped examples keep following the convention: one short epoch each on
/// synthetic data (the real runs are in the README).
#[test]
fn the_fashion_examples_train_on_synthetic_data() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    for (file, layout) in [("fashion_mlp.tc", data::Layout::Flat), ("fashion_cnn.tc", data::Layout::Image)] {
        let path = examples.join(file);
        let session = Session::new(Backend::Interp).unwrap();
        let model = Model::compile_file(&session, &path).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(model.layout, layout, "{file}");
        assert!(model.has_step(), "{file}");
        let out = tensorc(&["train", &path.display().to_string(), "--data", "synthetic:32", "--epochs", "1", "--batch", "8", "--lr", "0.001", "--json"]);
        expect_status(&out, 0);
        assert!(json_number(&out.stdout, "final_loss") > 0.0, "{file}: {}", out.stdout);
    }
}

/// Training gives the same numbers on every backend this build has as on the
/// interpreter, up to float rounding (the generated SGD step and a file's own step).
#[test]
fn every_backend_trains_like_the_interpreter() {
    let data = data::load(&DataSpec::Synthetic(256)).unwrap();
    let options = TrainOptions { epochs: 2, batch: 32, lr: 0.05, seed: 3 };
    for source in [LINEAR, WITH_STEP] {
        let run = |backend: Backend| {
            let session = Session::new(backend).unwrap();
            let model = Model::compile_source(&session, "model.tc", source).unwrap();
            train::train(&model, &data, &options, &mut |_| {}).unwrap()
        };
        let oracle = run(Backend::Interp);
        for backend in Backend::available() {
            let outcome = run(backend);
            for (a, b) in outcome.epochs.iter().zip(&oracle.epochs) {
                assert!((a.loss - b.loss).abs() <= 1e-3 * b.loss.abs().max(1.0), "{backend}: loss {} vs {}", a.loss, b.loss);
                assert!((a.test_accuracy - b.test_accuracy).abs() <= 0.02, "{backend}: accuracy {} vs {}", a.test_accuracy, b.test_accuracy);
            }
        }
    }
}

/// On the GPU the parameters stay on the device: each step uploads only its batch
/// (images as f32, labels as one 4-byte word each) and reads back only the loss.
#[test]
fn a_gpu_training_step_moves_only_its_batch_and_loss() {
    let data = data::load(&DataSpec::Synthetic(256)).unwrap();
    let options = TrainOptions { epochs: 2, batch: 32, lr: 0.05, seed: 3 };
    for source in [LINEAR, WITH_STEP] {
        let session = Session::new(Backend::Wgpu).unwrap();
        let model = Model::compile_source(&session, "model.tc", source).unwrap();
        let outcome = train::train(&model, &data, &options, &mut |_| {}).unwrap();
        for epoch in &outcome.epochs {
            let steps = epoch.steps as u64;
            let batch_bytes = 32 * 784 * 4 + 32 * 4;
            assert_eq!(epoch.transfers.h2d_bytes, steps * batch_bytes, "epoch {}", epoch.epoch);
            assert_eq!(epoch.transfers.d2h_bytes, steps * 4, "epoch {}", epoch.epoch);
        }
    }
}

#[test]
fn synthetic_data_larger_than_memory_is_refused_before_allocating() {
    let dir = scratch("huge-synthetic");
    let model = write(&dir, "tiny.tc", LINEAR.as_bytes());
    let out = tensorc(&["train", &model, "--data", "synthetic:99999999999"]);
    expect_status(&out, 3);
    assert!(out.stderr.contains("synthetic:99999999999 needs") && out.stderr.contains("of memory"), "{}", out.stderr);
    let out = tensorc(&["train", &model, "--data", &format!("synthetic:{}", usize::MAX)]);
    expect_status(&out, 3);
}

#[test]
fn save_is_checked_before_training() {
    let dir = scratch("save-checked");
    let model = write(&dir, "tiny.tc", LINEAR.as_bytes());
    let run = |save: &str| tensorc(&["train", &model, "--data", "synthetic:64", "--epochs", "1", "--batch", "16", "--save", save]);
    let missing_dir = dir.join("no-such-dir").join("p.safetensors");
    let out = run(&missing_dir.display().to_string());
    expect_status(&out, 3);
    assert!(out.stderr.contains("no-such-dir"), "{}", out.stderr);
    assert!(!out.stdout.contains("epoch "), "no epoch runs: {}", out.stdout);
    let out = run(&dir.join("p.npy").display().to_string());
    expect_status(&out, 2);
    assert!(out.stderr.contains(".safetensors"), "{}", out.stderr);
    assert!(!out.stdout.contains("epoch "), "no epoch runs: {}", out.stdout);
    assert!(!dir.join("p.npy").exists());
    // The check leaves nothing behind when training then fails.
    let broken = write(&dir, "broken.tc", LINEAR.replace("x @ p.0", "x @ p.1").as_bytes());
    let target = dir.join("p.safetensors");
    let out = tensorc(&["train", &broken, "--data", "synthetic:64", "--save", &target.display().to_string()]);
    assert_ne!(out.status, 0);
    assert!(!target.exists());
}
