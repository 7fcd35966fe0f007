//! Bad input gets typed errors, not panics.

use burn::backend::{Autodiff, NdArray};
use burn::tensor::{Tensor, TensorData};
use delgrad::{
    try_spike, DelayKind, Error, GradientOptions, LayerDelays, LifParams, SpikeOp, SpikingLinear,
    SpikingLinearConfig,
};

type B = Autodiff<NdArray<f64>>;

fn layer(kind: DelayKind) -> SpikingLinear<B> {
    SpikingLinearConfig::new(3, 2)
        .with_delays(kind)
        .init_seeded(0, &Default::default())
        .unwrap()
}

fn times(v: Vec<f64>, rows: usize) -> Tensor<B, 2> {
    let cols = v.len() / rows;
    Tensor::from_data(TensorData::new(v, [rows, cols]), &Default::default())
}

#[test]
fn mismatched_input_width_is_a_shape_error() {
    let err = layer(DelayKind::None)
        .try_forward(times(vec![0.1; 8], 2))
        .unwrap_err();
    assert!(matches!(err, Error::Shape(_)), "{err}");
}

#[test]
fn nan_and_negative_infinite_input_times_are_rejected_with_their_position() {
    for bad in [f64::NAN, f64::NEG_INFINITY] {
        let err = layer(DelayKind::Synaptic)
            .try_forward(times(vec![0.1, 0.2, 0.3, 0.4, bad, 0.6], 2))
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidSpikeTime {
                    sample: 1,
                    input: 1,
                    ..
                }
            ),
            "{err}"
        );
    }
    // +inf means "no spike" and is fine.
    let ok = layer(DelayKind::Axonal).try_forward(times(vec![f64::INFINITY; 6], 2));
    let out = ok.unwrap().into_data().to_vec::<f64>().unwrap();
    assert!(out.iter().all(|t| *t == f64::INFINITY));
}

#[test]
fn delays_of_the_wrong_shape_are_rejected_by_the_op() {
    let device = Default::default();
    let op = SpikeOp::new(LifParams::ideal(), GradientOptions::default()).unwrap();
    let w = Tensor::<B, 2>::ones([3, 2], &device);
    let d = Tensor::<B, 1>::zeros([2], &device);
    let err = try_spike(
        times(vec![0.1; 6], 2),
        w.clone(),
        LayerDelays::Axonal(d),
        &op,
    )
    .unwrap_err();
    assert!(matches!(err, Error::Shape(_)), "{err}");
    let w_bad = Tensor::<B, 2>::from_data(
        TensorData::new(vec![1.0, f64::NAN, 1.0, 1.0, 1.0, 1.0], [3, 2]),
        &device,
    );
    let err = try_spike(times(vec![0.1; 6], 2), w_bad, LayerDelays::None, &op).unwrap_err();
    assert!(
        matches!(err, Error::NonFiniteParameter { index: 1, .. }),
        "{err}"
    );
}

#[test]
fn invalid_neuron_parameters_and_configs_are_typed_errors() {
    let device = Default::default();
    let bad_neurons = [
        LifParams {
            tau_syn: -1.0,
            ..LifParams::ideal()
        },
        LifParams {
            tau_mem: 0.0,
            ..LifParams::ideal()
        },
        LifParams {
            tau_mem: 3.0,
            ..LifParams::ideal()
        },
    ];
    for neuron in bad_neurons {
        let r = SpikingLinearConfig::new(3, 2)
            .with_neuron(neuron)
            .try_init::<B>(&device);
        assert!(matches!(r, Err(Error::InvalidNeuron(_))), "{neuron:?}");
    }
    let r = SpikingLinearConfig::new(3, 2)
        .with_delays(DelayKind::Axonal)
        .with_delay_sharing(2)
        .try_init::<B>(&device);
    assert!(matches!(r, Err(Error::InvalidConfig(_))));
    let r = SpikingLinearConfig::new(3, 2).init_with::<B>(&[1.0; 5], None, &device);
    assert!(matches!(r, Err(Error::Shape(_))));
    let r = SpikingLinearConfig::new(3, 2)
        .with_delays(DelayKind::Dendritic)
        .init_with::<B>(&[1.0; 6], Some(&[0.5, 1.5]), &device);
    assert!(
        matches!(r, Err(Error::InvalidConfig(_))),
        "delay outside (0, 1)"
    );
}

