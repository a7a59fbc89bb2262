//! Counter-based random numbers: `Random(Dist)` and the Philox-4x32-10 generator
//! (Salmon et al., "Parallel Random Numbers: As Easy as 1, 2, 3", SC'11).
//!
//! Element `i` (flat C-order index) of a `Random` node with seed `s` is generated from
//! `philox4x32_10([i as u32, (i >> 32) as u32, 0, 0], [s as u32, (s >> 32) as u32])`,
//! giving words x0..x3. Uniform: `(x0 >> 8) * 2^-24`, in [0, 1). Normal (Box–Muller):
//! `u1 = ((x0 >> 8) + 1) * 2^-24`, `u2 = (x1 >> 8) * 2^-24`,
//! `sqrt(-2 ln u1) * cos(2π u2)`. Computed in f64 and rounded once to the dtype (so an
//! f16/bf16 uniform can round up to exactly 1.0).

use crate::util::{self, floats_to_data, invalid};
use crate::InterpError;
use tc_ir::{Dist, Type};
use tc_tensor::Tensor;

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

/// Philox-4x32 with 10 rounds: the standard constants, a key bump between rounds.
pub fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mut c = counter;
    let mut k = key;
    for round in 0..10 {
        if round > 0 {
            k = [k[0].wrapping_add(W0), k[1].wrapping_add(W1)];
        }
        let p0 = M0 as u64 * c[0] as u64;
        let p1 = M1 as u64 * c[2] as u64;
        let (hi0, lo0) = ((p0 >> 32) as u32, p0 as u32);
        let (hi1, lo1) = ((p1 >> 32) as u32, p1 as u32);
        c = [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0];
    }
    c
}

/// The Philox words for flat element `index` under `seed`.
pub fn philox_for(seed: i64, index: u64) -> [u32; 4] {
    philox4x32_10([index as u32, (index >> 32) as u32, 0, 0], [seed as u32, ((seed as u64) >> 32) as u32])
}

const TWO_POW_MINUS_24: f64 = 1.0 / 16_777_216.0;

/// The f64 value of element `index` (before rounding to the dtype).
pub fn sample(dist: Dist, seed: i64, index: u64) -> f64 {
    let x = philox_for(seed, index);
    match dist {
        Dist::Uniform => (x[0] >> 8) as f64 * TWO_POW_MINUS_24,
        Dist::Normal => {
            let u1 = ((x[0] >> 8) as f64 + 1.0) * TWO_POW_MINUS_24;
            let u2 = (x[1] >> 8) as f64 * TWO_POW_MINUS_24;
            (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
        }
    }
}

/// `Random(dist)` of type `ty` (a float dtype) with the integer scalar `seed`.
pub fn random(dist: Dist, seed: &Tensor, ty: &Type) -> Result<Tensor, InterpError> {
    if !seed.dtype().is_int() || seed.rank() != 0 {
        return Err(invalid("random", format!("the seed must be an integer scalar, got {}", seed.type_string())));
    }
    if !ty.dtype.is_float() {
        return Err(util::unsupported("random", ty.dtype));
    }
    let s = seed.data().to_i64_vec()[0];
    let v: Vec<f64> = (0..ty.num_elements() as u64).map(|i| sample(dist, s, i)).collect();
    util::tensor(ty.shape.clone(), floats_to_data(ty.dtype, v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tc_tensor::{DType, Data};

    #[test]
    fn philox_known_answers() {
        // Known-answer vectors from the Random123 distribution (kat_vectors).
        assert_eq!(philox4x32_10([0; 4], [0; 2]), [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
        assert_eq!(philox4x32_10([u32::MAX; 4], [u32::MAX; 2]), [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]);
        assert_eq!(
            philox4x32_10([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]),
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]
        );
    }

    #[test]
    fn key_and_counter_layout() {
        // Seed -1 (i64) is key (0xffffffff, 0xffffffff); seed 2^32 + 5 is key (5, 1).
        assert_eq!(philox_for(-1, 3), philox4x32_10([3, 0, 0, 0], [u32::MAX, u32::MAX]));
        assert_eq!(philox_for((1 << 32) + 5, (7 << 32) + 2), philox4x32_10([2, 7, 0, 0], [5, 1]));
    }

    #[test]
    fn uniform_and_normal_values() {
        let ty = Type::new(DType::F64, vec![2, 3]);
        let seed = Tensor::new(vec![], Data::I32(vec![42])).unwrap();
        let u = random(Dist::Uniform, &seed, &ty).unwrap().data().to_f64_vec();
        for (i, &v) in u.iter().enumerate() {
            let x0 = philox4x32_10([i as u32, 0, 0, 0], [42, 0])[0];
            assert_eq!(v, (x0 >> 8) as f64 / 16777216.0);
            assert!((0.0..1.0).contains(&v));
        }
        let n = random(Dist::Normal, &seed, &ty).unwrap().data().to_f64_vec();
        for (i, &v) in n.iter().enumerate() {
            let x = philox4x32_10([i as u32, 0, 0, 0], [42, 0]);
            let u1 = ((x[0] >> 8) as f64 + 1.0) / 16777216.0;
            let u2 = (x[1] >> 8) as f64 / 16777216.0;
            assert_eq!(v, (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos());
        }
        // f32 is the f64 value rounded once; an i32 seed and the equal i64 seed agree.
        let seed64 = Tensor::new(vec![], Data::I64(vec![42])).unwrap();
        let f = random(Dist::Normal, &seed64, &Type::new(DType::F32, vec![2, 3])).unwrap();
        assert_eq!(f.as_f32().unwrap(), n.iter().map(|&v| v as f32).collect::<Vec<_>>().as_slice());
    }

    #[test]
    fn uniform_statistics() {
        let ty = Type::new(DType::F64, vec![20000]);
        let seed = Tensor::new(vec![], Data::I64(vec![7])).unwrap();
        let u = random(Dist::Uniform, &seed, &ty).unwrap().data().to_f64_vec();
        let mean = u.iter().sum::<f64>() / u.len() as f64;
        assert!((mean - 0.5).abs() < 0.01, "{mean}");
        let n = random(Dist::Normal, &seed, &ty).unwrap().data().to_f64_vec();
        let mean = n.iter().sum::<f64>() / n.len() as f64;
        let var = n.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n.len() as f64;
        assert!(mean.abs() < 0.03 && (var - 1.0).abs() < 0.05, "{mean} {var}");
        // Other seeds give other streams.
        let seed2 = Tensor::new(vec![], Data::I64(vec![8])).unwrap();
        assert_ne!(random(Dist::Uniform, &seed2, &ty).unwrap().data().to_f64_vec(), u);
    }

    #[test]
    fn bad_seed_or_dtype() {
        let ty = Type::new(DType::F32, vec![2]);
        assert!(random(Dist::Uniform, &Tensor::scalar_f32(1.0), &ty).is_err());
        let seed = Tensor::new(vec![1], Data::I64(vec![1])).unwrap();
        assert!(random(Dist::Uniform, &seed, &ty).is_err());
        let seed = Tensor::new(vec![], Data::I64(vec![1])).unwrap();
        assert!(random(Dist::Uniform, &seed, &Type::new(DType::I32, vec![2])).is_err());
    }
}
