//! The backward pass against central finite differences in f64, through a two-layer network of
//! `SpikingLinear` modules on `Autodiff<NdArray<f64>>`: every weight, every raw delay parameter
//! and every input time, for each delay kind and both time-constant ratios.

mod common;

use burn::backend::{Autodiff, NdArray};
use burn::module::{AutodiffModule, Initializer, Param};
use burn::tensor::{Tensor, TensorData};
use common::TestRng;
use delgrad::{DelayKind, GradientOptions, LifParams, SpikingLinear, SpikingLinearConfig};

type Inner = NdArray<f64>;
type Ad = Autodiff<Inner>;

struct Case {
    neuron: LifParams,
    kind: DelayKind,
}

fn layer_config(d_in: usize, d_out: usize, case: &Case) -> SpikingLinearConfig {
    SpikingLinearConfig::new(d_in, d_out)
        .with_neuron(case.neuron)
        .with_initializer(Initializer::Normal {
            mean: 1.2,
            std: 0.8,
        })
        .with_delays(case.kind)
        .with_delay_init_std(1.0)
        .with_gradients(GradientOptions::exact())
}

/// Scalar loss: a fixed random weighting of every output spike time (silent outputs count 0).
fn loss<B: delgrad::SpikeBackend>(
    l1: &SpikingLinear<B>,
    l2: &SpikingLinear<B>,
    input: Tensor<B, 2>,
    coeffs: Tensor<B, 2>,
) -> Tensor<B, 1> {
    let out = l2.forward(l1.forward(input));
    let silent = out.clone().is_inf();
    out.mask_fill(silent, 0.0).mul(coeffs).sum()
}

fn values<B: burn::tensor::backend::Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f64> {
    t.into_data().to_vec::<f64>().unwrap()
}

fn with_values<const D: usize>(t: &Tensor<Inner, D>, v: Vec<f64>) -> Tensor<Inner, D> {
    Tensor::from_data(TensorData::new(v, t.shape()), &t.device())
}

/// Central difference of `f` along coordinate `k` of `base`, at steps h and h/2; returns the
/// estimate and whether both steps agree (false where the function has a kink nearby, i.e. a
/// causal set changes within the step).
fn central_difference(base: &[f64], k: usize, f: &dyn Fn(Vec<f64>) -> f64) -> (f64, bool) {
    let diff = |h: f64| {
        let mut plus = base.to_vec();
        plus[k] += h;
        let mut minus = base.to_vec();
        minus[k] -= h;
        (f(plus) - f(minus)) / (2.0 * h)
    };
    let coarse = diff(2e-6);
    let fine = diff(1e-6);
    let smooth = (coarse - fine).abs() <= 1e-7 * (1.0 + fine.abs());
    (fine, smooth)
}

fn check_case(case: Case, seed: u64) {
    let device = Default::default();
    let (batch, n_in, n_hidden, n_out) = (6, 4, 7, 3);
    let l1: SpikingLinear<Ad> = layer_config(n_in, n_hidden, &case)
        .init_seeded(seed, &device)
        .unwrap();
    let l2: SpikingLinear<Ad> = layer_config(n_hidden, n_out, &case)
        .with_initializer(Initializer::Normal {
            mean: 1.0,
            std: 0.8,
        })
        .init_seeded(seed + 1, &device)
        .unwrap();
    let mut rng = TestRng::new(seed);
    let x: Vec<f64> = (0..batch * n_in).map(|_| rng.uniform(0.0, 1.5)).collect();
    let c: Vec<f64> = (0..batch * n_out).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let input = Tensor::<Ad, 2>::from_data(TensorData::new(x.clone(), [batch, n_in]), &device)
        .require_grad();
    let coeffs = Tensor::<Ad, 2>::from_data(TensorData::new(c.clone(), [batch, n_out]), &device);

    let out = l2.forward(l1.forward(input.clone()));
    let spiking = values(out.clone().is_finite().float()).iter().sum::<f64>();
    assert!(
        spiking >= (batch * n_out) as f64 * 0.5,
        "too few output spikes ({spiking}) for a meaningful check"
    );

    let grads = loss(&l1, &l2, input.clone(), coeffs.clone()).backward();
    let (i1, i2) = (l1.valid(), l2.valid());
    let coeffs_inner = coeffs.inner();
    let x_inner = input.clone().inner();
    let eval = |a: &SpikingLinear<Inner>, b: &SpikingLinear<Inner>, x: Tensor<Inner, 2>| {
        values(loss(a, b, x, coeffs_inner.clone()))[0]
    };

    let mut checked = 0;
    let mut skipped = 0;
    let mut compare =
        |what: String, analytic: &[f64], base: &[f64], f: &dyn Fn(Vec<f64>) -> f64| {
            assert_eq!(analytic.len(), base.len(), "{what}");
            for (k, &g) in analytic.iter().enumerate() {
                let (fd, smooth) = central_difference(base, k, f);
                if !smooth {
                    skipped += 1;
                    continue;
                }
                checked += 1;
                let err = (g - fd).abs();
                assert!(
                    err <= 1e-5 * fd.abs().max(g.abs()) + 1e-9,
                    "{what}[{k}]: backward {g:e} vs finite difference {fd:e}"
                );
            }
        };

    // Input times.
    let gx = values(input.grad(&grads).unwrap());
    compare("d/d input".into(), &gx, &x, &|v| {
        eval(&i1, &i2, with_values(&x_inner, v))
    });

    for (li, layer) in [&l1, &l2].into_iter().enumerate() {
        let gw = values(layer.weight.grad(&grads).unwrap());
        let w = values(layer.weight.val().inner());
        compare(format!("layer {li} d/d weight"), &gw, &w, &|v| {
            let mut m = if li == 0 { i1.clone() } else { i2.clone() };
            m.weight = Param::from_tensor(with_values(&m.weight.val(), v));
            if li == 0 {
                eval(&m, &i2, x_inner.clone())
            } else {
                eval(&i1, &m, x_inner.clone())
            }
        });
        if let Some(raw) = &layer.delay_raw {
            let gd = values(raw.grad(&grads).unwrap());
            let d = values(raw.val().inner());
            compare(format!("layer {li} d/d raw delay"), &gd, &d, &|v| {
                let mut m = if li == 0 { i1.clone() } else { i2.clone() };
                let raw = m.delay_raw.as_ref().unwrap().val();
                m.delay_raw = Some(Param::from_tensor(with_values(&raw, v)));
                if li == 0 {
                    eval(&m, &i2, x_inner.clone())
                } else {
                    eval(&i1, &m, x_inner.clone())
                }
            });
        }
    }
    assert!(
        skipped * 10 <= checked,
        "{skipped} of {} coordinates are at kinks: test inputs are badly chosen",
        checked + skipped
    );
    eprintln!("finite-difference check: {checked} coordinates compared, {skipped} at kinks");
    assert!(checked > 50);
}

fn check_all_delay_kinds(neuron: LifParams, first_seed: u64) {
    let kinds = [
        DelayKind::None,
        DelayKind::Axonal,
        DelayKind::Synaptic,
        DelayKind::Dendritic,
    ];
    for (k, kind) in kinds.into_iter().enumerate() {
        check_case(Case { neuron, kind }, first_seed + k as u64);
    }
}

#[test]
fn ratio_two_all_delay_kinds_match_finite_differences() {
    check_all_delay_kinds(LifParams::ideal(), 10);
}

#[test]
fn ratio_one_all_delay_kinds_match_finite_differences() {
    check_all_delay_kinds(LifParams::fast_and_deep(), 20);
}
