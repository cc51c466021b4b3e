//! Datasets: images with labels, as inputs in `[0, 1]` for the encoders.
//!
//! - [`digits`]: the 8x8 handwritten digits bundled with the repository
//!   (`data/digits/digits.bin`, 1797 images, 10 classes), the default, with
//!   a fixed, seeded train/test split ([`Dataset::split`]);
//! - [`idx`]: MNIST and Fashion-MNIST (or any set in their layout) from a
//!   folder of four IDX files, plain or gzipped ([`idx::load_dir`], the
//!   command's `--data DIR`), already split into training and test sets.

pub mod digits;
pub mod idx;

use std::fmt;

/// Images and their labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// A short name for reports.
    pub name: String,
    /// Features per image (pixels).
    pub features: usize,
    /// Classes.
    pub classes: usize,
    /// `[N][features]`, every value in `[0, 1]`.
    pub inputs: Vec<f32>,
    /// `N` labels, each below `classes`.
    pub labels: Vec<usize>,
}

/// A dataset file that cannot be used, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataError(pub String);

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DataError {}

/// A pseudo-random index for `(seed, round, i)` (SplitMix64).
fn mix(seed: u64, round: u64, i: u64) -> u64 {
    let mut z =
        seed ^ round.wrapping_mul(0xd1b5_4a32_d192_ed03) ^ i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A permutation of `0..n`, fixed by `(seed, round)` (Fisher–Yates with a
/// counter-based generator: the same on every machine and thread count).
pub fn permutation(n: usize, seed: u64, round: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (mix(seed, round, i as u64) % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
}

impl Dataset {
    /// The number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The images of each class (labels at or above `classes` are not
    /// counted).
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes];
        for &label in &self.labels {
            if let Some(count) = counts.get_mut(label) {
                *count += 1;
            }
        }
        counts
    }

    /// One line for the command's output: name, images, features, classes
    /// and the images of each class, e.g. `mnist (test): 10000 images of
    /// 784 features, 10 classes (980 1135 1032 1010 982 892 958 1028 974
    /// 1009 per class)`.
    pub fn summary(&self) -> String {
        let counts: Vec<String> = self.class_counts().iter().map(|c| c.to_string()).collect();
        format!(
            "{}: {} images of {} features, {} classes ({} per class)",
            self.name,
            self.len(),
            self.features,
            self.classes,
            counts.join(" ")
        )
    }

    /// Image `i`'s features.
    pub fn image(&self, i: usize) -> &[f32] {
        &self.inputs[i * self.features..(i + 1) * self.features]
    }

    /// The images at `indices`, in that order.
    pub fn subset(&self, indices: &[usize], name: &str) -> Dataset {
        Dataset {
            name: name.to_string(),
            features: self.features,
            classes: self.classes,
            inputs: indices
                .iter()
                .flat_map(|&i| self.image(i).iter().copied())
                .collect(),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
        }
    }

    /// A fixed split into training and test sets: a permutation fixed by
    /// `seed`, the first `test_fraction` of it for testing.
    pub fn split(&self, test_fraction: f64, seed: u64) -> (Dataset, Dataset) {
        let order = permutation(self.len(), seed, u64::MAX);
        let test = ((self.len() as f64 * test_fraction).round() as usize).min(self.len());
        let (test_indices, train_indices) = order.split_at(test);
        (
            self.subset(train_indices, &format!("{} (train)", self.name)),
            self.subset(test_indices, &format!("{} (test)", self.name)),
        )
    }
}
