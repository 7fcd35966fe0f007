//! Chip-aware training: the backend decorator [`HardwareAware<B>`], which delegates every
//! tensor operation to `B` and applies a layer's [`ChipProfile`] inside the spiking op, so the
//! same model trains ideal on `Autodiff<B>` and chip-aware on `Autodiff<HardwareAware<B>>`.

mod chip;
mod decorator;
mod op;

pub use chip::{ChipBinding, ChipProfile};
pub use decorator::HardwareAware;
