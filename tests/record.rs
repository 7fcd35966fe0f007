//! A network's Burn record carries its delay parameterisation. `SpikingNetwork::from_file` picks
//! each layer's delay shift and scale from the file's delays; a record saved from such a network
//! and loaded into a network configured with the defaults must give the same spike times.

use std::path::PathBuf;

use burn::backend::NdArray;
use burn::module::Module;
use burn::record::{DoublePrecisionSettings, NamedMpkFileRecorder};
use burn::tensor::{Tensor, TensorData};
use delgrad::{GradientOptions, NetworkFile, SpikingLinearConfig, SpikingNetwork};

type B = NdArray<f64>;

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// The Yin-Yang test points `(x, y)`.
fn test_points() -> Vec<(f64, f64)> {
    let text = std::fs::read_to_string(fixture("yinyang/test.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("x,y,label"));
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Vec<f64> = l.split(',').map(|s| s.trim().parse().unwrap()).collect();
            (v[0], v[1])
        })
        .collect()
}

fn values(t: Tensor<B, 2>) -> Vec<f64> {
    t.into_data().to_vec::<f64>().unwrap()
}

#[test]
fn a_saved_file_network_loads_into_a_default_configured_one_with_its_delays() {
    let device = Default::default();
    let file = NetworkFile::load(fixture("reference/h30_ws.json")).unwrap();
    let net = SpikingNetwork::<B>::from_file(&file, GradientOptions::default(), &device).unwrap();
    let maps: Vec<_> = net.layers.iter().map(|l| l.delay_map()).collect();
    assert!(
        maps.iter().any(|m| (m.shift, m.scale) != (0.0, 1.0)),
        "the file's delays must need a parameterisation other than the default: {maps:?}"
    );

    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("h30_ws");
    let recorder = NamedMpkFileRecorder::<DoublePrecisionSettings>::new();
    net.clone().save_file(&path, &recorder).unwrap();

    let fresh = SpikingNetwork::<B> {
        layers: file
            .layers
            .iter()
            .map(|lf| {
                SpikingLinearConfig::new(lf.inputs, lf.outputs)
                    .with_neuron(file.lif_params())
                    .with_delays(lf.delays.kind())
                    .init(&device)
            })
            .collect(),
    };
    let loaded = fresh.load_file(&path, &recorder, &device).unwrap();
    let loaded_maps: Vec<_> = loaded.layers.iter().map(|l| l.delay_map()).collect();
    assert_eq!(loaded_maps, maps);
    assert_eq!(loaded.num_trainable(), net.num_trainable());

    let points = test_points();
    assert_eq!(points.len(), 1000);
    let input: Vec<f64> = points
        .iter()
        .flat_map(|&(x, y)| file.encoding.encode(&[x, y]).unwrap())
        .collect();
    let n_in = file.layers[0].inputs;
    let x = Tensor::<B, 2>::from_data(TensorData::new(input, [points.len(), n_in]), &device);
    let expected = values(net.forward(x.clone()));
    let got = values(loaded.forward(x));
    assert!(expected.iter().filter(|t| t.is_finite()).count() > 1000);
    let same = expected
        .iter()
        .zip(&got)
        .all(|(a, b)| a.to_bits() == b.to_bits());
    assert!(same, "spike times differ after loading the record");
}
