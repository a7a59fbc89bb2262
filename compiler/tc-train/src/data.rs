//! Data sets for `tensorc train` (SPEC §11): `fashion-mnist` (the Debian package
//! `dataset-fashion-mnist`'s IDX files), `fashion-mnist:DIR` (IDX files elsewhere,
//! gzipped or not) and `synthetic:N` (a deterministic, learnable stand-in of the same
//! shapes, for tests).
//!
//! Every split is stored as Fashion-MNIST is: `u8` pixels and `u8` labels. A batch is
//! made on demand: pixels scaled to [0, 1] in the model's float dtype, shaped
//! `[B, 784]` or `[B, 1, 28, 28]` ([`Layout`]), labels as `i32[B]`.

use std::path::{Path, PathBuf};

use tc_tensor::{DType, Data, Tensor};

use crate::idx::{self, IdxError, Images};
use tensorc::Error;

/// Where the Debian package `dataset-fashion-mnist` puts its files.
pub const FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";
/// The Debian package that ships Fashion-MNIST.
pub const FASHION_MNIST_PACKAGE: &str = "dataset-fashion-mnist";
/// Classes of Fashion-MNIST (and of the synthetic data).
pub const CLASSES: usize = 10;

/// A `--data` argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataSpec {
    /// IDX files in this directory (`fashion-mnist` is [`FASHION_MNIST_DIR`]).
    FashionMnist(PathBuf),
    /// `synthetic:N`: N training examples, and N / 5 (at least 10) test examples.
    Synthetic(usize),
}

impl DataSpec {
    /// Parse `fashion-mnist`, `fashion-mnist:DIR` or `synthetic:N`; a usage error otherwise.
    pub fn parse(text: &str) -> Result<DataSpec, Error> {
        let usage = |why: &str| {
            Error::Usage(format!("--data `{text}`: {why}; expected fashion-mnist, fashion-mnist:DIR or synthetic:N"))
        };
        match text.split_once(':') {
            None if text == "fashion-mnist" => Ok(DataSpec::FashionMnist(PathBuf::from(FASHION_MNIST_DIR))),
            Some(("fashion-mnist", dir)) if !dir.is_empty() => Ok(DataSpec::FashionMnist(PathBuf::from(dir))),
            Some(("synthetic", n)) => match n.replace('_', "").parse::<usize>() {
                Ok(n) if n > 0 => Ok(DataSpec::Synthetic(n)),
                _ => Err(usage("N must be a positive number of examples")),
            },
            _ => Err(usage("unknown data set")),
        }
    }
}

/// Labelled images, stored as bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split {
    pub images: Images,
    pub labels: Vec<u8>,
}

impl Split {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// A training split and a test split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataSet {
    /// `fashion-mnist (/usr/share/...)` or `synthetic:512`, for messages.
    pub name: String,
    pub train: Split,
    pub test: Split,
}

/// Load the data set `spec` names. `synthetic:N` is generated only if its bytes fit in
/// the memory available ([`tensorc::memory::check_memory`]).
pub fn load(spec: &DataSpec) -> Result<DataSet, Error> {
    match spec {
        DataSpec::FashionMnist(dir) => fashion_mnist(dir),
        DataSpec::Synthetic(n) => {
            tensorc::memory::check_memory(&format!("--data synthetic:{n}"), synthetic_bytes(*n))?;
            Ok(synthetic(*n))
        }
    }
}

/// The bytes `synthetic(n)` holds (pixels and labels of both splits), plus the index of
/// every training example that a training run shuffles.
fn synthetic_bytes(n: usize) -> u128 {
    let examples = n as u128 + (n / 5).max(10) as u128;
    let per_example = (SYNTHETIC_SIDE * SYNTHETIC_SIDE + 1) as u128;
    examples * per_example + n as u128 * std::mem::size_of::<usize>() as u128
}

