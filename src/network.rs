//! The `delgrad-network` file format (JSON, version 1): a whole feed-forward network of LIF layers
//! with its neuron parameters, input encoding, weights and delays; a pure-f64 evaluator for it;
//! and the Yin-Yang input encoding; first-spike decoding is in [`crate::loss`].
//!
//! ```json
//! {
//!   "format": "delgrad-network",
//!   "version": 1,
//!   "neuron":   {"tau_syn": 1.0, "tau_mem": 2.0, "g_leak": 0.5, "leak": 0.0, "threshold": 1.0},
//!   "encoding": {"t_early": 0.15, "t_late": 2.0},
//!   "layers": [
//!     {"inputs": 4, "outputs": 30,
//!      "weights": [[...30 numbers...], ...4 rows...],
//!      "delays": {"kind": "axonal", "values": [...4 numbers...]}}
//!   ]
//! }
//! ```
//!
//! * `weights[i][j]`: weight from input `i` to output neuron `j` (rows = presynaptic).
//! * `delays`: `{"kind": "none"}`, `{"kind": "axonal", "values": [n_in]}`,
//!   `{"kind": "dendritic", "values": [n_out]}` or `{"kind": "synaptic", "values": [[n_out]; n_in]}`;
//!   effective delays (finite, `>= 0`) in units of `tau_syn`.
//! * `neuron.eps` is optional and defaults to [`REFERENCE_EPS`]; `chip` is optional and reserved.
//!
//! Unknown fields are rejected, so a misspelt key is an error rather than a silent default.

use std::path::Path;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};

use crate::data::InputEncoding;
use crate::encoding::LatencyEncoder;
use crate::error::{Error, Result};
use crate::kernel;
use crate::neuron::{LifParams, REFERENCE_EPS};
use crate::types::{DelayKind, Delays, LayerDims};

/// Value of the `format` field.
pub const FORMAT_NAME: &str = "delgrad-network";

/// The format version this library reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// A `delgrad-network` document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkFile {
    /// Always [`FORMAT_NAME`].
    pub format: String,
    /// Always [`FORMAT_VERSION`].
    pub version: u32,
    /// The neuron model shared by every layer.
    pub neuron: NeuronSection,
    /// How input values become input spike times.
    pub encoding: Encoding,
    /// The layers, input side first.
    pub layers: Vec<LayerFile>,
    /// Reserved for a hardware export; kept as-is, not interpreted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chip: Option<serde_json::Value>,
}

/// The `neuron` section: the fields of [`LifParams`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NeuronSection {
    /// Synaptic time constant.
    pub tau_syn: f64,
    /// Membrane time constant (`tau_syn` or `2 tau_syn`).
    pub tau_mem: f64,
    /// Leak conductance.
    pub g_leak: f64,
    /// Leak potential.
    pub leak: f64,
    /// Firing threshold.
    pub threshold: f64,
    /// Regulariser of the spike-time formulas; [`REFERENCE_EPS`] when absent.
    #[serde(default = "reference_eps")]
    pub eps: f64,
}

fn reference_eps() -> f64 {
    REFERENCE_EPS
}

impl From<LifParams> for NeuronSection {
    fn from(p: LifParams) -> Self {
        Self {
            tau_syn: p.tau_syn,
            tau_mem: p.tau_mem,
            g_leak: p.g_leak,
            leak: p.leak,
            threshold: p.threshold,
            eps: p.eps,
        }
    }
}

impl From<NeuronSection> for LifParams {
    fn from(n: NeuronSection) -> Self {
        Self {
            tau_syn: n.tau_syn,
            tau_mem: n.tau_mem,
            g_leak: n.g_leak,
            leak: n.leak,
            threshold: n.threshold,
            eps: n.eps,
        }
    }
}

/// The `encoding` section: how input values become input spike times, in one of two forms.
///
/// * the Yin-Yang encoding, `{"t_early": 0.15, "t_late": 2.0}` (plus `"repeat"` when it is not
///   1): a point `(x, y)` becomes the inputs `x, y, 1 - x, 1 - y`
///   ([`crate::data::InputEncoding`]);
/// * a general latency encoder, `{"latency": {"lo": 0, "hi": 16, "t_early": ..., ...}}`
///   ([`LatencyEncoder`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Encoding {
    /// The Yin-Yang encoding.
    YinYang(InputEncoding),
    /// A general latency encoder of feature vectors.
    Latency {
        /// The encoder.
        latency: LatencyEncoder,
    },
}

impl Default for Encoding {
    /// The standard Yin-Yang encoding.
    fn default() -> Self {
        Encoding::YinYang(InputEncoding::YIN_YANG)
    }
}

