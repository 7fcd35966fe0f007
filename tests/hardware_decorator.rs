//! `HardwareAware<B>` delegates every backend op to `B`: ordinary tensor work on
//! `HardwareAware<NdArray<f64>>` (and under `Autodiff`) must give bit-identical results to
//! `NdArray<f64>`. Each case is a function generic over the backend, run on both and compared
//! with `TensorData` equality (bytes, shape and dtype).

use std::sync::Mutex;

use burn::backend::{Autodiff, NdArray};
use burn::module::Param;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::{relu, sigmoid, softmax, tanh};
use burn::tensor::backend::Backend;
use burn::tensor::module::max_pool2d_with_indices;
use burn::tensor::quantization::{QuantScheme, QuantStore};
use burn::tensor::{
    Bool, DType, Distribution, IndexingUpdateOp, Int, Tensor, TensorData, Transaction,
};
use delgrad::hardware::HardwareAware;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

type N = NdArray<f64>;
type H = HardwareAware<NdArray<f64>>;

/// Serializes the tests that use the backend's global random generator.
static BACKEND_RNG: Mutex<()> = Mutex::new(());

fn random_data(seed: u64, shape: &[usize], lo: f64, hi: f64) -> TensorData {
    let mut rng = StdRng::seed_from_u64(seed);
    let n = shape.iter().product();
    let values: Vec<f64> = (0..n).map(|_| rng.random_range(lo..hi)).collect();
    TensorData::new(values, shape.to_vec())
}

fn random_ints(seed: u64, shape: &[usize], hi: i64) -> TensorData {
    let mut rng = StdRng::seed_from_u64(seed);
    let n = shape.iter().product();
    let values: Vec<i64> = (0..n).map(|_| rng.random_range(0..hi)).collect();
    TensorData::new(values, shape.to_vec())
}

fn float<B: Backend, const D: usize>(seed: u64, shape: [usize; D]) -> Tensor<B, D> {
    Tensor::from_data(random_data(seed, &shape, -2.0, 2.0), &Default::default())
}

fn positive<B: Backend, const D: usize>(seed: u64, shape: [usize; D]) -> Tensor<B, D> {
    Tensor::from_data(random_data(seed, &shape, 0.1, 3.0), &Default::default())
}

fn ints<B: Backend, const D: usize>(seed: u64, shape: [usize; D], hi: i64) -> Tensor<B, D, Int> {
    Tensor::from_data(random_ints(seed, &shape, hi), &Default::default())
}

/// Runs a case on both backends and compares every output.
fn same(case_n: Vec<TensorData>, case_h: Vec<TensorData>) {
    assert_eq!(case_n.len(), case_h.len());
    assert!(!case_n.is_empty());
    for (i, (n, h)) in case_n.into_iter().zip(case_h).enumerate() {
        assert_eq!(n, h, "output {i} differs");
    }
}

fn arithmetic<B: Backend>() -> Vec<TensorData> {
    let a = float::<B, 2>(1, [7, 5]);
    let b = float::<B, 2>(2, [5, 4]);
    let c = float::<B, 2>(3, [7, 5]);
    let p = positive::<B, 2>(4, [7, 5]);
    vec![
        a.clone().matmul(b.clone()).into_data(),
        a.clone().add(c.clone()).into_data(),
        a.clone().sub(c.clone()).into_data(),
        a.clone().mul(c.clone()).into_data(),
        a.clone().div(p.clone()).into_data(),
        a.clone().exp().into_data(),
        p.clone().log().into_data(),
        p.clone().sqrt().into_data(),
        p.clone().powf_scalar(1.7).into_data(),
        a.clone().add_scalar(0.25).mul_scalar(3.0).into_data(),
        sigmoid(a.clone()).into_data(),
        tanh(a.clone()).into_data(),
        relu(a.clone()).into_data(),
        softmax(a.clone(), 1).into_data(),
        a.clone().neg().abs().into_data(),
        a.clone().clamp(-0.5, 0.7).into_data(),
        a.clone().cumsum(1).into_data(),
        a.clone().recip().into_data(),
        a.sin().cos().into_data(),
    ]
}

