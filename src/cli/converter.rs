//! `--converter`: what converts the guests of `forklift migrate`.

use std::sync::Arc;

use clap::{Args, ValueEnum};
use forklift::migrate::convert::{Converter, VirtV2vConverter};

/// Which converter runs.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum ConverterKind {
    /// The real virt-v2v on this machine (`virt-v2v-in-place`, else `virt-v2v -o local`).
    #[value(name = "virt-v2v")]
    VirtV2v,
}

/// `--converter` and its tuning.
#[derive(Debug, Clone, Copy, Args)]
pub(super) struct ConverterArg {
    /// Convert the guests that need it (virtio drivers, VMware tools removed, static IPs
    /// kept, LUKS unlocked) with the real virt-v2v. Without it a plan that needs
    /// conversion is refused (GuestConversionNotAvailable) unless it sets
    /// skipGuestConversion.
    #[arg(long = "converter", value_enum)]
    converter: Option<ConverterKind>,
    /// Let libguestfs pick its backend (KVM where it works) instead of forcing TCG; by
    /// default its appliance runs under TCG, since a /dev/kvm that cannot run guests (nested
    /// virtualisation) hangs it for ten minutes.
    #[arg(long, requires = "converter")]
    libguestfs_default_backend: bool,
}

impl ConverterArg {
    /// The converter asked for, if any.
    pub(super) fn converter(self) -> Option<Arc<dyn Converter>> {
        match self.converter? {
            ConverterKind::VirtV2v => {
                let converter = VirtV2vConverter::default();
                Some(Arc::new(if self.libguestfs_default_backend {
                    converter.use_default_backend()
                } else {
                    converter
                }))
            }
        }
    }
}