impl From<InputEncoding> for Encoding {
    fn from(e: InputEncoding) -> Self {
        Encoding::YinYang(e)
    }
}

impl From<LatencyEncoder> for Encoding {
    fn from(latency: LatencyEncoder) -> Self {
        Encoding::Latency { latency }
    }
}

impl Encoding {
    /// The standard Yin-Yang encoding (`t_early` 0.15, `t_late` 2.0, 4 inputs).
    pub const YIN_YANG: Encoding = Encoding::YinYang(InputEncoding::YIN_YANG);

    /// Checks the encoding's parameters.
    pub fn validate(&self) -> Result<()> {
        match self {
            Encoding::YinYang(e) => e.validate(),
            Encoding::Latency { latency } => latency.validate(),
        }
    }

    /// The Yin-Yang form, if this is one.
    pub fn yin_yang(&self) -> Option<InputEncoding> {
        match self {
            Encoding::YinYang(e) => Some(*e),
            Encoding::Latency { .. } => None,
        }
    }

    /// Input spike times of one sample's features (`[x, y]` for the Yin-Yang form).
    pub fn encode(&self, features: &[f64]) -> Result<Vec<f64>> {
        match self {
            Encoding::YinYang(e) => match features {
                [x, y] => Ok(e.encode(*x, *y)),
                _ => Err(Error::Shape(format!(
                    "the Yin-Yang encoding takes 2 features (x, y), got {}",
                    features.len()
                ))),
            },
            Encoding::Latency { latency } => latency.encode(features),
        }
    }
}

/// One layer of a [`NetworkFile`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerFile {
    /// Presynaptic neurons (n_in).
    pub inputs: usize,
    /// Postsynaptic neurons (n_out).
    pub outputs: usize,
    /// `weights[i][j]`: from input `i` to output `j`; `inputs` rows of `outputs` numbers.
    pub weights: Vec<Vec<f64>>,
    /// The layer's delays.
    pub delays: DelaysFile,
}

impl LayerFile {
    /// A layer from row-major `[n_in, n_out]` weights and flat delays (in the shapes of
    /// [`Delays`]). Checks lengths only; values are checked by [`NetworkFile::validate`].
    pub fn from_flat(
        n_in: usize,
        n_out: usize,
        weights: &[f64],
        delays: &Delays<&[f64]>,
    ) -> Result<Self> {
        if weights.len() != n_in * n_out {
            return Err(Error::Shape(format!(
                "weights have {} values, expected n_in {n_in} x n_out {n_out}",
                weights.len()
            )));
        }
        let rows = |v: &[f64]| -> Vec<Vec<f64>> {
            if n_out == 0 {
                vec![Vec::new(); n_in]
            } else {
                v.chunks(n_out).map(<[f64]>::to_vec).collect()
            }
        };
        if let Some(d) = delays.values() {
            let expected = delays.kind().len(n_in, n_out);
            if d.len() != expected {
                return Err(Error::Shape(format!(
                    "{} delays have {} values, expected {expected}",
                    delays.kind(),
                    d.len()
                )));
            }
        }
        let delays = delays.clone().map_each(<[f64]>::to_vec, rows).into();
        Ok(Self {
            inputs: n_in,
            outputs: n_out,
            weights: rows(weights),
            delays,
        })
    }

    /// The weights, row-major `[n_in, n_out]`.
    pub fn weights_flat(&self) -> Vec<f64> {
        self.weights.concat()
    }

    /// The delays in the flat shapes the kernels take (synaptic: row-major `[n_in, n_out]`).
    pub fn delays_flat(&self) -> Delays<Vec<f64>> {
        self.delays
            .as_delays()
            .map_each(Vec::clone, |rows| rows.concat())
    }

    /// Kernel dimensions of this layer for a batch.
    pub fn dims(&self, batch: usize) -> LayerDims {
        LayerDims {
            batch,
            n_in: self.inputs,
            n_out: self.outputs,
        }
    }

    /// Checks shapes and values; `index` is the layer's position, used in messages.
    fn validate(&self, index: usize) -> Result<()> {
        let (n_in, n_out) = (self.inputs, self.outputs);
        let at = format!("layers[{index}]");
        if n_in == 0 || n_out == 0 {
            return Err(Error::Shape(format!(
                "{at}: inputs and outputs must be at least 1, got {n_in} and {n_out}"
            )));
        }
        check_matrix(&format!("{at}.weights"), &self.weights, n_in, n_out)?;
        let name = format!("{at}.delays.values");
        match self.delays.as_delays() {
            Delays::None => {}
            Delays::Axonal(values) => {
                check_vector(&name, values, n_in, "inputs")?;
                check_delays(&name, values)?;
            }
            Delays::Dendritic(values) => {
                check_vector(&name, values, n_out, "outputs")?;
                check_delays(&name, values)?;
            }
            Delays::Synaptic(values) => {
                check_matrix(&name, values, n_in, n_out)?;
                for (r, row) in values.iter().enumerate() {
                    check_delays(&format!("{name}[{r}]"), row)?;
                }
            }
        }
        Ok(())
    }
}

