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
    let mut spk = vec![1.0f32; len];
    let mut mem = vec![1.0f32; len];
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
    layer
        .forward(t, &[&x], &[&mem0], &mut spk, &mut [&mut mem])
        .unwrap();
    let gspk = vec![0.01f32; len];
    let mut gx = vec![1.0f32; len];
    let mut gm0 = vec![1.0f32; n];
    for _ in 0..6 {
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
                    params: &mut [],
                },
            )
            .unwrap();
        println!(
            "bwd {:.1} M/s",
            len as f64 / s.elapsed().as_secs_f64() / 1e6
        );
    }
}
