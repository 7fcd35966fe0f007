//! Property tests of the batched kernels (docs/model.md) on random layers: every delay
//! kind, both tau ratios, with and without the eps regulariser, with and without weight-gradient
//! clipping, weights up to |w| = 50 including exact zeros, inputs that never spike, and NaN
//! error signals.

use delgrad::kernel;
use delgrad::types::{DelayKind, Delays, GradientOptions, LayerDims};
use delgrad::{Lif, LifParams};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Layer {
    params: LifParams,
    options: GradientOptions,
    dims: LayerDims,
    input: Vec<f64>,
    weights: Vec<f64>,
    kind: DelayKind,
    delays: Vec<f64>,
    grad_output: Vec<f64>,
}

impl Layer {
    fn lif(&self) -> Lif {
        self.params.build().unwrap()
    }

    fn delays(&self) -> Delays<&[f64]> {
        Delays::from_kind(self.kind, Some(&self.delays[..]))
    }

    /// Arrival of input `i` at neuron `j` in sample `b` (docs/model.md).
    fn arrival(&self, b: usize, i: usize, j: usize) -> f64 {
        let LayerDims { n_in, n_out, .. } = self.dims;
        let t = self.input[b * n_in + i];
        t + match self.kind {
            DelayKind::None => 0.0,
            DelayKind::Axonal => self.delays[i],
            DelayKind::Synaptic => self.delays[i * n_out + j],
            DelayKind::Dendritic => self.delays[j],
        }
    }

    fn weight(&self, i: usize, j: usize) -> f64 {
        self.weights[i * self.dims.n_out + j]
    }

    fn forward(&self) -> Vec<f64> {
        kernel::forward(
            &self.lif(),
            self.dims,
            &self.input,
            &self.weights,
            &self.delays(),
        )
    }

    fn backward(
        &self,
        options: &GradientOptions,
        output: &[f64],
        grad_output: &[f64],
    ) -> delgrad::SpikeGradients<Vec<f64>> {
        kernel::backward(
            &self.lif(),
            options,
            self.dims,
            &self.input,
            &self.weights,
            &self.delays(),
            output,
            grad_output,
        )
    }
}

fn neuron_params() -> impl Strategy<Value = LifParams> {
    (
        prop_oneof![
            Just(LifParams::ideal()),
            Just(LifParams::fast_and_deep()),
            Just(LifParams::hardware()),
        ],
        any::<bool>(),
    )
        .prop_map(|(p, regularised)| if regularised { p } else { p.with_eps(0.0) })
}

fn input_time() -> impl Strategy<Value = f64> {
    prop_oneof![4 => 0.0..5.0f64, 1 => Just(f64::INFINITY)]
}

fn weight() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -1.0..3.0f64,
        2 => -50.0..50.0f64,
        1 => Just(0.0),
    ]
}

fn error_signal() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => -5.0..5.0f64,
        1 => Just(f64::NAN),
        1 => Just(0.0),
    ]
}

fn delay_kind() -> impl Strategy<Value = DelayKind> {
    prop_oneof![
        Just(DelayKind::None),
        Just(DelayKind::Axonal),
        Just(DelayKind::Synaptic),
        Just(DelayKind::Dendritic),
    ]
}

/// A random layer with the given neuron and gradient options.
fn layer_with(
    params: impl Strategy<Value = LifParams>,
    options: impl Strategy<Value = GradientOptions>,
) -> impl Strategy<Value = Layer> {
    (
        params,
        options,
        1..=6usize,
        1..=10usize,
        1..=5usize,
        delay_kind(),
    )
        .prop_flat_map(|(params, options, batch, n_in, n_out, kind)| {
            let dims = LayerDims { batch, n_in, n_out };
            (
                proptest::collection::vec(input_time(), batch * n_in),
                proptest::collection::vec(weight(), n_in * n_out),
                proptest::collection::vec(0.0..2.0f64, kind.len(n_in, n_out)),
                proptest::collection::vec(error_signal(), batch * n_out),
            )
                .prop_map(move |(input, weights, delays, grad_output)| Layer {
                    params,
                    options,
                    dims,
                    input,
                    weights,
                    kind,
                    delays,
                    grad_output,
                })
        })
}