fn check_vector(name: &str, values: &[f64], expected: usize, what: &str) -> Result<()> {
    if values.len() != expected {
        return Err(Error::Shape(format!(
            "{name} has {} values, expected {what} = {expected}",
            values.len()
        )));
    }
    check_finite(name, values)
}

fn check_matrix(name: &str, rows: &[Vec<f64>], n_in: usize, n_out: usize) -> Result<()> {
    if rows.len() != n_in {
        return Err(Error::Shape(format!(
            "{name} has {} rows, expected inputs = {n_in}",
            rows.len()
        )));
    }
    for (r, row) in rows.iter().enumerate() {
        check_vector(&format!("{name}[{r}]"), row, n_out, "outputs")?;
    }
    Ok(())
}

fn check_finite(name: &str, values: &[f64]) -> Result<()> {
    match values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        Some((index, &value)) => Err(Error::NonFiniteParameter {
            name: name.to_string(),
            index,
            value,
        }),
        None => Ok(()),
    }
}

fn check_delays(name: &str, values: &[f64]) -> Result<()> {
    match values.iter().enumerate().find(|(_, &v)| v < 0.0) {
        Some((index, value)) => Err(Error::InvalidConfig(format!(
            "{name}[{index}] = {value}: delays must be >= 0"
        ))),
        None => Ok(()),
    }
}

/// The `delays` object of a layer: `{"kind": "none"}` or `{"kind": ..., "values": ...}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum DelaysFile {
    /// No delays; the object has no `values`.
    None,
    /// One delay per input, `values[i]`.
    Axonal {
        /// `n_in` delays.
        values: Vec<f64>,
    },
    /// One delay per output neuron, `values[j]`.
    Dendritic {
        /// `n_out` delays.
        values: Vec<f64>,
    },
    /// One delay per synapse, `values[i][j]` (same shape as the weights).
    Synaptic {
        /// `n_in` rows of `n_out` delays.
        values: Vec<Vec<f64>>,
    },
}

impl DelaysFile {
    /// The kind of these delays.
    pub fn kind(&self) -> DelayKind {
        self.as_delays().kind()
    }

    /// The values borrowed in the crate's delay form (synaptic delays as their nested rows).
    pub fn as_delays(&self) -> Delays<&Vec<f64>, &Vec<Vec<f64>>> {
        match self {
            DelaysFile::None => Delays::None,
            DelaysFile::Axonal { values } => Delays::Axonal(values),
            DelaysFile::Dendritic { values } => Delays::Dendritic(values),
            DelaysFile::Synaptic { values } => Delays::Synaptic(values),
        }
    }
}

impl From<Delays<Vec<f64>, Vec<Vec<f64>>>> for DelaysFile {
    fn from(delays: Delays<Vec<f64>, Vec<Vec<f64>>>) -> Self {
        match delays {
            Delays::None => DelaysFile::None,
            Delays::Axonal(values) => DelaysFile::Axonal { values },
            Delays::Dendritic(values) => DelaysFile::Dendritic { values },
            Delays::Synaptic(values) => DelaysFile::Synaptic { values },
        }
    }
}

/// What the `delays` object is read as before its `values` are matched to its `kind` (keys may
/// come in any order, and `none` must not carry values).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDelays {
    kind: DelayKind,
    #[serde(default)]
    values: Option<RawValues>,
}

/// A JSON array of numbers or of arrays of numbers, read without buffering (keeps error
/// positions).
enum RawValues {
    Flat(Vec<f64>),
    Rows(Vec<Vec<f64>>),
    Empty,
}

enum NumberOrRow {
    Number(f64),
    Row(Vec<f64>),
}

