use snn_ipu::data::digits;
use snn_ipu::encode::Encoder;
use snn_ipu::native::{Loss, Native};
use snn_ipu::network::*;
use snn_ipu::optim::OptimizerKind;
use snn_ipu::params::Values;
use snn_ipu::train::{train, Control, Event, TrainConfig, TrainState};
use std::time::Instant;

fn leaky(beta: f64) -> NeuronSpec {
    NeuronSpec {
        model: ModelKind::Leaky,
        reset: ResetKind::Subtract,
        reset_delay: true,
        recurrence: Recurrence::None,
        params: vec![
            NeuronParam {
                name: "beta".into(),
                value: beta,
                per_neuron: false,
                learn: false,
            },
            NeuronParam {
                name: "threshold".into(),
                value: 1.0,
                per_neuron: false,
                learn: false,
            },
            NeuronParam {
                name: "graded".into(),
                value: 1.0,
                per_neuron: false,
                learn: false,
            },
        ],
        surrogate: SurrogateKind::default(),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let hidden: usize = args.get(1).map_or(256, |v| v.parse().unwrap());
    let steps: usize = args.get(2).map_or(25, |v| v.parse().unwrap());
    let pop: usize = args.get(3).map_or(1, |v| v.parse().unwrap());
    let epochs: usize = args.get(4).map_or(20, |v| v.parse().unwrap());
    let lr: f64 = args.get(5).map_or(2e-3, |v| v.parse().unwrap());
    let batch: usize = args.get(6).map_or(64, |v| v.parse().unwrap());
    let enc = args.get(7).map_or("rate".to_string(), |v| v.clone());
    let precision = if args.get(8).map(|s| s.as_str()) == Some("f16") {
        Precision::F16
    } else {
        Precision::F32
    };
    let data = digits::bundled();
    let (tr, te) = data.split(0.2, 1);
    let spec = NetworkSpec {
        inputs: 64,
        layers: vec![
            LayerSpec::Dense {
                inputs: 64,
                outputs: hidden,
            },
            LayerSpec::Spiking {
                neurons: hidden,
                neuron: leaky(0.9),
            },
            LayerSpec::Dense {
                inputs: hidden,
                outputs: 10 * pop,
            },
            LayerSpec::Spiking {
                neurons: 10 * pop,
                neuron: leaky(0.9),
            },
        ],
        classes: 10,
        population: pop,
        precision,
    };
    let native = Native::new(&spec).unwrap();
    let config = TrainConfig {
        epochs,
        batch,
        steps,
        encoder: Encoder::parse(&enc).unwrap(),
        loss: Loss::CeCount,
        optimizer: OptimizerKind::parse("adam", lr).unwrap(),
        clip: None,
        seed: 1,
    };
    let mut state = TrainState::new(Values::init(&spec, 1), &config, precision);
    let t0 = Instant::now();
    train(&native, &config, &tr, &te, &mut state, &mut |e| {
        if let Event::Epoch { metrics, .. } = e {
            println!("epoch {:>2} loss {:.4} train {:.3} test {:.3} ({:.0} samples/s, {:.1}s) scale {} skipped {}", metrics.epoch, metrics.loss, metrics.train_accuracy, metrics.test_accuracy, metrics.samples_per_second, t0.elapsed().as_secs_f64(), metrics.loss_scale, metrics.skipped_steps);
        }
        Control::Continue
    }).unwrap();
}