#[test]
fn float_arithmetic_is_bit_identical() {
    same(arithmetic::<N>(), arithmetic::<H>());
}

fn reductions<B: Backend>() -> Vec<TensorData> {
    let a = float::<B, 3>(5, [4, 6, 3]);
    vec![
        a.clone().sum().into_data(),
        a.clone().mean().into_data(),
        a.clone().sum_dim(1).into_data(),
        a.clone().mean_dim(2).into_data(),
        a.clone().max_dim(1).into_data(),
        a.clone().min_dim(0).into_data(),
        a.clone().argmax(1).into_data(),
        a.clone().argmin(2).into_data(),
        a.clone().max().into_data(),
        a.clone().prod_dim(2).into_data(),
        a.clone().sort(1).into_data(),
        a.argsort(1).into_data(),
    ]
}

#[test]
fn reductions_are_bit_identical() {
    same(reductions::<N>(), reductions::<H>());
}

fn comparisons<B: Backend>() -> Vec<TensorData> {
    let a = float::<B, 2>(6, [6, 5]);
    let b = float::<B, 2>(7, [6, 5]);
    let rounded = a.clone().mul_scalar(2.0).round();
    let gt = a.clone().greater(b.clone());
    let eq = rounded
        .clone()
        .equal(rounded.clone().transpose().transpose());
    let ge = a.clone().greater_equal_elem(0.1);
    let lt = a.clone().lower(b.clone());
    vec![
        gt.clone().into_data(),
        eq.clone().into_data(),
        ge.clone().into_data(),
        lt.clone().into_data(),
        a.clone().mask_fill(gt.clone(), -7.5).into_data(),
        a.clone().mask_where(lt, b.clone()).into_data(),
        a.clone().is_nan().into_data(),
        rounded.equal_elem(1.0).into_data(),
        gt.float().into_data(),
    ]
}

#[test]
fn comparisons_and_masks_are_bit_identical() {
    same(comparisons::<N>(), comparisons::<H>());
}

fn indexing<B: Backend>() -> Vec<TensorData> {
    let a = float::<B, 2>(8, [6, 5]);
    let idx = ints::<B, 1>(9, [4], 6);
    let gidx = ints::<B, 2>(10, [6, 3], 5);
    let values = float::<B, 2>(11, [2, 3]);
    vec![
        a.clone().select(0, idx.clone()).into_data(),
        a.clone().select(1, ints::<B, 1>(12, [7], 5)).into_data(),
        a.clone().gather(1, gidx.clone()).into_data(),
        a.clone().slice([1..3, 2..5]).into_data(),
        a.clone().slice_assign([2..4, 0..3], values).into_data(),
        a.clone()
            .select_assign(0, idx, float::<B, 2>(13, [4, 5]), IndexingUpdateOp::Add)
            .into_data(),
        a.clone()
            .scatter(1, gidx, float::<B, 2>(14, [6, 3]), IndexingUpdateOp::Add)
            .into_data(),
        a.flip([0, 1]).into_data(),
    ]
}

#[test]
fn indexing_is_bit_identical() {
    same(indexing::<N>(), indexing::<H>());
}

fn layout<B: Backend>() -> Vec<TensorData> {
    let a = float::<B, 2>(15, [3, 4]);
    let b = float::<B, 2>(16, [3, 4]);
    let row = float::<B, 2>(17, [1, 4]);
    vec![
        Tensor::cat(vec![a.clone(), b.clone()], 0).into_data(),
        Tensor::cat(vec![a.clone(), b.clone()], 1).into_data(),
        Tensor::stack::<3>(vec![a.clone(), b.clone()], 2).into_data(),
        a.clone().reshape([2, 6]).into_data(),
        a.clone().reshape([4, 3]).transpose().into_data(),
        a.clone().swap_dims(0, 1).into_data(),
        a.clone().permute([1, 0]).into_data(),
        row.expand([5, 4]).into_data(),
        a.clone().unsqueeze_dim::<3>(1).into_data(),
        a.clone().repeat_dim(0, 3).into_data(),
        a.clone().flatten::<1>(0, 1).into_data(),
        a.narrow(1, 1, 2).into_data(),
    ]
}

