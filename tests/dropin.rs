//! `SpikingLinear` as a drop-in Burn module: it composes with `burn::nn::Linear`, trains with
//! Burn's Adam on `Autodiff<NdArray>`, records and loads with Burn's recorders, and moves
//! between devices.

use burn::backend::{Autodiff, NdArray};
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::record::{BinBytesRecorder, DoublePrecisionSettings, Recorder};
use burn::tensor::activation::sigmoid;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use delgrad::{DelayKind, SpikeBackend, SpikingLinear, SpikingLinearConfig};

#[derive(Module, Debug)]
struct Hybrid<B: Backend> {
    encoder: Linear<B>,
    hidden: SpikingLinear<B>,
    output: SpikingLinear<B>,
}

impl<B: SpikeBackend> Hybrid<B> {
    fn new(device: &B::Device) -> Self {
        Self {
            encoder: LinearConfig::new(2, 4).init(device),
            hidden: SpikingLinearConfig::new(4, 10)
                .with_delays(DelayKind::Synaptic)
                .init_seeded(1, device)
                .unwrap(),
            output: SpikingLinearConfig::new(10, 2)
                .with_delays(DelayKind::Axonal)
                .init_seeded(2, device)
                .unwrap(),
        }
    }

    fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        // A smooth map from real features to spike times in (0.15, 2.0).
        let times = sigmoid(self.encoder.forward(x))
            .mul_scalar(1.85)
            .add_scalar(0.15);
        self.output.forward(self.hidden.forward(times))
    }
}

/// Mean squared distance of each output spike time from its target (silent outputs excluded).
fn loss<B: SpikeBackend>(out: Tensor<B, 2>, target: Tensor<B, 2>) -> Tensor<B, 1> {
    let silent = out.clone().is_inf();
    let diff = out.sub(target).mask_fill(silent, 0.0);
    diff.clone().mul(diff).mean()
}

fn data<B: Backend>(device: &B::Device) -> (Tensor<B, 2>, Tensor<B, 2>) {
    let x: Vec<f32> = (0..32)
        .flat_map(|k| [(k % 8) as f32 / 8.0, (k / 8) as f32 / 4.0])
        .collect();
    let y: Vec<f32> = x
        .chunks(2)
        .flat_map(|p| [1.2 + 0.4 * p[0], 1.6 - 0.3 * p[1]])
        .collect();
    (
        Tensor::from_data(TensorData::new(x, [32, 2]), device),
        Tensor::from_data(TensorData::new(y, [32, 2]), device),
    )
}

#[test]
fn hybrid_model_trains_with_burn_adam_and_linear_gets_gradients() {
    type B = Autodiff<NdArray>;
    let device = Default::default();
    let mut model = Hybrid::<B>::new(&device);
    let (x, y) = data::<B>(&device);
    let mut optim = AdamConfig::new().init();
    let first = loss(model.forward(x.clone()), y.clone()).into_scalar();
    let mut last = first;
    for step in 0..30 {
        let l = loss(model.forward(x.clone()), y.clone());
        last = l.clone().into_scalar();
        let grads = l.backward();
        if step == 0 {
            let g = model
                .encoder
                .weight
                .grad(&grads)
                .expect("Linear weight gets a gradient");
            let norm: f32 = g.abs().sum().into_scalar();
            assert!(norm > 0.0, "Linear layer received an all-zero gradient");
        }
        let grads = GradientsParams::from_grads(grads, &model);
        model = optim.step(0.01, model, grads);
    }
    assert!(
        last < 0.7 * first,
        "loss did not decrease enough: {first} -> {last}"
    );
}

#[test]
fn records_load_and_move_between_devices() {
    type B = NdArray<f64>;
    let device = Default::default();
    let model = Hybrid::<B>::new(&device);
    let (x, _) = data::<B>(&device);
    let before = model.forward(x.clone()).into_data();
    let spikes = (before
        .clone()
        .convert::<f64>()
        .to_vec::<f64>()
        .unwrap()
        .iter())
    .filter(|t| t.is_finite())
    .count();
    assert!(
        spikes > 0,
        "no output spikes: the comparison below would be vacuous"
    );

    // Double precision: the f64 model must come back bit for bit.
    let recorder = BinBytesRecorder::<DoublePrecisionSettings>::default();
    let bytes = recorder.record(model.clone().into_record(), ()).unwrap();
    let fresh = Hybrid::<B> {
        hidden: SpikingLinearConfig::new(4, 10)
            .with_delays(DelayKind::Synaptic)
            .init_seeded(99, &device)
            .unwrap(),
        ..Hybrid::new(&device)
    };
    assert_ne!(fresh.forward(x.clone()).into_data(), before);
    let loaded = fresh.load_record(recorder.load(bytes, &device).unwrap());
    assert_eq!(loaded.forward(x.clone()).into_data(), before);

    let moved = loaded.to_device(&device).fork(&device);
    assert_eq!(moved.forward(x).into_data(), before);
    assert_eq!(moved.hidden.num_trainable(), 4 * 10 * 2);
}