/// The four Fashion-MNIST files of `dir` (each `NAME.gz` or `NAME`), validated.
pub fn fashion_mnist(dir: &Path) -> Result<DataSet, Error> {
    let install = format!(
        "Fashion-MNIST ships as the Debian package `{FASHION_MNIST_PACKAGE}`: \
         `apt-get install {FASHION_MNIST_PACKAGE}` puts it in {FASHION_MNIST_DIR}"
    );
    if !dir.is_dir() {
        return Err(Error::Runtime(format!("fashion-mnist: no directory {}; {install}", dir.display())));
    }
    let find = |name: &str| -> Result<PathBuf, Error> {
        [format!("{name}.gz"), name.to_string()].iter().map(|n| dir.join(n)).find(|p| p.is_file()).ok_or_else(|| {
            Error::Runtime(format!("fashion-mnist: {} has no {name}.gz (nor {name}); {install}", dir.display()))
        })
    };
    let split = |images: &str, labels: &str| -> Result<Split, Error> {
        let (images_path, labels_path) = (find(images)?, find(labels)?);
        let bad = |path: &Path, e: IdxError| Error::Runtime(format!("{}: {e}", path.display()));
        let images = idx::read_images(&images_path).map_err(|e| bad(&images_path, e))?;
        let labels = idx::read_labels(&labels_path).map_err(|e| bad(&labels_path, e))?;
        idx::labelled(&images, &labels, CLASSES).map_err(|e| match e {
            IdxError::CountMismatch { .. } => {
                Error::Runtime(format!("{} and {}: {e}", images_path.display(), labels_path.display()))
            }
            e => bad(&labels_path, e),
        })?;
        Ok(Split { images, labels })
    };
    let train = split("train-images-idx3-ubyte", "train-labels-idx1-ubyte")?;
    let test = split("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")?;
    if (train.images.rows, train.images.cols) != (test.images.rows, test.images.cols) {
        return Err(Error::Runtime(format!(
            "fashion-mnist: training images are {}×{} but test images {}×{}",
            train.images.rows, train.images.cols, test.images.rows, test.images.cols
        )));
    }
    Ok(DataSet { name: format!("fashion-mnist ({})", dir.display()), train, test })
}

/// A small, fast, seeded random number generator (SplitMix64).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n (n > 0), without modulo bias worth caring about for n ≪ 2^64.
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// Fisher–Yates.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

/// The side of a synthetic image, in pixels (as Fashion-MNIST's).
const SYNTHETIC_SIDE: usize = 28;

/// The seed of the synthetic data: the same N always gives the same data set.
const SYNTHETIC_SEED: u64 = 0x7e45_02c5_eed5_da7a;

/// `synthetic:N`: 28×28 images of 10 classes. Each class has a prototype (a few bright
/// rectangles at random places); an example is its class's prototype at a random
/// brightness, shifted by up to one pixel, plus uniform noise. A linear model separates
/// the classes well, so a tiny model learns it within a couple of epochs.
pub fn synthetic(n: usize) -> DataSet {
    const SIDE: usize = SYNTHETIC_SIDE;
    let mut rng = Rng::new(SYNTHETIC_SEED);
    let prototypes: Vec<Vec<f64>> = (0..CLASSES)
        .map(|_| {
            let mut p = vec![0.0; SIDE * SIDE];
            for _ in 0..4 {
                let (h, w) = (4 + rng.below(8), 4 + rng.below(8));
                let (top, left) = (rng.below(SIDE - h), rng.below(SIDE - w));
                let value = 0.5 + 0.5 * rng.next_f64();
                for r in top..top + h {
                    for c in left..left + w {
                        p[r * SIDE + c] = f64::max(p[r * SIDE + c], value);
                    }
                }
            }
            p
        })
        .collect();
    let mut make = |count: usize| -> Split {
        let mut pixels = Vec::with_capacity(count * SIDE * SIDE);
        let mut labels = Vec::with_capacity(count);
        for i in 0..count {
            // Balanced classes; training shuffles the order.
            let label = i % CLASSES;
            let brightness = 0.6 + 0.4 * rng.next_f64();
            let (dr, dc) = (rng.below(3) as isize - 1, rng.below(3) as isize - 1);
            let p = &prototypes[label];
            for r in 0..SIDE as isize {
                for c in 0..SIDE as isize {
                    let (sr, sc) = (r - dr, c - dc);
                    let inside = (0..SIDE as isize).contains(&sr) && (0..SIDE as isize).contains(&sc);
                    let base = if inside { p[(sr * SIDE as isize + sc) as usize] } else { 0.0 };
                    let v = (base * brightness + 0.3 * rng.next_f64()).clamp(0.0, 1.0);
                    pixels.push((v * 255.0).round() as u8);
                }
            }
            labels.push(label as u8);
        }
        Split { images: Images { count, rows: SIDE, cols: SIDE, pixels }, labels }
    };
    let train = make(n);
    let test = make((n / 5).max(10));
    DataSet { name: format!("synthetic:{n}"), train, test }
}