#[test]
fn layout_ops_are_bit_identical() {
    same(layout::<N>(), layout::<H>());
}

fn int_and_bool<B: Backend>() -> Vec<TensorData> {
    let x = ints::<B, 2>(18, [5, 4], 10);
    let y = ints::<B, 2>(19, [5, 4], 10);
    let m: Tensor<B, 2, Bool> = x.clone().greater(y.clone());
    let n: Tensor<B, 2, Bool> = x.clone().equal_elem(3);
    vec![
        x.clone().add(y.clone()).into_data(),
        x.clone().mul(y.clone()).into_data(),
        x.clone().sub_scalar(4).into_data(),
        x.clone().div_scalar(3).into_data(),
        x.clone().sum_dim(0).into_data(),
        x.clone().max_dim(1).into_data(),
        x.clone().argmax(0).into_data(),
        x.clone().cumsum(1).into_data(),
        x.clone().float().sqrt().into_data(),
        x.clone().mask_fill(m.clone(), -1).into_data(),
        x.clone().transpose().reshape([2, 10]).into_data(),
        Tensor::<B, 1, Int>::arange(3..17, &Default::default()).into_data(),
        m.clone().into_data(),
        m.clone().bool_and(n.clone()).into_data(),
        m.clone().bool_or(n.clone()).into_data(),
        m.clone().bool_not().into_data(),
        m.clone().int().into_data(),
        m.clone().any_dim(1).into_data(),
        m.clone().all().into_data(),
        m.clone().argwhere().into_data(),
        Tensor::cat(vec![m.clone(), n], 1).into_data(),
        m.transpose().into_data(),
    ]
}

#[test]
fn int_and_bool_ops_are_bit_identical() {
    same(int_and_bool::<N>(), int_and_bool::<H>());
}

fn round_trip<B: Backend>() -> Vec<TensorData> {
    let data = random_data(20, &[3, 2, 4], -1e300, 1e300);
    let t = Tensor::<B, 3>::from_data(data.clone(), &Default::default());
    let back = t.clone().into_data();
    assert_eq!(
        back, data,
        "from_data / into_data must round-trip bit-exactly"
    );
    let special = TensorData::new(
        vec![
            0.0,
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            5e-324,
        ],
        [2, 3],
    );
    let s = Tensor::<B, 2>::from_data(special.clone(), &Default::default());
    assert_eq!(s.clone().into_data(), special);
    let tr = Transaction::default()
        .register(t.clone())
        .register(t.clone().argmax(2))
        .register(t.clone().greater_elem(0.0))
        .execute();
    let mut out = vec![back, s.into_data()];
    out.extend(tr);
    out
}

#[test]
fn into_data_and_transactions_round_trip() {
    same(round_trip::<N>(), round_trip::<H>());
}

fn pooling<B: Backend>() -> Vec<TensorData> {
    let x = float::<B, 4>(21, [2, 3, 6, 6]);
    let (out, idx) = max_pool2d_with_indices(x, [2, 2], [2, 2], [0, 0], [1, 1], false);
    vec![out.into_data(), idx.into_data()]
}

#[test]
fn module_ops_are_bit_identical() {
    same(pooling::<N>(), pooling::<H>());
}