fn layer() -> impl Strategy<Value = Layer> {
    layer_with(
        neuron_params(),
        prop_oneof![
            Just(GradientOptions::reference()),
            Just(GradientOptions::exact())
        ],
    )
}

fn same_bits(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

fn all_finite(v: &[f64]) -> bool {
    v.iter().all(|x| x.is_finite())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// The scan's shortcuts (window tests without the logarithm or Lambert W of rejected
    /// candidates) change nothing: bit-identical times to the plain scan, for both ratios, with
    /// ties between arrivals and long scans through many weak inputs.
    #[test]
    fn fast_scan_equals_plain_scan(
        params in neuron_params(),
        mut inputs in proptest::collection::vec(
            (
                prop_oneof![
                    4 => 0.0..5.0f64,
                    2 => prop_oneof![Just(0.5), Just(1.0), Just(1.25)],
                    1 => Just(f64::INFINITY),
                ],
                prop_oneof![2 => weight(), 3 => -0.1..0.4f64],
            ),
            1..60,
        ),
    ) {
        inputs.sort_by(|x, y| x.0.total_cmp(&y.0));
        let lif = params.build().unwrap();
        let n = inputs.len();
        let fast = lif.first_spike(n, |k| inputs[k].0, |k| inputs[k].1);
        let plain = lif.first_spike_reference(n, |k| inputs[k].0, |k| inputs[k].1);
        prop_assert_eq!(fast.to_bits(), plain.to_bits(), "fast {} plain {}", fast, plain);
    }

    /// The same near the window tests' edges: the next input arrives within a relative 1e-6 of
    /// the crossing time of the inputs before it (just before, at, or just after it), where
    /// the shortcuts' margins decide between rejecting cheaply and solving exactly.
    #[test]
    fn fast_scan_equals_plain_scan_at_window_edges(
        params in neuron_params(),
        head in proptest::collection::vec((0.0..2.0f64, 0.2..3.0f64), 1..6),
        offset in prop_oneof![
            Just(0.0), Just(1e-15), Just(-1e-15), Just(1e-12), Just(-1e-12), Just(1e-9),
            Just(-1e-9), Just(1e-7), Just(-1e-7), Just(1e-6), Just(-1e-6)
        ],
        next_weight in prop_oneof![weight(), Just(0.0)],
        tail in proptest::collection::vec((0.0..6.0f64, weight()), 0..10),
    ) {
        let lif = params.build().unwrap();
        let mut inputs = head;
        inputs.sort_by(|x, y| x.0.total_cmp(&y.0));
        let (times, weights): (Vec<f64>, Vec<f64>) = inputs.iter().copied().unzip();
        let crossing = lif.spike_time(&times, &weights);
        prop_assume!(crossing.is_finite());
        inputs.push((crossing * (1.0 + offset) + offset, next_weight));
        inputs.extend(tail);
        inputs.sort_by(|x, y| x.0.total_cmp(&y.0));
        let n = inputs.len();
        let fast = lif.first_spike(n, |k| inputs[k].0, |k| inputs[k].1);
        let plain = lif.first_spike_reference(n, |k| inputs[k].0, |k| inputs[k].1);
        prop_assert_eq!(fast.to_bits(), plain.to_bits(), "fast {} plain {}", fast, plain);
    }

    /// Forward: valid inputs are accepted; outputs are finite or +inf (never NaN or -inf), no
    /// earlier than the first arrival at their neuron, and equal to the scalar scan.
    #[test]
    fn forward_is_well_formed(layer in layer()) {
        let LayerDims { batch, n_in, n_out } = layer.dims;
        prop_assert!(kernel::validate(layer.dims, &layer.input, &layer.weights, &layer.delays())
            .is_ok());
        let lif = layer.lif();
        let output = layer.forward();
        prop_assert_eq!(output.len(), batch * n_out);
        for b in 0..batch {
            for j in 0..n_out {
                let t = output[b * n_out + j];
                prop_assert!(t.is_finite() || t == f64::INFINITY, "output ({b}, {j}) = {t}");
                let arrivals: Vec<f64> = (0..n_in).map(|i| layer.arrival(b, i, j)).collect();
                let weights: Vec<f64> = (0..n_in).map(|i| layer.weight(i, j)).collect();
                let earliest = arrivals.iter().fold(f64::INFINITY, |m, &a| m.min(a));
                if t.is_finite() {
                    prop_assert!(t >= earliest, "output ({b}, {j}) = {t} before {earliest}");
                }
                let scalar = lif.spike_time(&arrivals, &weights);
                prop_assert!(
                    scalar == t || (scalar - t).abs() <= 1e-9 * (1.0 + t.abs()),
                    "output ({b}, {j}) = {t}, scalar scan {scalar}"
                );
            }
        }
    }

    /// Backward: right lengths, finite values, NaN error signals count as zero, silent neurons
    /// and inputs after the spike contribute nothing, and clipping touches only weights.
    #[test]
    fn backward_is_well_formed(layer in layer()) {
        let LayerDims { batch, n_in, n_out } = layer.dims;
        let output = layer.forward();
        let g = &layer.grad_output;
        let grads = layer.backward(&layer.options, &output, g);
        prop_assert_eq!(grads.input.len(), batch * n_in);
        prop_assert_eq!(grads.weights.len(), n_in * n_out);
        match (&grads.delays, layer.kind) {
            (None, DelayKind::None) => {}
            (Some(d), kind) if kind != DelayKind::None => {
                prop_assert_eq!(d.len(), kind.len(n_in, n_out));
                prop_assert!(all_finite(d), "delay gradients {d:?}");
            }
            (d, kind) => prop_assert!(false, "{kind} delays with gradient {d:?}"),
        }
        prop_assert!(all_finite(&grads.input), "input gradients {:?}", grads.input);
        prop_assert!(all_finite(&grads.weights), "weight gradients {:?}", grads.weights);

        // NaN error signals are zeros.
        let zeroed: Vec<f64> = g.iter().map(|&x| if x.is_nan() { 0.0 } else { x }).collect();
        let with_zeros = layer.backward(&layer.options, &output, &zeroed);
        prop_assert!(same_bits(&grads.input, &with_zeros.input));
        prop_assert!(same_bits(&grads.weights, &with_zeros.weights));
        prop_assert_eq!(
            grads.delays.as_ref().map(|d| d.iter().map(|x| x.to_bits()).collect::<Vec<_>>()),
            with_zeros.delays.as_ref().map(|d| d.iter().map(|x| x.to_bits()).collect::<Vec<_>>())
        );

        // Input (b, i) and weight (i, j) only receive gradient through spikes with a usable
        // error signal whose causal set contains them.
        let feeds = |b: usize, i: usize, j: usize| {
            let t = output[b * n_out + j];
            let e = g[b * n_out + j];
            t.is_finite() && e != 0.0 && !e.is_nan() && layer.arrival(b, i, j) <= t
        };
        for b in 0..batch {
            for i in 0..n_in {
                if !(0..n_out).any(|j| feeds(b, i, j)) {
                    prop_assert_eq!(grads.input[b * n_in + i], 0.0, "input ({}, {})", b, i);
                }
                if (0..n_out).all(|j| output[b * n_out + j] == f64::INFINITY) {
                    prop_assert_eq!(grads.input[b * n_in + i], 0.0);
                }
            }
        }
        for i in 0..n_in {
            for j in 0..n_out {
                if !(0..batch).any(|b| feeds(b, i, j)) {
                    prop_assert_eq!(grads.weights[i * n_out + j], 0.0, "weight ({}, {})", i, j);
                }
            }
        }
        if let (Some(d), DelayKind::Dendritic) = (&grads.delays, layer.kind) {
            for j in 0..n_out {
                if (0..batch).all(|b| output[b * n_out + j] == f64::INFINITY) {
                    prop_assert_eq!(d[j], 0.0, "dendritic delay {}", j);
                }
            }
        }

        // An error signal on silent neurons only moves nothing.
        let on_silent: Vec<f64> = output
            .iter()
            .zip(g)
            .map(|(t, &e)| if t.is_finite() { 0.0 } else { e })
            .collect();
        let silent = layer.backward(&layer.options, &output, &on_silent);
        prop_assert!(silent.input.iter().all(|&x| x == 0.0));
        prop_assert!(silent.weights.iter().all(|&x| x == 0.0));
        prop_assert!(silent.delays.iter().flatten().all(|&x| x == 0.0));

        // Weight-gradient clipping leaves input and delay gradients alone.
        let exact = layer.backward(&GradientOptions::exact(), &output, g);
        prop_assert!(same_bits(&grads.input, &exact.input));
        prop_assert_eq!(
            grads.delays.as_ref().map(|d| d.iter().map(|x| x.to_bits()).collect::<Vec<_>>()),
            exact.delays.as_ref().map(|d| d.iter().map(|x| x.to_bits()).collect::<Vec<_>>())
        );
    }

    /// Shifting every input of a neuron shifts its spike: sum_i dt_j/dt_i = 1 per spike, seen
    /// through backward with a one-hot error signal (eps = 0, no clipping). The delay gradients
    /// must carry the same numbers: dendritic dL/dd_j = 1, axonal and synaptic ones equal to the
    /// input gradients.
    #[test]
    fn input_gradients_of_a_spike_sum_to_one(
        layer in layer_with(
            neuron_params().prop_map(|p| p.with_eps(0.0)),
            Just(GradientOptions::exact()),
        )
    ) {
        let LayerDims { batch, n_in, n_out } = layer.dims;
        let lif = layer.lif();
        let output = layer.forward();
        for b in 0..batch {
            for j in 0..n_out {
                let t = output[b * n_out + j];
                if !t.is_finite() {
                    continue;
                }
                let mut one_hot = vec![0.0; batch * n_out];
                one_hot[b * n_out + j] = 1.0;
                let grads = layer.backward(&GradientOptions::exact(), &output, &one_hot);
                let d = grads.delays.clone().unwrap_or_default();
                let sums = lif.causal_sums(t, n_in, |i| layer.arrival(b, i, j), |i| layer.weight(i, j));
                if lif.partials(t, &sums).is_none() {
                    // Impossible or tangential spike: all gradients zero.
                    prop_assert!(grads.input.iter().chain(&grads.weights).chain(&d).all(|&x| x == 0.0));
                    continue;
                }
                let row = &grads.input[b * n_in..(b + 1) * n_in];
                let sum: f64 = row.iter().sum();
                let scale: f64 = row.iter().map(|x| x.abs()).sum::<f64>().max(1.0);
                prop_assert!(
                    (sum - 1.0).abs() <= 1e-8 * scale,
                    "({b}, {j}) spikes at {t}: sum_i dt/dt_i = {sum} from {row:?}"
                );
                for (k, &x) in grads.input.iter().enumerate() {
                    if k / n_in != b {
                        prop_assert_eq!(x, 0.0);
                    }
                }
                for (k, &x) in grads.weights.iter().enumerate() {
                    if k % n_out != j {
                        prop_assert_eq!(x, 0.0);
                    }
                }
                match layer.kind {
                    DelayKind::None => {}
                    DelayKind::Axonal => prop_assert!(same_bits(&d, row)),
                    DelayKind::Synaptic => {
                        for i in 0..n_in {
                            for jj in 0..n_out {
                                let want = if jj == j { row[i] } else { 0.0 };
                                prop_assert_eq!(d[i * n_out + jj], want);
                            }
                        }
                    }
                    DelayKind::Dendritic => {
                        for (jj, &x) in d.iter().enumerate() {
                            if jj == j {
                                prop_assert!((x - 1.0).abs() <= 1e-8 * scale, "dL/dd_{j} = {x}");
                            } else {
                                prop_assert_eq!(x, 0.0);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The generator is not vacuous: over as many layers as a property sees, plenty of neurons spike
/// and plenty stay silent, and every kind of input the properties promise to cover occurs.
#[test]
fn generated_layers_cover_the_promised_cases() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    use std::collections::HashSet;

    let mut runner = TestRunner::deterministic();
    let strategy = layer();
    let (mut spiking, mut silent, mut impossible) = (0, 0, 0);
    let mut kinds = HashSet::new();
    let mut neurons = HashSet::new();
    let mut options = HashSet::new();
    let (mut zero_w, mut large_w, mut negative_w, mut never, mut nan_g) = (0, 0, 0, 0, 0);
    for _ in 0..256 {
        let layer = strategy.new_tree(&mut runner).unwrap().current();
        let LayerDims { batch, n_in, n_out } = layer.dims;
        let lif = layer.lif();
        kinds.insert(layer.kind);
        neurons.insert((format!("{:?}", lif.ratio()), layer.params.eps == 0.0));
        options.insert(layer.options.weight_grad_clip.is_some());
        zero_w += layer.weights.iter().filter(|&&w| w == 0.0).count();
        large_w += layer.weights.iter().filter(|w| w.abs() > 20.0).count();
        negative_w += layer.weights.iter().filter(|&&w| w < 0.0).count();
        never += layer.input.iter().filter(|t| t.is_infinite()).count();
        nan_g += layer.grad_output.iter().filter(|g| g.is_nan()).count();
        let output = layer.forward();
        for b in 0..batch {
            for j in 0..n_out {
                let t = output[b * n_out + j];
                if !t.is_finite() {
                    silent += 1;
                    continue;
                }
                spiking += 1;
                let sums =
                    lif.causal_sums(t, n_in, |i| layer.arrival(b, i, j), |i| layer.weight(i, j));
                if lif.partials(t, &sums).is_none() {
                    impossible += 1;
                }
            }
        }
    }
    let total = spiking + silent;
    eprintln!(
        "{total} neurons: {spiking} spiking ({impossible} without partials), {silent} silent; \
         weights: {zero_w} zero, {large_w} above 20 in size, {negative_w} negative; {never} \
         inputs at +inf, {nan_g} NaN error signals"
    );
    assert!(spiking * 4 > total && silent * 10 > total);
    assert_eq!(kinds.len(), 4);
    assert_eq!(neurons.len(), 4);
    assert_eq!(options.len(), 2);
    assert!(zero_w > 0 && large_w > 0 && negative_w > 0 && never > 0 && nan_g > 0);
}

/// The scan comparison is not vacuous: on many neurons like the property's, both ratios spike
/// often, and spikes come late in long scans (where most windows are rejected by the shortcut).
#[test]
fn scan_comparison_covers_long_scans_of_both_ratios() {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    // The ratio-1 neuron's PSPs are smaller and its threshold higher: stronger weights.
    for (params, gain) in [(LifParams::ideal(), 1.0), (LifParams::hardware(), 4.0)] {
        let lif = params.build().unwrap();
        let (mut spiking, mut late, total) = (0, 0, 4000);
        for _ in 0..total {
            let n = 2 + (uniform() * 58.0) as usize;
            let mut inputs: Vec<(f64, f64)> = (0..n)
                .map(|_| (5.0 * uniform(), gain * (-0.1 + 0.5 * uniform())))
                .collect();
            inputs.sort_by(|x, y| x.0.total_cmp(&y.0));
            let fast = lif.first_spike(n, |k| inputs[k].0, |k| inputs[k].1);
            let plain = lif.first_spike_reference(n, |k| inputs[k].0, |k| inputs[k].1);
            assert_eq!(fast.to_bits(), plain.to_bits(), "fast {fast} plain {plain}");
            if fast.is_finite() {
                spiking += 1;
                late += usize::from(inputs.iter().filter(|x| x.0 <= fast).count() >= 10);
            }
        }
        eprintln!(
            "{:?}: {spiking} of {total} spike, {late} after >= 10 inputs",
            lif.ratio()
        );
        assert!(spiking * 3 > total && late * 5 > total, "{spiking} {late}");
    }
}