impl<'de> Deserialize<'de> for NumberOrRow {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = NumberOrRow;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number or an array of numbers")
            }
            fn visit_f64<E>(self, v: f64) -> std::result::Result<NumberOrRow, E> {
                Ok(NumberOrRow::Number(v))
            }
            fn visit_i64<E>(self, v: i64) -> std::result::Result<NumberOrRow, E> {
                Ok(NumberOrRow::Number(v as f64))
            }
            fn visit_u64<E>(self, v: u64) -> std::result::Result<NumberOrRow, E> {
                Ok(NumberOrRow::Number(v as f64))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<NumberOrRow, A::Error> {
                let mut row = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(v) = seq.next_element::<f64>()? {
                    row.push(v);
                }
                Ok(NumberOrRow::Row(row))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for RawValues {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let items = Vec::<NumberOrRow>::deserialize(d)?;
        if items.is_empty() {
            return Ok(RawValues::Empty);
        }
        if items.iter().all(|x| matches!(x, NumberOrRow::Number(_))) {
            Ok(RawValues::Flat(
                items
                    .into_iter()
                    .map(|x| match x {
                        NumberOrRow::Number(v) => v,
                        NumberOrRow::Row(_) => unreachable!(),
                    })
                    .collect(),
            ))
        } else if items.iter().all(|x| matches!(x, NumberOrRow::Row(_))) {
            Ok(RawValues::Rows(
                items
                    .into_iter()
                    .map(|x| match x {
                        NumberOrRow::Row(r) => r,
                        NumberOrRow::Number(_) => unreachable!(),
                    })
                    .collect(),
            ))
        } else {
            Err(D::Error::custom("delay `values` mixes numbers and arrays"))
        }
    }
}

impl<'de> Deserialize<'de> for DelaysFile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let RawDelays { kind, values } = RawDelays::deserialize(d)?;
        let flat = |values: Option<RawValues>| match values {
            Some(RawValues::Flat(v)) => Ok(v),
            Some(RawValues::Empty) => Ok(Vec::new()),
            Some(RawValues::Rows(_)) => Err(D::Error::custom(format!(
                "{kind} delays take `values` as a list of numbers, not of arrays"
            ))),
            None => Err(D::Error::custom(format!("{kind} delays need `values`"))),
        };
        match kind {
            DelayKind::None => match values {
                None => Ok(DelaysFile::None),
                Some(_) => Err(D::Error::custom("delays of kind `none` take no `values`")),
            },
            DelayKind::Axonal => Ok(DelaysFile::Axonal {
                values: flat(values)?,
            }),
            DelayKind::Dendritic => Ok(DelaysFile::Dendritic {
                values: flat(values)?,
            }),
            DelayKind::Synaptic => match values {
                Some(RawValues::Rows(values)) => Ok(DelaysFile::Synaptic { values }),
                Some(RawValues::Empty) => Ok(DelaysFile::Synaptic { values: Vec::new() }),
                Some(RawValues::Flat(_)) => Err(D::Error::custom(
                    "synaptic delays take `values` as a list of rows (arrays), not of numbers",
                )),
                None => Err(D::Error::custom("synaptic delays need `values`")),
            },
        }
    }
}

impl NetworkFile {
    /// A validated network of the current format version.
    pub fn new(params: LifParams, encoding: Encoding, layers: Vec<LayerFile>) -> Result<Self> {
        let net = Self {
            format: FORMAT_NAME.to_string(),
            version: FORMAT_VERSION,
            neuron: params.into(),
            encoding,
            layers,
            chip: None,
        };
        net.validate()?;
        Ok(net)
    }

    /// Checks everything a loaded file must satisfy: format name and version, neuron parameters
    /// ([`LifParams::build`]), encoding, at least one layer, weight and delay shapes, finite
    /// values, non-negative delays, and that each layer's outputs feed the next layer's inputs.
    pub fn validate(&self) -> Result<()> {
        if self.format != FORMAT_NAME {
            return Err(Error::InvalidConfig(format!(
                "`format` is {:?}, expected {FORMAT_NAME:?}",
                self.format
            )));
        }
        if self.version != FORMAT_VERSION {
            return Err(Error::InvalidConfig(format!(
                "unsupported `version` {}; this library reads version {FORMAT_VERSION}",
                self.version
            )));
        }
        self.lif_params().build()?;
        self.encoding.validate()?;
        if self.layers.is_empty() {
            return Err(Error::InvalidConfig("the network has no layers".into()));
        }
        for (i, layer) in self.layers.iter().enumerate() {
            if i > 0 {
                let prev = self.layers[i - 1].outputs;
                if layer.inputs != prev {
                    return Err(Error::Shape(format!(
                        "layers[{i}] has {} inputs but layers[{}] has {prev} outputs",
                        layer.inputs,
                        i - 1
                    )));
                }
            }
            layer.validate(i)?;
        }
        Ok(())
    }

    /// Parses and validates a document (errors: [`Error::Malformed`] for bad JSON, the
    /// [`validate`](Self::validate) error otherwise).
    pub fn from_json_str(json: &str) -> Result<Self> {
        let net: Self = serde_json::from_str(json).map_err(|e| Error::Malformed(e.to_string()))?;
        net.validate()?;
        Ok(net)
    }