#[test]
fn shared_delays_expand_to_neighbouring_inputs() {
    let device = Default::default();
    let layer: SpikingLinear<B> = SpikingLinearConfig::new(6, 2)
        .with_delays(DelayKind::Axonal)
        .with_delay_sharing(3)
        .with_delay_shift(2.0)
        .with_delay_scale(1.5)
        .init_with(&[1.0; 12], Some(&[2.5, 2.5, 2.5, 3.0, 3.0, 3.0]), &device)
        .unwrap();
    assert_eq!(layer.num_trainable(), 12 + 2);
    let LayerDelays::Axonal(d) = layer.delays() else {
        panic!("axonal delays expected")
    };
    let d = d.into_data().to_vec::<f64>().unwrap();
    for (got, want) in d.iter().zip([2.5, 2.5, 2.5, 3.0, 3.0, 3.0]) {
        assert!((got - want).abs() < 1e-14, "{d:?}");
    }
    let r = SpikingLinearConfig::new(6, 2)
        .with_delays(DelayKind::Axonal)
        .with_delay_sharing(3)
        .init_with::<B>(&[1.0; 12], Some(&[0.5, 0.5, 0.6, 0.3, 0.3, 0.3]), &device);
    assert!(matches!(r, Err(Error::InvalidConfig(_))), "copies disagree");
}

#[test]
fn tiled_shared_delays_repeat_over_the_inputs() {
    let device = Default::default();
    // 6 inputs, 2 distinct delays, tiled: inputs 0, 2, 4 share one and 1, 3, 5 the other.
    let tiled = [2.5, 3.0, 2.5, 3.0, 2.5, 3.0];
    let config = SpikingLinearConfig::new(6, 2)
        .with_delays(DelayKind::Axonal)
        .with_delay_sharing(3)
        .with_delay_sharing_tiled(true)
        .with_delay_shift(2.0)
        .with_delay_scale(1.5);
    let layer: SpikingLinear<B> = config.init_with(&[1.0; 12], Some(&tiled), &device).unwrap();
    assert_eq!(layer.num_trainable(), 12 + 2);
    let LayerDelays::Axonal(d) = layer.delays() else {
        panic!("axonal delays expected")
    };
    let d = d.into_data().convert::<f64>().to_vec::<f64>().unwrap();
    for (got, want) in d.iter().zip(tiled) {
        assert!((got - want).abs() < 1e-14, "{d:?}");
    }
    // The grouped layout of the same values is not a tiled one.
    let r = config.init_with::<B>(&[1.0; 12], Some(&[2.5, 2.5, 2.5, 3.0, 3.0, 3.0]), &device);
    assert!(matches!(r, Err(Error::InvalidConfig(_))), "copies disagree");
    // A freshly initialised tiled layer repeats its 2 delays with period 2.
    let fresh: SpikingLinear<B> = config.init_seeded(3, &device).unwrap();
    let LayerDelays::Axonal(d) = fresh.delays() else {
        panic!("axonal delays expected")
    };
    let d = d.into_data().convert::<f64>().to_vec::<f64>().unwrap();
    assert_ne!(d[0], d[1]);
    for i in 2..6 {
        assert_eq!(d[i], d[i - 2], "{d:?}");
    }
}

#[cfg(all(feature = "trainer", not(feature = "wgpu")))]
#[test]
fn gpu_device_without_the_wgpu_feature_is_a_clear_error() {
    use delgrad::experiment::YinYangConfig;
    use delgrad::trainer::ComputeDevice;
    let config = YinYangConfig {
        device: ComputeDevice::Wgpu,
        ..YinYangConfig::preset("h30-ws").unwrap()
    };
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("feature `wgpu`"), "{err}");
    assert!("tpu".parse::<ComputeDevice>().is_err());
    assert_eq!(
        "wgpu".parse::<ComputeDevice>().unwrap(),
        ComputeDevice::Wgpu
    );
}
