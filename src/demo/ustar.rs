//! A minimal ustar writer, enough to pack an OVF package into an `.ova`.

use std::io::{self, Write};

const BLOCK: usize = 512;

/// Writes a POSIX ustar archive member by member.
pub struct UstarWriter<W: Write> {
    out: W,
}

impl<W: Write> UstarWriter<W> {
    /// Starts an archive on `out`.
    pub fn new(out: W) -> Self {
        Self { out }
    }

    /// Appends a regular file of `size` bytes whose content is read from `data`.
    pub fn append(
        &mut self,
        name: &str,
        size: u64,
        mtime: u64,
        data: impl io::Read,
    ) -> io::Result<()> {
        self.out.write_all(&header(name, size, mtime)?)?;
        let copied = io::copy(&mut data.take(size), &mut self.out)?;
        if copied != size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("member {name} is shorter than its declared size"),
            ));
        }
        let pad = (BLOCK - (size as usize % BLOCK)) % BLOCK;
        self.out.write_all(&[0u8; BLOCK][..pad])
    }

    /// Writes the two zero blocks that end an archive and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.write_all(&[0u8; 2 * BLOCK])?;
        self.out.flush()?;
        Ok(self.out)
    }
}

fn header(name: &str, size: u64, mtime: u64) -> io::Result<[u8; BLOCK]> {
    if name.len() > 100 || name.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("member name {name:?} must have 1 to 100 bytes"),
        ));
    }
    let mut h = [0u8; BLOCK];
    h[..name.len()].copy_from_slice(name.as_bytes());
    octal(&mut h[100..108], 0o644);
    octal(&mut h[108..116], 0);
    octal(&mut h[116..124], 0);
    octal(&mut h[124..136], size);
    octal(&mut h[136..148], mtime);
    h[148..156].fill(b' ');
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    let text = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(text.as_bytes());
    Ok(h)
}

/// Writes `value` as zero-padded octal digits followed by a NUL, filling `field`.
fn octal(field: &mut [u8], value: u64) {
    let width = field.len() - 1;
    let text = format!("{value:0width$o}");
    let bytes = text.as_bytes();
    let start = bytes.len().saturating_sub(width);
    field[..width].copy_from_slice(&bytes[start..]);
    field[width] = 0;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_is_read_back_by_gnu_tar() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.tar");
        let mut w = UstarWriter::new(std::fs::File::create(&path).unwrap());
        w.append("vm.ovf", 5, 0, &b"hello"[..]).unwrap();
        w.append("disk.vmdk", 1024, 0, &[7u8; 1024][..]).unwrap();
        w.finish().unwrap();
        let out = std::process::Command::new("tar")
            .arg("-tvf")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listing = String::from_utf8(out.stdout).unwrap();
        assert!(
            listing.contains("vm.ovf") && listing.contains("disk.vmdk"),
            "{listing}"
        );
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            512 * 2 + 512 + 1024 + 1024
        );
    }

    #[test]
    fn short_member_is_an_error() {
        let mut w = UstarWriter::new(Vec::new());
        assert!(w.append("x", 10, 0, &b"abc"[..]).is_err());
        assert!(w.append(&"n".repeat(101), 0, 0, &b""[..]).is_err());
    }
}
