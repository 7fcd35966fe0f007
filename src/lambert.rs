//! Principal branch W0 of the Lambert W function, in f64.
//!
//! The ratio-1 neuron (tau_m = tau_s) solves its threshold condition through W0. Only the real
//! principal branch is needed: arguments below -1/e mean the membrane never reaches threshold.

/// -1/e, the branch point of W.
pub const BRANCH_POINT: f64 = -0.367_879_441_171_442_33;

/// Principal branch W0(z) of the Lambert W function: the `w >= -1` with `w e^w = z`.
///
/// Returns `None` for `z < -1/e` (no real solution on this branch) and for NaN, so that callers
/// cannot mistake "no crossing" for a number. `W0(+inf) = +inf`.
pub fn lambert_w0(z: f64) -> Option<f64> {
    if z.is_nan() || z < BRANCH_POINT {
        return None;
    }
    if z == f64::INFINITY {
        return Some(f64::INFINITY);
    }
    if z == 0.0 {
        return Some(0.0);
    }
    // e z + 1 measures the distance to the branch point; computed as a fused product so the
    // cancellation near -1/e keeps as many digits as the input has.
    let near_branch = std::f64::consts::E.mul_add(z, 1.0);
    if near_branch <= 0.0 {
        return Some(-1.0);
    }
    let mut w = if near_branch < 0.3 {
        // Series around the branch point in p = sqrt(2 (e z + 1)).
        let p = (2.0 * near_branch).sqrt();
        -1.0 + p * (1.0 + p * (-1.0 / 3.0 + p * (11.0 / 72.0)))
    } else if z < 3.0 {
        // ln(1 + z) is within a few percent of W0 on this range and has the right sign.
        z.ln_1p() * (1.0 - z.ln_1p() / (2.0 + z.ln_1p())).max(0.5)
    } else {
        let l1 = z.ln();
        let l2 = l1.ln();
        l1 - l2 + l2 / l1
    };
    // Halley's iteration on f(w) = w e^w - z converges cubically from these starts.
    for _ in 0..32 {
        let ew = w.exp();
        let f = w * ew - z;
        let wp1 = w + 1.0;
        if wp1 == 0.0 {
            break;
        }
        let denom = ew * wp1 - (w + 2.0) * f / (2.0 * wp1);
        if denom == 0.0 || !denom.is_finite() {
            break;
        }
        let step = f / denom;
        w -= step;
        if step.abs() <= 4.0 * f64::EPSILON * (1.0 + w.abs()) {
            break;
        }
    }
    Some(w.max(-1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(lambert_w0(0.0), Some(0.0));
        assert!((lambert_w0(1.0).unwrap() - 0.567_143_290_409_783_8).abs() < 1e-15);
        assert!((lambert_w0(std::f64::consts::E).unwrap() - 1.0).abs() < 1e-15);
        assert!((lambert_w0(BRANCH_POINT).unwrap() + 1.0).abs() < 1e-7);
        assert_eq!(lambert_w0(-0.5), None);
        assert_eq!(lambert_w0(f64::NAN), None);
        assert_eq!(lambert_w0(f64::INFINITY), Some(f64::INFINITY));
    }

    #[test]
    fn inverts_w_exp_w_over_the_domain() {
        // Dense sweep from just above the branch point to very large arguments.
        let mut zs: Vec<f64> = (1..2000)
            .map(|k| BRANCH_POINT + (k as f64 / 2000.0).powi(3) * (0.0 - BRANCH_POINT))
            .collect();
        zs.extend((0..400).map(|k| 10f64.powf(-12.0 + k as f64 * 0.05)));
        for z in zs {
            let w = lambert_w0(z).unwrap();
            assert!(w >= -1.0, "z={z} w={w}");
            let back = w * w.exp();
            let tol = 1e-14 * z.abs().max(1e-300) + 1e-16;
            assert!(
                (back - z).abs() <= tol.max(4e-16),
                "z={z} w={w} back={back}"
            );
        }
    }

    #[test]
    fn derivative_near_branch_point_is_steep_but_finite() {
        let z = BRANCH_POINT + 1e-12;
        let w = lambert_w0(z).unwrap();
        assert!(w > -1.0 && w < -0.99999);
    }
}
