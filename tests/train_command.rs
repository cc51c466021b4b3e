//! The `train` and `evaluate` commands end to end, through the library
//! functions the binary calls: saved weights evaluate to the accuracy the
//! run reported, a run stopped by Ctrl-C and resumed from its checkpoint
//! ends with the same weights (bit for bit) and metrics file as one that was
//! never stopped, `--data DIR` trains on IDX files, and the errors a user
//! can meet name what to fix.

use std::path::{Path, PathBuf};

use snn_ipu::checkpoint::load_weights;
use snn_ipu::cli::TrainOptions;
use snn_ipu::commands::{evaluate_command, train_command};
use snn_ipu::interrupt::Interrupt;

fn folder(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("train_command")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a test folder");
    dir
}

fn options(args: &[&str]) -> TrainOptions {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    TrainOptions::parse(&args)
        .expect("valid options")
        .expect("not --help")
}

/// A small, quick run on the bundled digits.
const SMALL: [&str; 10] = [
    "--hidden", "24", "--steps", "4", "--batch", "128", "--epochs", "2", "--lr", "0.005",
];

fn run(args: &[&str], interrupt: &Interrupt) -> (Result<(), String>, String) {
    let mut out = Vec::new();
    let result = train_command(&options(args), interrupt, &mut out);
    (result, String::from_utf8(out).expect("text"))
}

fn bits(path: &Path) -> Vec<Vec<u32>> {
    let (_, values) = load_weights(path).expect("weights");
    values
        .tensors
        .iter()
        .map(|t| t.iter().map(|v| v.to_bits()).collect())
        .collect()
}

