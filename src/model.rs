//! [`SpikingNetwork`]: a feed-forward stack of [`SpikingLinear`] layers, and its conversion to
//! and from the `delgrad-network` file format.

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use crate::backend::SpikeBackend;
use crate::error::{Error, Result};
use crate::layer::{SpikingLinear, SpikingLinearConfig};
use crate::network::{Encoding, LayerFile, NetworkFile};
use crate::neuron::LifParams;
use crate::types::{DelayKind, GradientOptions};

/// A feed-forward network of spiking layers: spike times in, spike times out.
#[derive(Module, Debug)]
pub struct SpikingNetwork<B: Backend> {
    /// The layers, input side first.
    pub layers: Vec<SpikingLinear<B>>,
}

/// The values of a float tensor as f64, row-major.
pub fn tensor_values<B: Backend, const D: usize>(t: Tensor<B, D>) -> Result<Vec<f64>> {
    t.into_data()
        .convert::<f64>()
        .to_vec::<f64>()
        .map_err(|e| Error::Malformed(format!("tensor data: {e:?}")))
}

impl<B: Backend> SpikingNetwork<B> {
    /// Number of trainable scalars.
    pub fn num_trainable(&self) -> usize {
        self.layers.iter().map(SpikingLinear::num_trainable).sum()
    }

    /// The network in the `delgrad-network` format, with effective delays.
    pub fn to_file(&self, encoding: Encoding) -> Result<NetworkFile> {
        let first = self
            .layers
            .first()
            .ok_or_else(|| Error::InvalidConfig("a network needs at least one layer".into()))?;
        let params = first.op().lif.params().to_owned();
        let mut layers = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let w = tensor_values(layer.weight.val())?;
            let d = layer
                .delays()
                .map_each(tensor_values, tensor_values)
                .try_map(|values| values)?;
            let d = d.as_ref().map(Vec::as_slice);
            layers.push(LayerFile::from_flat(
                layer.d_input(),
                layer.d_output(),
                &w,
                &d,
            )?);
        }
        NetworkFile::new(params, encoding, layers)
    }

    /// A network with the parameters of a file. Each layer's delays are represented with a
    /// parameterisation whose open range contains them (the file holds effective delays only).
    pub fn from_file(
        file: &NetworkFile,
        gradients: GradientOptions,
        device: &B::Device,
    ) -> Result<Self> {
        file.validate()?;
        let neuron: LifParams = file.lif_params();
        let mut layers = Vec::with_capacity(file.layers.len());
        for lf in &file.layers {
            let d = lf.delays_flat();
            let kind = d.kind();
            let mut config = SpikingLinearConfig::new(lf.inputs, lf.outputs)
                .with_neuron(neuron)
                .with_delays(kind)
                .with_gradients(gradients);
            if let Some(v) = d.values() {
                let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let shift = lo - 1.0;
                config = config
                    .with_delay_shift(shift)
                    .with_delay_scale(hi - shift + 1.0);
            }
            let w = lf.weights_flat();
            layers.push(config.init_with(&w, d.values().map(Vec::as_slice), device)?);
        }
        Ok(Self { layers })
    }

    /// Delay kinds of the layers.
    pub fn delay_kinds(&self) -> Vec<DelayKind> {
        self.layers.iter().map(SpikingLinear::delay_kind).collect()
    }
}

impl<B: SpikeBackend> SpikingNetwork<B> {
    /// Spike times of every layer, input side first (the last is the output).
    pub fn try_forward_all(&self, input_times: Tensor<B, 2>) -> Result<Vec<Tensor<B, 2>>> {
        let mut all = Vec::with_capacity(self.layers.len());
        let mut x = input_times;
        for layer in &self.layers {
            x = layer.try_forward(x)?;
            all.push(x.clone());
        }
        Ok(all)
    }

    /// Output spike times.
    pub fn try_forward(&self, input_times: Tensor<B, 2>) -> Result<Tensor<B, 2>> {
        let mut x = input_times;
        for layer in &self.layers {
            x = layer.try_forward(x)?;
        }
        Ok(x)
    }

    /// Output spike times.
    ///
    /// # Panics
    /// On invalid input, see [`SpikingNetwork::try_forward`].
    pub fn forward(&self, input_times: Tensor<B, 2>) -> Tensor<B, 2> {
        self.try_forward(input_times)
            .unwrap_or_else(|e| panic!("SpikingNetwork::forward: {e}"))
    }
}
