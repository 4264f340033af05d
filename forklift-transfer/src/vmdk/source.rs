//! [`VmdkSource`]: a VMDK image as a [`BlockSource`] for the copy engine.

use std::sync::Arc;

use async_trait::async_trait;

use super::error::Error as VmdkError;
use super::image::{MapKind, VmdkImage};
use crate::block::{BlockSizes, BlockSource, Extent, ExtentFlags, MetaContext, check_range};
use crate::error::{Error, ErrorKind, Op, Result};

/// Most bytes one [`BlockSource::extents`] answer describes; callers loop for the rest.
const MAX_EXTENTS_SPAN: u64 = 1 << 30;

/// A VMDK image read through the asynchronous [`BlockSource`] interface.
///
/// Reads run on tokio's blocking pool (positional reads and grain inflation are CPU and
/// disk bound). `base:allocation` is answered from the grain tables: stored grains are
/// data, explicitly zeroed grains are `ZERO`, unwritten grains are `HOLE | ZERO`, so a copy
/// skips everything that was never written.
#[derive(Debug, Clone)]
pub struct VmdkSource {
    image: Arc<VmdkImage>,
}

impl VmdkSource {
    /// Wraps an open image.
    pub fn new(image: VmdkImage) -> Self {
        VmdkSource {
            image: Arc::new(image),
        }
    }

    /// The image.
    pub fn image(&self) -> &VmdkImage {
        &self.image
    }

    async fn blocking<T: Send + 'static>(
        &self,
        op: Op,
        work: impl FnOnce(&VmdkImage) -> Result<T, VmdkError> + Send + 'static,
    ) -> Result<T> {
        let image = self.image.clone();
        tokio::task::spawn_blocking(move || work(&image))
            .await
            .map_err(|e| {
                Error::new(ErrorKind::Io, "VMDK reader task failed")
                    .with_source(e)
                    .with_op(op)
            })?
            .map_err(|e| Error::from(e).with_op(op))
    }
}

impl From<VmdkError> for Error {
    fn from(e: VmdkError) -> Self {
        let kind = match &e {
            VmdkError::Io { .. } => ErrorKind::Io,
            VmdkError::Truncated { .. } | VmdkError::Malformed { .. } => ErrorKind::InvalidFormat,
            VmdkError::Unsupported { .. } | VmdkError::Unordered { .. } => ErrorKind::Unsupported,
            VmdkError::OutOfRange { .. } => ErrorKind::OutOfBounds,
            VmdkError::Confined { source, .. } if source.is_not_found() => ErrorKind::NotFound,
            VmdkError::Confined { .. } => ErrorKind::InvalidInput,
        };
        let target = e.file().to_owned();
        Error::new(kind, e.to_string()).with_target(target)
    }
}

#[async_trait]
impl BlockSource for VmdkSource {
    fn size(&self) -> u64 {
        self.image.capacity()
    }

    fn block_sizes(&self) -> BlockSizes {
        BlockSizes {
            minimum: 1,
            preferred: 64 * 1024,
            maximum: 32 * 1024 * 1024,
        }
    }

    fn describe(&self) -> String {
        format!("VMDK {} ({})", self.image.name(), self.image.create_type())
    }

    async fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let filled = self.read_owned(offset, vec![0u8; buf.len()]).await?;
        buf.copy_from_slice(&filled);
        Ok(())
    }

    async fn read_owned(&self, offset: u64, mut buf: Vec<u8>) -> Result<Vec<u8>> {
        check_range(offset, buf.len() as u64, self.size())?;
        let length = buf.len() as u64;
        self.blocking(Op::Read, move |image| {
            image.read_at(&mut buf, offset)?;
            Ok(buf)
        })
        .await
        .map_err(|e| e.or_context(Op::Read, offset, length))
    }

    fn can_extents(&self, context: &MetaContext) -> bool {
        *context == MetaContext::BaseAllocation
    }

    async fn extents(
        &self,
        offset: u64,
        length: u64,
        context: &MetaContext,
    ) -> Result<Vec<Extent>> {
        check_range(offset, length, self.size())?;
        if *context != MetaContext::BaseAllocation {
            return Err(Error::unsupported(format!(
                "Metadata context {context} is not available from {}",
                self.describe()
            ))
            .with_op(Op::Extents));
        }
        let span = length.min(MAX_EXTENTS_SPAN);
        if span == 0 {
            return Ok(Vec::new());
        }
        let map = self
            .blocking(Op::Extents, move |image| image.map(offset, span))
            .await?;
        Ok(map
            .into_iter()
            .map(|e| {
                let flags = match e.kind {
                    MapKind::Data => ExtentFlags::DATA,
                    MapKind::Zero => ExtentFlags::ZERO,
                    MapKind::Hole => ExtentFlags::HOLE | ExtentFlags::ZERO,
                };
                Extent::new(e.offset, e.length, flags)
            })
            .collect())
    }
}