fn with(base: &[&'static str], more: &[&str]) -> Vec<String> {
    base.iter()
        .map(|s| s.to_string())
        .chain(more.iter().map(|s| s.to_string()))
        .collect()
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn saved_weights_evaluate_to_the_accuracy_the_run_reported() {
    let dir = folder("save_evaluate");
    let weights = dir.join("w.safetensors");
    let w = weights.to_str().unwrap();
    let args = with(&SMALL, &["--save", w]);
    let (result, out) = run(&refs(&args), &Interrupt::new());
    result.expect("training runs");
    let last = out
        .lines()
        .rfind(|l| l.starts_with("epoch "))
        .expect("epoch lines");
    let reported = last
        .split("test ")
        .nth(2)
        .and_then(|s| s.split('%').next())
        .expect("test accuracy");
    let eval_args: Vec<String> = ["--load", w, "--steps", "4", "--batch", "128"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let eval = TrainOptions::parse_evaluate(&eval_args).unwrap().unwrap();
    let mut eval_out = Vec::new();
    evaluate_command(&eval, &mut eval_out).expect("evaluation runs");
    let eval_out = String::from_utf8(eval_out).unwrap();
    assert!(
        eval_out.contains(&format!("test accuracy {reported}%")),
        "train reported {reported}%: {eval_out}"
    );
    // other encoding steps: another accuracy is possible, but it runs
    let other: Vec<String> = ["--load", w, "--steps", "3"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let other = TrainOptions::parse_evaluate(&other).unwrap().unwrap();
    evaluate_command(&other, &mut Vec::new()).expect("evaluation runs");
}

#[test]
fn a_run_stopped_by_ctrl_c_and_resumed_ends_as_one_never_stopped() {
    let dir = folder("interrupt_resume");
    let path = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let (straight_w, straight_csv) = (path("straight.safetensors"), path("straight.csv"));
    let args = with(&SMALL, &["--save", &straight_w, "--metrics", &straight_csv]);
    run(&refs(&args), &Interrupt::new())
        .0
        .expect("the uninterrupted run");

    let (ckpt, resumed_w, resumed_csv) = (
        path("run.ckpt"),
        path("resumed.safetensors"),
        path("resumed.csv"),
    );
    let args = with(&SMALL, &["--checkpoint", &ckpt, "--metrics", &resumed_csv]);
    // Ctrl-C before the first batch ends: the run stops after it
    let interrupt = Interrupt::new();
    interrupt.request();
    let (result, _) = run(&refs(&args), &interrupt);
    let message = result.expect_err("an interrupted run reports it");
    assert!(
        message.contains("interrupted in epoch 1 after batch 1"),
        "{message}"
    );
    assert!(
        message.contains(&format!("snn-ipu train --resume {ckpt}")),
        "{message}"
    );

    // the checkpoint refuses other options than those --resume allows
    let bad: Vec<String> = ["--resume", &ckpt, "--lr", "0.1"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let e = TrainOptions::parse(&bad).unwrap_err();
    assert!(e.contains("--lr cannot be given with it"), "{e}");

    let args: Vec<String> = [
        "--resume",
        &ckpt,
        "--save",
        &resumed_w,
        "--metrics",
        &resumed_csv,
        "--checkpoint",
        &ckpt,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let (result, out) = run(&refs(&args), &Interrupt::new());
    result.expect("the resumed run");
    assert!(out.contains("resuming"), "{out}");
    assert_eq!(
        bits(Path::new(&resumed_w)),
        bits(Path::new(&straight_w)),
        "the weights"
    );
    // the metrics, without the columns that measure time
    let rows = |p: &str| -> Vec<String> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                [&f[..5], &f[7..]].concat().join(",")
            })
            .collect()
    };
    assert_eq!(rows(&resumed_csv), rows(&straight_csv), "the metrics files");

    // one more epoch from the final checkpoint continues; the same number is refused
    let more: Vec<String> = ["--resume", &ckpt, "--epochs", "2"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let e = run(&refs(&more), &Interrupt::new()).0.unwrap_err();
    assert!(e.contains("leaves nothing to do"), "{e}");
    let more: Vec<String> = ["--resume", &ckpt, "--epochs", "3"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let (result, out) = run(&refs(&more), &Interrupt::new());
    result.expect("a third epoch");
    assert!(out.contains("epoch 3:"), "{out}");

    // a damaged checkpoint is refused, naming the file, and is left alone
    let damaged = path("damaged.ckpt");
    let mut bytes = std::fs::read(&ckpt).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&damaged, &bytes).unwrap();
    let args: Vec<String> = ["--resume", &damaged, "--checkpoint", &damaged]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let e = run(&refs(&args), &Interrupt::new()).0.unwrap_err();
    assert!(e.contains(&damaged), "{e}");
    assert_eq!(
        std::fs::read(&damaged).unwrap(),
        bytes,
        "nothing overwritten"
    );
}

fn idx(magic: u32, dims: &[u32], payload: &[u8]) -> Vec<u8> {
    let mut out = magic.to_be_bytes().to_vec();
    for d in dims {
        out.extend(d.to_be_bytes());
    }
    out.extend(payload);
    out
}

#[test]
fn data_dir_trains_on_idx_files_and_names_a_bad_one() {
    let dir = folder("idx");
    // 4x4 images: class c lights row c (four classes of ten)
    let image = |label: usize, k: usize| -> Vec<u8> {
        (0..16)
            .map(|p| {
                if p / 4 == label % 4 {
                    200 + (k % 50) as u8
                } else {
                    (k * p % 20) as u8
                }
            })
            .collect()
    };
    for (prefix, count) in [("train", 80usize), ("t10k", 40)] {
        let labels: Vec<u8> = (0..count).map(|k| (k % 4) as u8).collect();
        let pixels: Vec<u8> = (0..count).flat_map(|k| image(k % 4, k)).collect();
        std::fs::write(
            dir.join(format!("{prefix}-images-idx3-ubyte")),
            idx(0x803, &[count as u32, 4, 4], &pixels),
        )
        .unwrap();
        std::fs::write(
            dir.join(format!("{prefix}-labels-idx1-ubyte")),
            idx(0x801, &[count as u32], &labels),
        )
        .unwrap();
    }
    let d = dir.to_str().unwrap();
    let (result, out) = run(
        &[
            "--data", d, "--hidden", "16", "--steps", "6", "--epochs", "3", "--batch", "16",
            "--lr", "0.01",
        ],
        &Interrupt::new(),
    );
    result.expect("training on IDX files");
    assert!(
        out.contains("80 training and 40 test images, 16 features, 10 classes"),
        "{out}"
    );
    let last = out
        .lines()
        .rfind(|l| l.starts_with("epoch 3:"))
        .expect("three epochs");
    assert!(
        last.contains("test 100.00%"),
        "four separable classes are learnt: {last}"
    );

    // a truncated label file: named, with its problem
    let labels = dir.join("t10k-labels-idx1-ubyte");
    let bytes = std::fs::read(&labels).unwrap();
    std::fs::write(&labels, &bytes[..bytes.len() - 3]).unwrap();
    let e = run(&["--data", d], &Interrupt::new()).0.unwrap_err();
    assert!(e.contains("t10k-labels-idx1-ubyte"), "{e}");
    assert!(e.contains("truncated") || e.contains("ends"), "{e}");
    // a missing folder
    let e = run(
        &["--data", dir.join("nowhere").to_str().unwrap()],
        &Interrupt::new(),
    )
    .0
    .unwrap_err();
    assert!(e.contains("nowhere") && e.contains("cannot open"), "{e}");
}

#[test]
fn evaluate_refuses_weights_of_another_shape_of_data() {
    let dir = folder("evaluate_mismatch");
    let weights = dir.join("w.safetensors");
    let w = weights.to_str().unwrap();
    run(
        &[
            "--hidden", "8", "--steps", "2", "--epochs", "1", "--save", w,
        ],
        &Interrupt::new(),
    )
    .0
    .expect("a tiny run");
    let idx_dir = folder("evaluate_mismatch_idx");
    for (prefix, count) in [("train", 4u32), ("t10k", 4)] {
        std::fs::write(
            idx_dir.join(format!("{prefix}-images-idx3-ubyte")),
            idx(0x803, &[count, 2, 2], &vec![9; 4 * count as usize]),
        )
        .unwrap();
        std::fs::write(
            idx_dir.join(format!("{prefix}-labels-idx1-ubyte")),
            idx(0x801, &[count], &[0, 1, 2, 3][..count as usize]),
        )
        .unwrap();
    }
    let args: Vec<String> = ["--load", w, "--data", idx_dir.to_str().unwrap()]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let options = TrainOptions::parse_evaluate(&args).unwrap().unwrap();
    let e = evaluate_command(&options, &mut Vec::new()).unwrap_err();
    assert!(
        e.contains("takes 64 features") && e.contains("has 4 features"),
        "{e}"
    );
    // weights that are not there
    let args: Vec<String> = ["--load", dir.join("none.safetensors").to_str().unwrap()]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let options = TrainOptions::parse_evaluate(&args).unwrap().unwrap();
    let e = evaluate_command(&options, &mut Vec::new()).unwrap_err();
    assert!(e.contains("none.safetensors"), "{e}");
}
