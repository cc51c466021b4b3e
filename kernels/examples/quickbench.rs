use snn_kernels::{models::Leaky, surrogate::Atan, InputGrads, Layer, OutputGrads, Param, Saved};
use std::time::Instant;
fn main() {
    let (t, b, m): (usize, usize, usize) = {
        let a: Vec<usize> = std::env::args()
            .skip(1)
            .map(|s| s.parse().unwrap())
            .collect();
        if a.len() == 3 {
            (a[0], a[1], a[2])
        } else {
            (100, 128, 4096)
        }
    };
    let n = b * m;
    let len = t * n;
    let x: Vec<f32> = (0..len)
        .map(|i| ((i.wrapping_mul(2654435761) % 1000) as f32) / 700.0 - 0.3)
        .collect();
    let mem0 = vec![0.0f32; n];
    let mut spk = vec![0.0f32; len];
    let mut mem = vec![0.0f32; len];
    let layer = Layer::new(
        Leaky::default(),
        Atan::default(),
        b,
        m,
        &[
            Param::Scalar(0.9f32),
            Param::Scalar(1.0),
            Param::Scalar(1.0),
        ],
    )
    .unwrap();
    let gspk = vec![0.01f32; len];
    let mut gx = vec![1.0f32; len];
    let mut gm0 = vec![1.0f32; n];
    for _ in 0..3 {
        let s = Instant::now();
        layer
            .forward(t, &[&x], &[&mem0], &mut spk, &mut [&mut mem])
            .unwrap();
        let f = s.elapsed().as_secs_f64();
        let (mut gb, mut gt, mut gg) = ([0.0f32], [0.0f32], [0.0f32]);
        let s = Instant::now();
        layer
            .backward(
                t,
                Saved {
                    inputs: &[&x],
                    initial: &[&mem0],
                    spikes: &spk,
                    states: &[&mem],
                },
                OutputGrads {
                    spikes: &gspk,
                    states: &[],
                },
                InputGrads {
                    inputs: &mut [&mut gx],
                    initial: &mut [&mut gm0],
                    params: &mut [&mut gb, &mut gt, &mut gg],
                },
            )
            .unwrap();
        let bw = s.elapsed().as_secs_f64();
        let s2 = Instant::now();
        plain(t, n, &x, &mut spk, &mut mem);
        let pf = s2.elapsed().as_secs_f64();
        println!("plain fwd {:.1} M/s", len as f64 / pf / 1e6);
        println!(
            "fwd {:.1} M/s  bwd {:.1} M/s  fwd+bwd {:.1} M/s  (gb {})",
            len as f64 / f / 1e6,
            len as f64 / bw / 1e6,
            len as f64 / (f + bw) / 1e6,
            gb[0]
        );
    }
}
#[allow(dead_code)]
pub fn plain(t: usize, n: usize, x: &[f32], spk: &mut [f32], mem: &mut [f32]) {
    let mut m = vec![0.0f32; n];
    for s in 0..t {
        let xs = &x[s * n..(s + 1) * n];
        let so = &mut spk[s * n..(s + 1) * n];
        for i in 0..n {
            let r = if m[i] > 1.0 { 1.0 } else { 0.0 };
            let v = 0.9 * m[i] + xs[i] - r;
            m[i] = v;
            so[i] = if v > 1.0 { 1.0 } else { 0.0 };
        }
        mem[s * n..(s + 1) * n].copy_from_slice(&m);
    }
}