/// How a batch of images is shaped for the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `[B, rows * cols]`.
    Flat,
    /// `[B, 1, rows, cols]`.
    Image,
}

/// The images `indices` of `split` as one tensor of `dtype` (a float dtype), scaled
/// to [0, 1], and their labels as `i32[B]`.
pub fn batch(split: &Split, indices: &[usize], layout: Layout, dtype: DType) -> (Tensor, Tensor) {
    let features = split.images.features();
    let mut x = Vec::with_capacity(indices.len() * features);
    for &i in indices {
        x.extend(split.images.pixels[i * features..(i + 1) * features].iter().map(|&p| f32::from(p) / 255.0));
    }
    let shape = match layout {
        Layout::Flat => vec![indices.len(), features],
        Layout::Image => vec![indices.len(), 1, split.images.rows, split.images.cols],
    };
    let data = match dtype {
        DType::F32 => Data::F32(x),
        other => Data::from_f64(other, &x.iter().map(|&v| f64::from(v)).collect::<Vec<_>>()),
    };
    let x = Tensor::new(shape, data).expect("batch shape matches its elements");
    let y: Vec<i32> = indices.iter().map(|&i| i32::from(split.labels[i])).collect();
    let y = Tensor::from_i32(vec![indices.len()], y).expect("label count matches");
    (x, y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        assert_eq!(DataSpec::parse("fashion-mnist").unwrap(), DataSpec::FashionMnist(FASHION_MNIST_DIR.into()));
        assert_eq!(DataSpec::parse("fashion-mnist:/tmp/x").unwrap(), DataSpec::FashionMnist("/tmp/x".into()));
        assert_eq!(DataSpec::parse("synthetic:1_000").unwrap(), DataSpec::Synthetic(1000));
        for bad in ["mnist", "synthetic:0", "synthetic:x", "fashion-mnist:", "synthetic"] {
            assert!(matches!(DataSpec::parse(bad), Err(Error::Usage(_))), "{bad}");
        }
    }

    #[test]
    fn oversized_synthetic_data_is_refused_before_allocating() {
        for n in [99_999_999_999, usize::MAX] {
            match load(&DataSpec::Synthetic(n)) {
                Err(Error::Runtime(message)) => assert!(message.contains("needs") && message.contains("memory"), "{message}"),
                other => panic!("synthetic:{n} gave {:?}", other.map(|d| d.name)),
            }
        }
    }

    #[test]
    fn synthetic_is_deterministic_and_balanced() {
        let a = synthetic(200);
        assert_eq!(a, synthetic(200));
        assert_eq!(a.train.len(), 200);
        assert_eq!(a.test.len(), 40);
        assert_eq!(a.train.images.pixels.len(), 200 * 784);
        for class in 0..CLASSES as u8 {
            let count = a.train.labels.iter().filter(|&&l| l == class).count();
            assert!(count > 5, "class {class} has {count} examples");
        }
    }

    #[test]
    fn shuffle_is_a_seeded_permutation() {
        let mut a: Vec<usize> = (0..100).collect();
        let mut b = a.clone();
        Rng::new(7).shuffle(&mut a);
        Rng::new(7).shuffle(&mut b);
        assert_eq!(a, b);
        assert_ne!(a, (0..100).collect::<Vec<_>>());
        a.sort();
        assert_eq!(a, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn batches_are_scaled_and_shaped() {
        let data = synthetic(20);
        let (x, y) = batch(&data.train, &[3, 1], Layout::Image, DType::F32);
        assert_eq!(x.shape(), &[2, 1, 28, 28]);
        assert_eq!(y.as_i32().unwrap(), &[i32::from(data.train.labels[3]), i32::from(data.train.labels[1])]);
        let xs = x.as_f32().unwrap();
        assert!(xs.iter().all(|v| (0.0..=1.0).contains(v)));
        assert_eq!(xs[0], f32::from(data.train.images.pixels[3 * 784]) / 255.0);
        let (x, _) = batch(&data.train, &[0], Layout::Flat, DType::F64);
        assert_eq!((x.shape(), x.dtype()), (&[1usize, 784][..], DType::F64));
    }
}
