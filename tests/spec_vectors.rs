//! docs/model.md: the published test vectors for both time-constant ratios.

use delgrad::LifParams;

const T_IN: [f64; 5] = [0.15, 0.4, 0.9, 1.3, 2.0];
const W: [f64; 5] = [1.2, 0.8, -0.5, 1.5, 0.7];

fn assert_close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len());
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol, "{what}[{k}]: got {g}, want {w}");
    }
}

#[test]
fn ratio_one_spike_time_and_gradients() {
    let lif = LifParams::fast_and_deep().build().unwrap();
    let t = lif.spike_time(&T_IN, &W);
    assert!((t - 2.093316659).abs() < 1e-6, "t_out = {t}");
    let (d_w, d_t) = lif.spike_gradients(&T_IN, &W, t);
    assert_close(
        &d_w,
        &[-0.575624, -0.644032, -0.748294, -0.742131, -0.175792],
        1e-6,
        "dt/dw",
    );
    assert_close(
        &d_t,
        &[-0.335301, -0.210956, 0.060612, 0.290022, 1.195623],
        1e-6,
        "dt/dt_i",
    );
    assert!((d_t.iter().sum::<f64>() - 1.0).abs() < 1e-5);
}

#[test]
fn ratio_two_spike_time_and_gradients() {
    let lif = LifParams::ideal().build().unwrap();
    let w: Vec<f64> = W.iter().map(|w| w * 1.5).collect();
    let t = lif.spike_time(&T_IN, &w);
    assert!((t - 0.739051587).abs() < 1e-6, "t_out = {t}");
    let (d_w, d_t) = lif.spike_gradients(&T_IN, &w, t);
    assert_close(&d_w, &[-0.280765, -0.194463, 0.0, 0.0, 0.0], 1e-6, "dt/dw");
    assert_close(&d_t, &[0.48511, 0.51489, 0.0, 0.0, 0.0], 1e-6, "dt/dt_i");
}

#[test]
fn weak_inputs_give_no_spike_for_both_ratios() {
    for p in [LifParams::fast_and_deep(), LifParams::ideal()] {
        let lif = p.build().unwrap();
        assert_eq!(
            lif.spike_time(&[0.1, 0.5], &[0.3, 0.2]),
            f64::INFINITY,
            "{p:?}"
        );
    }
}