fn gradients<B: burn::tensor::backend::AutodiffBackend>() -> Vec<TensorData> {
    let x = float::<B, 2>(22, [5, 4]).require_grad();
    let w = float::<B, 2>(23, [4, 3]).require_grad();
    let b = float::<B, 1>(24, [3]).require_grad();
    let hidden = sigmoid(x.clone().matmul(w.clone()).add(b.clone().unsqueeze()));
    let loss = hidden
        .clone()
        .exp()
        .div(hidden.clone().add_scalar(1.0))
        .log()
        .max_dim(1)
        .sum()
        .add(hidden.sum());
    let grads = loss.backward();
    vec![
        loss.into_data(),
        x.grad(&grads).unwrap().into_data(),
        w.grad(&grads).unwrap().into_data(),
        b.grad(&grads).unwrap().into_data(),
    ]
}

#[test]
fn autodiff_gradients_are_bit_identical() {
    same(gradients::<Autodiff<N>>(), gradients::<Autodiff<H>>());
}

fn simple_gradients<B: burn::tensor::backend::AutodiffBackend>() -> Vec<TensorData> {
    let x = float::<B, 2>(25, [6, 3]).require_grad();
    let w = float::<B, 2>(26, [3, 2]).require_grad();
    let grads = sigmoid(x.clone().matmul(w.clone())).sum().backward();
    vec![
        x.grad(&grads).unwrap().into_data(),
        w.grad(&grads).unwrap().into_data(),
    ]
}

#[test]
fn autodiff_matmul_sigmoid_sum_is_bit_identical() {
    same(
        simple_gradients::<Autodiff<N>>(),
        simple_gradients::<Autodiff<H>>(),
    );
}

fn linear_forward<B: Backend>(weight: TensorData, bias: TensorData) -> Vec<TensorData> {
    let device = Default::default();
    let mut linear: Linear<B> = LinearConfig::new(4, 3).init(&device);
    linear.weight = Param::from_tensor(Tensor::from_data(weight, &device));
    linear.bias = Some(Param::from_tensor(Tensor::from_data(bias, &device)));
    let input = float::<B, 2>(27, [8, 4]);
    vec![linear.forward(input).into_data()]
}

#[test]
fn linear_forward_is_bit_identical() {
    let _guard = BACKEND_RNG.lock().unwrap_or_else(|e| e.into_inner());
    let device = Default::default();
    let reference: Linear<N> = LinearConfig::new(4, 3).init(&device);
    let weight = reference.weight.val().into_data();
    let bias = reference.bias.as_ref().unwrap().val().into_data();
    same(
        linear_forward::<N>(weight.clone(), bias.clone()),
        linear_forward::<H>(weight, bias),
    );
}

#[test]
fn seeded_random_tensors_and_name_are_delegated() {
    let _guard = BACKEND_RNG.lock().unwrap_or_else(|e| e.into_inner());
    let device = Default::default();
    N::seed(&device, 1234);
    let n = Tensor::<N, 2>::random([4, 5], Distribution::Normal(0.0, 1.0), &device).into_data();
    H::seed(&device, 1234);
    let h = Tensor::<H, 2>::random([4, 5], Distribution::Normal(0.0, 1.0), &device).into_data();
    assert_eq!(n, h);
    assert_eq!(
        H::name(&device),
        format!("hardware-aware<{}>", N::name(&device))
    );
    assert!(!H::ad_enabled(&device));
}

fn quantized<B: Backend>() -> Vec<TensorData> {
    let scheme = QuantScheme::default().with_store(QuantStore::Native);
    // NdArray quantizes f32 tensors only.
    let device: B::Device = Default::default();
    let f32_tensor = |seed, shape: [usize; 2]| {
        let data = random_data(seed, &shape, -2.0, 2.0).convert::<f32>();
        Tensor::<B, 2>::from_data(data, (&device, DType::F32))
    };
    let a = f32_tensor(28, [4, 8]).quantize_dynamic(&scheme);
    let b = f32_tensor(29, [8, 4]);
    vec![
        a.clone().dequantize().into_data(),
        a.clone().matmul(b).into_data(),
        a.clone().add_scalar(0.5).into_data(),
        a.sum().into_data(),
    ]
}

#[test]
fn quantized_ops_are_bit_identical() {
    same(quantized::<N>(), quantized::<H>());
}