    /// The document as pretty-printed JSON (floats in shortest round-trip form).
    pub fn to_json_string(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| Error::Malformed(e.to_string()))
    }

    /// Reads and validates a file: [`Error::Io`] when it cannot be read, [`Error::MalformedFile`]
    /// (with the path and the reason) when it is not a valid network.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        crate::io::load_file(path.as_ref(), |bytes| {
            let net: Self = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
            net.validate().map_err(|e| e.to_string())?;
            Ok(net)
        })
    }

    /// Validates, then writes the file atomically: to a temporary file in the same directory,
    /// flushed to disk, then renamed over `path`. A failure leaves any previous file untouched
    /// and no temporary file behind.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        self.validate()?;
        let mut text = self.to_json_string()?;
        text.push('\n');
        crate::io::write_atomically(path, text.as_bytes())
    }

    /// The neuron parameters.
    pub fn lif_params(&self) -> LifParams {
        self.neuron.into()
    }

    /// Spike times of every layer (`[batch, n_out]` row-major each; the last is the output) for
    /// input spike times `[batch, n_in]` of the first layer (+inf = no spike).
    pub fn forward(&self, input_times: &[f64], batch: usize) -> Result<Vec<Vec<f64>>> {
        self.validate()?;
        let lif = self.lif_params().build()?;
        let mut outputs: Vec<Vec<f64>> = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let input = outputs.last().map_or(input_times, Vec::as_slice);
            let dims = layer.dims(batch);
            let weights = layer.weights_flat();
            let delays = layer.delays_flat();
            let delays = delays.as_ref().map(Vec::as_slice);
            kernel::validate(dims, input, &weights, &delays)?;
            let out = kernel::forward(&lif, dims, input, &weights, &delays);
            outputs.push(out);
        }
        Ok(outputs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> Self {
            static N: AtomicU64 = AtomicU64::new(0);
            let dir = std::env::temp_dir().join(format!(
                "delgrad-network-{tag}-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }
        fn path(&self, name: &str) -> PathBuf {
            self.0.join(name)
        }
        fn entries(&self) -> Vec<String> {
            let mut v: Vec<String> = fs::read_dir(&self.0)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// A 3-4-2 network with synaptic then axonal delays and awkward but ordinary floats.
    fn sample_network() -> NetworkFile {
        let w1: Vec<f64> = (0..12).map(|k| (k as f64 - 5.5) / 3.0).collect();
        let d1: Vec<f64> = (0..12).map(|k| 0.1 * k as f64 + 1e-300).collect();
        let l1 = LayerFile::from_flat(3, 4, &w1, &Delays::Synaptic(&d1[..])).unwrap();
        let w2 = [0.1, -0.2, 1.0 / 7.0, 5e-324, 1e300, -0.0, 0.3, 2.5];
        let l2 =
            LayerFile::from_flat(4, 2, &w2, &Delays::Axonal(&[0.0, 0.5, 1.0, 0.25][..])).unwrap();
        NetworkFile::new(LifParams::ideal(), Encoding::YIN_YANG, vec![l1, l2]).unwrap()
    }

    fn bits(net: &NetworkFile) -> Vec<u64> {
        let mut v = vec![
            net.neuron.tau_syn,
            net.neuron.tau_mem,
            net.neuron.g_leak,
            net.neuron.leak,
            net.neuron.threshold,
            net.neuron.eps,
            net.encoding.yin_yang().unwrap().t_early,
            net.encoding.yin_yang().unwrap().t_late,
        ];
        for l in &net.layers {
            v.extend(l.weights_flat());
            v.extend(l.delays_flat().into_values().unwrap_or_default());
        }
        v.into_iter().map(f64::to_bits).collect()
    }

    fn assert_round_trip(net: &NetworkFile, dir: &TempDir) {
        let path = dir.path("net.json");
        net.save(&path).unwrap();
        let back = NetworkFile::load(&path).unwrap();
        assert_eq!(&back, net);
        assert_eq!(bits(&back), bits(net), "floats must survive bit for bit");
    }

    #[test]
    fn save_then_load_round_trips_bit_identical() {
        let dir = TempDir::new("rt");
        let net = sample_network();
        assert_round_trip(&net, &dir);
        // Negative zero keeps its sign.
        let back = NetworkFile::load(dir.path("net.json")).unwrap();
        assert!(back.layers[1].weights[2][1].is_sign_negative());
        // The other delay kinds and the reserved `chip` section survive too.
        let mut net = sample_network();
        net.layers[0].delays = DelaysFile::Dendritic {
            values: vec![0.0, 0.125, 3.0, 1.5],
        };
        net.layers[1].delays = DelaysFile::None;
        net.chip = Some(serde_json::json!({"name": "bss2", "rows": [1, 2]}));
        assert_round_trip(&net, &dir);
    }

    /// Needs serde_json's `float_roundtrip` feature (Cargo.toml): without it, about 1 in 5
    /// random doubles (and 85 of the 992 numbers of the reference networks) come back 1 ulp
    /// off, e.g. 2.0815095115860958 as 2.081509511586096.
    #[test]
    fn round_trip_is_bit_exact_for_all_doubles() {
        let dir = TempDir::new("rt-hard");
        let mut net = sample_network();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for row in net.layers[0].weights.iter_mut() {
            for w in row.iter_mut() {
                *w = loop {
                    let v = f64::from_bits(next());
                    if v.is_finite() {
                        break v;
                    }
                };
            }
        }
        net.layers[1].weights[0][0] = 2.0815095115860958;
        assert_round_trip(&net, &dir);
    }

    #[test]
    fn reads_the_documented_layout_with_default_eps() {
        let json = r#"{
          "format": "delgrad-network", "version": 1,
          "neuron": {"tau_syn": 1.0, "tau_mem": 2.0, "g_leak": 0.5, "leak": 0.0, "threshold": 1.0},
          "encoding": {"t_early": 0.15, "t_late": 2.0},
          "layers": [
            {"inputs": 2, "outputs": 3, "weights": [[1, 2, 3], [4, 5, 6]],
             "delays": {"values": [[0, 0.5, 1], [1, 1, 1]], "kind": "synaptic"}},
            {"inputs": 3, "outputs": 1, "weights": [[1], [1], [1]],
             "delays": {"kind": "dendritic", "values": [0.5]}}
          ]
        }"#;
        let net = NetworkFile::from_json_str(json).unwrap();
        assert_eq!(net.neuron.eps, REFERENCE_EPS);
        assert_eq!(net.lif_params(), LifParams::ideal());
        assert_eq!(net.layers[0].weights_flat(), vec![1., 2., 3., 4., 5., 6.]);
        assert_eq!(
            net.layers[0].delays_flat(),
            Delays::Synaptic(vec![0., 0.5, 1., 1., 1., 1.])
        );
        assert_eq!(net.layers[1].delays.kind(), DelayKind::Dendritic);
        assert_eq!(net.chip, None);
        // Written back: the tag form of every kind, no `chip` key.
        let text = net.to_json_string().unwrap();
        assert!(text.contains("\"kind\": \"synaptic\""), "{text}");
        assert!(!text.contains("chip"), "{text}");
        let none = serde_json::to_string(&DelaysFile::None).unwrap();
        assert_eq!(none, r#"{"kind":"none"}"#);
        let ax = serde_json::to_string(&DelaysFile::Axonal { values: vec![1.5] }).unwrap();
        assert_eq!(ax, r#"{"kind":"axonal","values":[1.5]}"#);
    }

    #[test]
    fn save_is_atomic_and_leaves_no_temporary_file() {
        let dir = TempDir::new("atomic");
        let path = dir.path("model.json");
        let net = sample_network();
        net.save(&path).unwrap();
        assert_eq!(dir.entries(), vec!["model.json".to_string()]);
        // Overwriting replaces the file in place, again leaving nothing else behind.
        let mut other = net.clone();
        other.layers[1].weights[0][0] = 42.0;
        other.save(&path).unwrap();
        assert_eq!(dir.entries(), vec!["model.json".to_string()]);
        assert_eq!(NetworkFile::load(&path).unwrap(), other);
        // An invalid network is refused before anything is written.
        let mut bad = net.clone();
        bad.layers[0].weights[1][2] = f64::NAN;
        assert!(matches!(
            bad.save(&path),
            Err(Error::NonFiniteParameter { .. })
        ));
        assert_eq!(NetworkFile::load(&path).unwrap(), other);
        // A failing write (no such directory) leaves no temporary file either.
        let missing = dir.path("no-such-dir").join("model.json");
        assert!(matches!(net.save(&missing), Err(Error::Io { .. })));
        assert_eq!(dir.entries(), vec!["model.json".to_string()]);
    }

    /// Loads `text` from a file and returns the reason of the `MalformedFile` error.
    fn malformed_reason(dir: &TempDir, text: &str) -> String {
        let path = dir.path("bad.json");
        fs::write(&path, text).unwrap();
        match NetworkFile::load(&path) {
            Err(Error::MalformedFile { path: p, reason }) => {
                assert_eq!(p, path);
                reason
            }
            other => panic!("expected MalformedFile, got {other:?}"),
        }
    }

    fn sample_json() -> serde_json::Value {
        serde_json::to_value(sample_network()).unwrap()
    }

    #[test]
    fn rejects_each_class_of_malformed_file() {
        let dir = TempDir::new("bad");
        let check = |mutate: &dyn Fn(&mut serde_json::Value), needle: &str| {
            let mut v = sample_json();
            mutate(&mut v);
            let reason = malformed_reason(&dir, &v.to_string());
            assert!(reason.contains(needle), "{needle:?} not in {reason:?}");
        };
        // Not JSON at all, truncated, not UTF-8.
        let reason = malformed_reason(&dir, "{\"format\": \"delgrad-network\", ");
        assert!(reason.contains("line"), "{reason}");
        let reason = malformed_reason(&dir, "hello");
        assert!(reason.contains("line 1"), "{reason}");
        // Wrong format string and version.
        check(&|v| v["format"] = "delgrad-net".into(), "`format`");
        check(&|v| v["version"] = 2.into(), "unsupported `version` 2");
        check(&|v| v["version"] = (-1).into(), "expected u32");
        // Unknown or missing keys.
        check(
            &|v| v["neuron"]["threshhold"] = 1.0.into(),
            "unknown field `threshhold`",
        );
        check(
            &|v| {
                v["layers"][0].as_object_mut().unwrap().remove("weights");
            },
            "missing field `weights`",
        );
        // Bad neuron and encoding.
        check(
            &|v| v["neuron"]["tau_mem"] = 3.0.into(),
            "tau_mem / tau_syn",
        );
        check(
            &|v| v["encoding"]["t_late"] = 0.1.into(),
            "t_early < t_late",
        );
        // No layers.
        check(&|v| v["layers"] = serde_json::json!([]), "no layers");
        // Ragged weights: one row short, one row missing.
        check(
            &|v| {
                v["layers"][1]["weights"][2].as_array_mut().unwrap().pop();
            },
            "layers[1].weights[2] has 1 values, expected outputs = 2",
        );
        check(
            &|v| {
                v["layers"][0]["weights"].as_array_mut().unwrap().pop();
            },
            "layers[0].weights has 2 rows, expected inputs = 3",
        );
        check(
            &|v| v["layers"][0]["weights"][1][2] = "x".into(),
            "invalid type",
        );
        // Layer size mismatch between consecutive layers.
        check(
            &|v| v["layers"][1]["inputs"] = 5.into(),
            "layers[1] has 5 inputs but layers[0] has 4 outputs",
        );
        check(
            &|v| v["layers"][0]["outputs"] = 0.into(),
            "layers[0]: inputs and outputs must be at least 1",
        );
        // Wrong delay shapes and structures.
        check(
            &|v| {
                v["layers"][1]["delays"]["values"]
                    .as_array_mut()
                    .unwrap()
                    .pop();
            },
            "layers[1].delays.values has 3 values, expected inputs = 4",
        );
        check(
            &|v| {
                v["layers"][0]["delays"]["values"][1]
                    .as_array_mut()
                    .unwrap()
                    .push(0.5.into());
            },
            "layers[0].delays.values[1] has 5 values, expected outputs = 4",
        );
        check(
            &|v| {
                v["layers"][1]["delays"] = serde_json::json!({"kind": "dendritic", "values": [0.1]})
            },
            "layers[1].delays.values has 1 values, expected outputs = 2",
        );
        check(
            &|v| {
                v["layers"][1]["delays"] = serde_json::json!({"kind": "axonal", "values": [[0.1]]})
            },
            "not of arrays",
        );
        check(
            &|v| {
                v["layers"][0]["delays"] = serde_json::json!({"kind": "synaptic", "values": [0.1]})
            },
            "list of rows",
        );
        check(
            &|v| v["layers"][0]["delays"] = serde_json::json!({"kind": "none", "values": [0.1]}),
            "take no `values`",
        );
        check(
            &|v| v["layers"][1]["delays"] = serde_json::json!({"kind": "axonal"}),
            "axonal delays need `values`",
        );
        check(
            &|v| v["layers"][1]["delays"] = serde_json::json!({"kind": "somatic"}),
            "unknown variant `somatic`",
        );
        check(
            &|v| {
                v["layers"][1]["delays"] = serde_json::json!({"kind": "axonal", "values": [1, [2]]})
            },
            "mixes numbers and arrays",
        );
        // Negative and NaN-like delays (JSON has no NaN: `null`, the bare word, an overflow).
        check(
            &|v| v["layers"][0]["delays"]["values"][2][3] = (-0.25).into(),
            "layers[0].delays.values[2][3] = -0.25: delays must be >= 0",
        );
        check(
            &|v| v["layers"][1]["delays"]["values"][0] = serde_json::Value::Null,
            "invalid type: null",
        );
        let mut v = sample_json();
        v["layers"][1]["delays"]["values"][3] = 0.123456.into();
        let text = v.to_string();
        assert!(text.contains("0.123456"));
        let reason = malformed_reason(&dir, &text.replacen("0.123456", "NaN", 1));
        assert!(reason.contains("expected value"), "{reason}");
        let reason = malformed_reason(&dir, &text.replacen("0.123456", "1e999", 1));
        assert!(reason.contains("number out of range"), "{reason}");
    }

    #[test]
    fn validate_reports_non_finite_values_with_their_position() {
        let mut net = sample_network();
        net.layers[1].weights[3][1] = f64::INFINITY;
        match net.validate() {
            Err(Error::NonFiniteParameter { name, index, .. }) => {
                assert_eq!((name.as_str(), index), ("layers[1].weights[3]", 1));
            }
            other => panic!("{other:?}"),
        }
        let mut net = sample_network();
        net.layers[0].delays = DelaysFile::Dendritic {
            values: vec![0.0, f64::NAN, 0.0, 0.0],
        };
        match net.validate() {
            Err(Error::NonFiniteParameter { name, index, .. }) => {
                assert_eq!((name.as_str(), index), ("layers[0].delays.values", 1));
            }
            other => panic!("{other:?}"),
        }
        // The same errors come back from from_json_str, unwrapped.
        assert!(matches!(
            NetworkFile::from_json_str("[1, 2"),
            Err(Error::Malformed(_))
        ));
        let mut v = sample_json();
        v["version"] = 7.into();
        assert!(matches!(
            NetworkFile::from_json_str(&v.to_string()),
            Err(Error::InvalidConfig(_))
        ));
    }

    #[test]
    fn missing_file_is_an_io_error_with_its_path() {
        let dir = TempDir::new("missing");
        let path = dir.path("nope.json");
        match NetworkFile::load(&path) {
            Err(Error::Io { path: p, source }) => {
                assert_eq!(p, path);
                assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn forward_chains_layers_and_matches_the_kernel() {
        let net = sample_network();
        let enc = net.encoding.yin_yang().unwrap();
        let input: Vec<f64> = [0.2, 0.7, f64::INFINITY, 0.0, 0.5, 1.0]
            .iter()
            .map(|&v| if v.is_finite() { enc.time(v) } else { v })
            .collect();
        let out = net.forward(&input, 2).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].len(), 2 * 4);
        assert_eq!(out[1].len(), 2 * 2);
        let lif = net.lif_params().build().unwrap();
        let l1 = &net.layers[1];
        let d = l1.delays_flat();
        let expected = kernel::forward(
            &lif,
            l1.dims(2),
            &out[0],
            &l1.weights_flat(),
            &d.as_ref().map(Vec::as_slice),
        );
        assert_eq!(out[1], expected);
        // Wrong input length is a shape error.
        assert!(matches!(net.forward(&input, 3), Err(Error::Shape(_))));
        assert!(matches!(
            net.forward(&[f64::NAN, 0.0, 0.0], 1),
            Err(Error::InvalidSpikeTime { .. })
        ));
    }

    #[test]
    fn encoding_and_decoding() {
        let e = Encoding::YIN_YANG;
        let yy = e.yin_yang().unwrap();
        assert_eq!(yy.time(0.0), 0.15);
        assert_eq!(yy.time(1.0), 2.0);
        assert_eq!(Encoding::default(), e);
        assert!(Encoding::YinYang(InputEncoding {
            t_early: 1.0,
            t_late: 1.0,
            repeat: 1
        })
        .validate()
        .is_err());
        // The file section reads and writes without `repeat` when it is 1.
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(json, r#"{"t_early":0.15,"t_late":2.0}"#);
        let back: Encoding = serde_json::from_str(&json).unwrap();
        assert_eq!(back, e);
        let hw: Encoding =
            serde_json::from_str(r#"{"t_early":0.15,"t_late":2.0,"repeat":5}"#).unwrap();
        assert_eq!(hw.yin_yang().unwrap().num_inputs(), 20);
        assert_eq!(hw.encode(&[0.0, 1.0]).unwrap().len(), 20);
        assert!(hw.encode(&[0.0]).is_err());
        // The latency form round-trips, and a misspelt Yin-Yang key is not silently accepted.
        let digits: Encoding = LatencyEncoder::new(0.0, 16.0, 0.15, 2.0)
            .with_silent_floor(true)
            .into();
        let json = serde_json::to_string(&digits).unwrap();
        assert!(
            json.starts_with(r#"{"latency":{"lo":0.0,"hi":16.0"#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<Encoding>(&json).unwrap(), digits);
        assert_eq!(
            digits.encode(&[16.0, 0.0]).unwrap(),
            vec![0.15, f64::INFINITY]
        );
        assert!(serde_json::from_str::<Encoding>(r#"{"t_erly":0.15,"t_late":2.0}"#).is_err());
    }
}
